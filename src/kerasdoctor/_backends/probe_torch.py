"""PyTorch: autograd on leaf copies of the weights; eager, nothing to compile."""

import keras
import torch

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
    return [v.value.detach().clone() for v in variables]


def _devices():
    return list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []


def current(variables):
    """The values for a probe that finishes before training goes on: copies, as ``snapshot``."""
    return snapshot(variables)


def compile_probe(program, example):
    """(The probe step, None, None): it is not run here, where it would share the random state
    with training from another thread (see ``probe_jax.compile_probe``)."""
    del example  # eager

    def step(trainable, non_trainable, sequence_zeros, x, y):
        # Keras's unseeded torch dropout draws from torch's global generator:
        # fork it so that probing leaves training's random stream untouched.
        with torch.random.fork_rng(devices=_devices()):
            leaves = [w.detach().clone().requires_grad_(True) for w in trainable]
            zeros = [z.detach().clone().requires_grad_(True) for z in sequence_zeros]
            with torch.enable_grad():
                loss, activations = program.loss_and_activations(leaves, non_trainable, zeros, x, y)
                found = torch.autograd.grad(loss, leaves + zeros, allow_unused=True)
            found = [torch.zeros_like(w) if g is None else g for g, w in zip(found, leaves + zeros)]
            gradients, sequence = found[: len(leaves)], found[len(leaves) :]
            return loss.detach(), gradients, [a.detach() for a in activations], sequence

    return step, None, None
