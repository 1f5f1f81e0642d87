"""JAX: value_and_grad of the stateless loss, compiled ahead of time."""

import jax
import keras
import numpy as np

# The probe runs rarely, so a faster compile is worth a slower kernel. `bench/probe_step.py`
# on the digits CNN's probe step (128 rows, 2-core CPU): about 0.16 CPU-s of compilation with
# these options against 1.27 with XLA's defaults, and a run of 11.6 ms instead of 3.5, more than
# half of it max-pooling's gradient, whose loops over the windows level 0 leaves unoptimized.
COMPILER_OPTIONS = (
    {"xla_backend_optimization_level": 0, "xla_cpu_use_fusion_emitters": False,
     "xla_cpu_parallel_codegen_split_count": 1},
    {"xla_backend_optimization_level": 0, "xla_cpu_use_fusion_emitters": False},
)


@jax.jit
def _copies(values):
    return [value.copy() for value in values]


def snapshot(variables):
    # Copies: Keras's JAX trainer donates the state buffers to the next step. A batched device
    # put that may not alias copies them all in one call and compiles nothing (a compiled copy
    # costs about 10 ms of compilation for each new set of shapes, on the training thread).
    values = [v.value for v in variables]
    try:
        return jax.device_put(values, may_alias=False)
    except TypeError:  # a JAX without may_alias: one compiled copy of them all
        return _copies(values)


def to_device(value):
    """``value`` on the device: a NumPy array whose dtype JAX keeps as it is goes by a plain
    transfer (``keras.ops.convert_to_tensor`` compiles a conversion for each new shape);
    anything else by Keras."""
    if isinstance(value, np.ndarray) and value.dtype == jax.dtypes.canonicalize_dtype(value.dtype):
        return jax.device_put(value)
    return keras.ops.convert_to_tensor(value)


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
