"""JAX: value_and_grad of the stateless loss, compiled ahead of time."""

import jax
import jax.numpy as jnp

# The probe runs rarely, so a faster compile is worth a slower kernel. Measured
# on the digits CNN: 2.8 -> 1.0 CPU-s of compilation (docs/benchmarks.md).
COMPILER_OPTIONS = {"xla_backend_optimization_level": 0, "xla_cpu_use_fusion_emitters": False}


def snapshot(variables):
    # Copies: Keras's JAX trainer donates the state buffers to the next step.
    return [jnp.array(v.value, copy=True) for v in variables]


def compile_probe(program, example):
    def step(trainable, non_trainable, sequence_zeros, x, y):
        def loss_fn(values, zeros):
            return program.loss_and_activations(values, non_trainable, zeros, x, y)

        (loss, activations), (gradients, sequence) = jax.value_and_grad(loss_fn, argnums=(0, 1), has_aux=True)(
            trainable, sequence_zeros)
        return loss, gradients, activations, sequence

    lowered = jax.jit(step).lower(*example)
    try:
        return lowered.compile(compiler_options=COMPILER_OPTIONS)
    except Exception:  # an XLA build without these options: compile with its defaults
        return lowered.compile()
