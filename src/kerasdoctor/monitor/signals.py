"""Monitor signals: functions of (gradients, weights, activations) -> a few scalars.

Written in ``keras.ops`` only, so they run inside each backend's compiled probe
step. All tensors of a kind are flattened into one vector and reduced with
``segment_sum``: a handful of ops whatever the number of layers, which keeps
the probe's compilation short (one op chain per variable would multiply it).
"""

import math

from keras import ops

# Saturation: |pre-activation| > 5 or an output within 1e-3 of a bound.
# Expressed on the output, which is what a layer returns.
SIGMOID_EDGE = max(1.0 / (1.0 + math.exp(5.0)), 1e-3)
TANH_EDGE = min(math.tanh(5.0), 1.0 - 1e-3)
KIND_CODES = {None: 0, "sigmoid": 1, "tanh": 2}

VARIABLE_FIELDS = (
    "grad_norm",
    "weight_norm",
    "update_norm",
    "zero_grad_fraction",
    "nonfinite_grad",
    "nonfinite_weight",
)
LAYER_FIELDS = ("mean", "std", "zero_fraction", "saturated_fraction", "nonfinite")


def _flatten(tensors):
    """One float32 vector, the segment id of each element, and each segment's size."""
    sizes = [math.prod(t.shape) for t in tensors]
    flat = ops.concatenate([ops.reshape(ops.cast(t, "float32"), (-1,)) for t in tensors])
    ids = ops.concatenate([ops.full((size,), index, "int32") for index, size in enumerate(sizes)])
    return flat, ids, ops.convert_to_tensor([max(size, 1) for size in sizes], "float32")


def _sums(values, ids, count):
    return ops.segment_sum(values, ids, num_segments=count)


def _nonfinite(values):
    return ops.cast(ops.logical_not(ops.isfinite(values)), "float32")


def variable_signals(gradients, weights, previous):
    """A [num_variables, 6] matrix with the columns of VARIABLE_FIELDS."""
    count = len(weights)
    grad, ids, sizes = _flatten(gradients)
    weight, _, _ = _flatten(weights)
    before, _, _ = _flatten(previous)
    return ops.stack(
        [
            ops.sqrt(_sums(ops.square(grad), ids, count)),
            ops.sqrt(_sums(ops.square(weight), ids, count)),
            ops.sqrt(_sums(ops.square(weight - before), ids, count)),
            _sums(ops.cast(ops.equal(grad, 0.0), "float32"), ids, count) / sizes,
            _sums(_nonfinite(grad), ids, count),
            _sums(_nonfinite(weight), ids, count),
        ],
        axis=1,
    )


def _saturated(values, kinds):
    sigmoid = ops.logical_or(values < SIGMOID_EDGE, values > 1.0 - SIGMOID_EDGE)
    tanh = ops.abs(values) > TANH_EDGE
    return ops.cast(
        ops.logical_or(
            ops.logical_and(ops.equal(kinds, KIND_CODES["sigmoid"]), sigmoid),
            ops.logical_and(ops.equal(kinds, KIND_CODES["tanh"]), tanh),
        ),
        "float32",
    )


def activation_signals(outputs, kinds):
    """A [num_layers, 5] matrix with the columns of LAYER_FIELDS.

    ``kinds`` names each layer's saturating activation ("sigmoid", "tanh") or None.
    """
    count = len(outputs)
    values, ids, sizes = _flatten(outputs)
    codes = ops.take(ops.convert_to_tensor([KIND_CODES[k] for k in kinds], "int32"), ids)
    mean = _sums(values, ids, count) / sizes
    centered = values - ops.take(mean, ids)
    return ops.stack(
        [
            mean,
            ops.sqrt(_sums(ops.square(centered), ids, count) / sizes),
            _sums(ops.cast(ops.equal(values, 0.0), "float32"), ids, count) / sizes,
            _sums(_saturated(values, codes), ids, count) / sizes,
            _sums(_nonfinite(values), ids, count),
        ],
        axis=1,
    )
