"""JAX: value_and_grad of the stateless loss, compiled ahead of time."""

import functools
import logging
import time

import jax
import jax.extend as jex
import jax.numpy as jnp
import keras
import numpy as np

from kerasdoctor.vocabulary import MAX_POOLING_LAYERS

# The step at whose start the probe step begins to compile in the background. On JAX, at the first:
# it traces and compiles while Keras traces its own training step, on the core that tracing leaves
# free, and the kept early steps are probed within the first epoch (`bench/monitor_overhead.py
# --breakdown`, docs/benchmarks.md).
COMPILE_FROM_STEP = 0

logger = logging.getLogger(__name__)

# The probe runs rarely, so a faster compile is worth a slower kernel. `bench/probe_step.py`
# on the digits CNN's probe step (128 rows, 2-core CPU): about 0.11 CPU-s of compilation with
# these options against 0.75 with XLA's defaults, and a run of 3.4 ms instead of 2.2. Level 0
# leaves max-pooling's gradient as loops over the windows, which cost more than the rest of
# the step together; `_max_pool` computes it elementwise instead.
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


def current(variables):
    """The variables' values for a probe that finishes before training goes on: no copy (one
    more dispatch and pass over the weights), since the probe reads every result back to the
    host before Keras's next step can donate the buffers."""
    return [v.value for v in variables]


# JAX dispatches a computation and returns before it has run: a probe of a copy of the weights
# can be started at one step and read back at a later one, while training goes on (the Monitor's
# asynchronous probes).
ASYNC_DISPATCH = True


def is_ready(value):
    """Whether the computation that gives ``value`` has finished (reading it would not wait)."""
    return value.is_ready()


def to_device(value):
    """``value`` on the device: a NumPy array whose dtype JAX keeps as it is goes by a plain
    transfer (``keras.ops.convert_to_tensor`` compiles a conversion for each new shape);
    anything else by Keras."""
    if isinstance(value, np.ndarray) and value.dtype == jax.dtypes.canonicalize_dtype(value.dtype):
        return jax.device_put(value)
    return keras.ops.convert_to_tensor(value)


@functools.partial(jax.custom_vjp, nondiff_argnums=(1,))
def _max_pool(x, window):
    """Max pooling over non-overlapping windows (strides equal to the window, no padding)."""
    return jax.lax.reduce_window(x, jnp.array(-jnp.inf, x.dtype), jax.lax.max, window, window, "VALID")


def _max_pool_forward(x, window):
    pooled = _max_pool(x, window)
    return pooled, (x, pooled)


def _max_pool_backward(window, residuals, gradient):
    # The gradient of each window goes to its first maximum, as XLA's select-and-scatter does,
    # written as elementwise operations on the windows laid side by side: at optimization level 0
    # XLA lowers select-and-scatter to loops over the windows that cost several times more.
    x, pooled = residuals
    out, rank = pooled.shape, len(window)
    split = [size for pair in zip(out, window) for size in pair]
    order = [2 * axis for axis in range(rank)] + [2 * axis + 1 for axis in range(rank)]
    crop = x[tuple(slice(0, size * width) for size, width in zip(out, window))]
    windows = crop.reshape(split).transpose(order).reshape(tuple(out) + (-1,))
    hits = windows == pooled[..., None]
    if hits.shape[-1] <= 16:  # a few elementwise steps; a cumulative sum is a loop at level 0
        seen, first = jnp.zeros(hits.shape[:-1], bool), []
        for position in range(hits.shape[-1]):
            first.append(hits[..., position] & ~seen)
            seen = seen | hits[..., position]
        first = jnp.stack(first, axis=-1)
    else:
        first = hits & (jnp.cumsum(hits, axis=-1, dtype=jnp.int32) == 1)
    spread = jnp.where(first, gradient[..., None], jnp.zeros((), gradient.dtype))
    spread = spread.reshape(tuple(out) + tuple(window)).transpose(np.argsort(order)).reshape(crop.shape)
    return (jnp.pad(spread, [(0, whole - kept) for whole, kept in zip(x.shape, crop.shape)]),)


_max_pool.defvjp(_max_pool_forward, _max_pool_backward)


def _plain_max_pool(eqn, value):
    """Whether ``eqn`` is a max pooling ``_max_pool`` computes the same (its gradient exactly)."""
    if eqn.primitive.name != "reduce_window_max" or not jnp.issubdtype(value.dtype, jnp.floating):
        return False
    params = eqn.params
    return (tuple(params["window_strides"]) == tuple(params["window_dimensions"])
            and all(tuple(pad) == (0, 0) for pad in params["padding"])
            and all(d == 1 for d in params["base_dilation"]) and all(d == 1 for d in params["window_dilation"]))


