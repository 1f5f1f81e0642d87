"""TensorFlow: a GradientTape over the stateless loss, traced once as a tf.function."""

import keras
import tensorflow as tf

# The step at whose start the probe step begins to compile in the background: after the training
# step itself has compiled.
COMPILE_FROM_STEP = 2
# A probe runs to its end when called: the Monitor reads each one back at once.
ASYNC_DISPATCH = False


def is_ready(value):
    return True


def to_device(value):
    return keras.ops.convert_to_tensor(value)  # eager here: nothing compiles


def snapshot(variables):
    return [tf.identity(v.value) for v in variables]


def current(variables):
    """The values for a probe that finishes before training goes on: copies, as ``snapshot``."""
    return snapshot(variables)


def compile_probe(program, example):
    """(The traced probe step, None, None): its first run stays on the training thread, as every
    later one (``probe_jax.compile_probe`` runs it while compiling)."""
    @tf.function
    def step(trainable, non_trainable, sequence_zeros, x, y):
        with tf.GradientTape() as tape:
            tape.watch([trainable, sequence_zeros])
            loss, activations = program.loss_and_activations(trainable, non_trainable, sequence_zeros, x, y)
        gradients, sequence = tape.gradient(loss, [trainable, sequence_zeros])
        gradients = [tf.zeros_like(w) if g is None else tf.convert_to_tensor(g) for g, w in zip(gradients, trainable)]
        sequence = [tf.zeros_like(z) if g is None else tf.convert_to_tensor(g) for g, z in zip(sequence, sequence_zeros)]
        return loss, gradients, list(activations), sequence

    return step.get_concrete_function(*example), None, None
