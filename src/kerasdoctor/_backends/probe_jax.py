"""JAX: value_and_grad of the stateless loss, compiled ahead of time."""

import jax

# The probe runs rarely, so a faster compile is worth a slower kernel. Measured on the digits
# CNN's probe step (128 rows, 2-core CPU): about 1.1 CPU-s of compilation with XLA's defaults,
# 0.16 with the first two options (10 ms a probe instead of 3-5); codegen in one piece saves
# about a third of that.
COMPILER_OPTIONS = (
    {"xla_backend_optimization_level": 0, "xla_cpu_use_fusion_emitters": False,
     "xla_cpu_parallel_codegen_split_count": 1},
    {"xla_backend_optimization_level": 0, "xla_cpu_use_fusion_emitters": False},
)


@jax.jit
def _copies(values):
    return [value.copy() for value in values]


def snapshot(variables):
    # Copies: Keras's JAX trainer donates the state buffers to the next step. One compiled
    # copy of them all is one dispatch, not one per variable.
    return _copies([v.value for v in variables])


def compile_probe(program, example):
    def step(trainable, non_trainable, sequence_zeros, x, y):
        def loss_fn(values, zeros):
            return program.loss_and_activations(values, non_trainable, zeros, x, y)

        (loss, activations), (gradients, sequence) = jax.value_and_grad(loss_fn, argnums=(0, 1), has_aux=True)(
            trainable, sequence_zeros)
        return loss, gradients, activations, sequence

    lowered = jax.jit(step).lower(*example)
    for options in COMPILER_OPTIONS:
        try:
            return lowered.compile(compiler_options=options)
        except Exception:  # noqa: BLE001 - an XLA build without one of these options
            continue
    return lowered.compile()