def _evaluate(jaxpr, consts, args):
    """Evaluates ``jaxpr`` as JAX would, with each plain max pooling computed by ``_max_pool``."""
    env = {}

    def read(var):
        return var.val if isinstance(var, jex.core.Literal) else env[var]

    env.update(zip(jaxpr.constvars, consts))
    env.update(zip(jaxpr.invars, args))
    for eqn in jaxpr.eqns:
        values = [read(var) for var in eqn.invars]
        with jax.named_scope(str(eqn.source_info.name_stack) or "op"), eqn.ctx.manager:
            if _plain_max_pool(eqn, values[0]):
                results = [_max_pool(values[0], tuple(eqn.params["window_dimensions"]))]
            else:
                params = eqn.primitive.get_bind_params(eqn.params)
                subfuns, params = params if isinstance(params, tuple) else ((), params)
                results = eqn.primitive.bind(*subfuns, *values, **params)
                results = results if eqn.primitive.multiple_results else [results]
        for var, value in zip(eqn.outvars, results):
            if not isinstance(var, jex.core.DropVar):
                env[var] = value
    return [read(var) for var in jaxpr.outvars]


def _has_max_pooling(layer):
    """Whether ``layer`` is or holds (in a model or a wrapper) a Keras max-pooling layer: only then
    is the forward pass traced once more to rewrite it (a pooling a custom layer makes with
    ``keras.ops.max_pool`` keeps JAX's gradient)."""
    if type(layer).__name__ in MAX_POOLING_LAYERS:
        return True
    inner = list(getattr(layer, "layers", None) or []) + [getattr(layer, "layer", None)]
    return any(_has_max_pooling(item) for item in inner if isinstance(item, keras.layers.Layer))


def _with_cheap_pooling(function, example):
    """``function`` with its max pooling's gradient computed elementwise (see ``_max_pool``), or
    ``function`` itself when it has no such pooling or cannot be traced to a jaxpr here."""
    try:
        closed, shapes = jax.make_jaxpr(function, return_shape=True)(*example)
        if closed.effects or not any(eqn.primitive.name == "reduce_window_max" for eqn in closed.jaxpr.eqns):
            return function
    except Exception as error:  # noqa: BLE001 - the plain function is always right, only slower
        logger.debug("The probe keeps XLA's max-pooling gradient: %s", error)
        return function
    structure = jax.tree.structure(shapes)

    def rewritten(*args):
        return jax.tree.unflatten(structure, _evaluate(closed.jaxpr, closed.consts, jax.tree.leaves(args)))

    return rewritten


def _lowered_step(forward, example):
    def step(trainable, non_trainable, sequence_zeros, x, y):
        def loss_fn(values, zeros):
            return forward(values, non_trainable, zeros, x, y)

        (loss, activations), (gradients, sequence) = jax.value_and_grad(loss_fn, argnums=(0, 1), has_aux=True)(
            trainable, sequence_zeros)
        return loss, gradients, activations, sequence

    return jax.jit(step).lower(*example)


def compile_probe(program, example):
    """(The compiled probe step, its outputs on ``example``, the seconds of one run.)

    The step is run here: its first run also sets up its kernels (about 16 ms against 3 for a
    later run of the digits CNN's step, `bench/probe_step.py`), which is then paid in the
    background, beside Keras's own compilation, and the probe of ``example`` reads its outputs.
    The shorter of two more runs gives what the computation of a probe costs: the Monitor's
    asynchronous probes are charged it, since it runs on the backend's threads, not on the
    training thread. JAX's random state is a value, so running the step in another thread
    leaves training's random stream alone."""
    step = compiled_step(program, example)
    outputs = jax.block_until_ready(step(*example))
    seconds = []
    for _ in range(2):
        started = time.perf_counter()
        jax.block_until_ready(step(*example))
        seconds.append(time.perf_counter() - started)
    return step, outputs, min(seconds)


def compiled_step(program, example):
    """The probe step compiled for arguments shaped like ``example``, not yet run."""
    plain = program.loss_and_activations
    forward = _with_cheap_pooling(plain, example) if _has_max_pooling(program.model) else plain
    try:
        lowered = _lowered_step(forward, example)
    except Exception as error:  # noqa: BLE001 - the rewritten pass failed where the plain one may not
        if forward is plain:
            raise
        logger.debug("The probe keeps XLA's max-pooling gradient: %s", error)
        lowered = _lowered_step(plain, example)
    for options in COMPILER_OPTIONS:
        try:
            return lowered.compile(compiler_options=options)
        except Exception:  # noqa: BLE001 - an XLA build without one of these options
            continue
    return lowered.compile()
