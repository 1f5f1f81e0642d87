"""JAX: value_and_grad of the stateless loss, the whole probe compiled ahead of time."""

import jax
import jax.numpy as jnp

# The probe runs rarely, so a faster compile is worth a slower kernel.
COMPILER_OPTIONS = {"xla_backend_optimization_level": 0, "xla_cpu_use_fusion_emitters": False}


def snapshot(variables):
    # Copies: Keras's JAX trainer donates the state buffers to the next step.
    return [jnp.array(v.value, copy=True) for v in variables]


def compile_probe(program, example):
    def step(trainable, non_trainable, previous, x, y):
        def loss_fn(values):
            return program.loss_and_activations(values, non_trainable, x, y)

        (loss, activations), gradients = jax.value_and_grad(loss_fn, has_aux=True)(
            trainable
        )
        return program.summarize(loss, gradients, activations, trainable, previous)

    return jax.jit(step).lower(*example).compile(compiler_options=COMPILER_OPTIONS)
