"""Monitor signals: functions of (gradients, weights, activations) -> a few scalars.

They run in NumPy on the host, on the arrays the probe step returns, summing in float64 (NumPy's
own reductions, no BLAS), and count non-finite values only when a sum is not finite. Computing
them inside the compiled probe step (in ``keras.ops``) was measured to double
that step's compile time on JAX (0.38 -> 0.69 CPU-s for the digits CNN) and to
slow each probe (13 -> 38 ms), while the arrays involved are small: a probe
batch of activations and one gradient per weight.
"""

import math

import numpy as np

# Saturation: |pre-activation| > 5 or an output within 1e-3 of a bound.
# Expressed on the output, which is what a layer returns.
SIGMOID_EDGE = max(1.0 / (1.0 + math.exp(5.0)), 1e-3)
TANH_EDGE = min(math.tanh(5.0), 1.0 - 1e-3)

VARIABLE_FIELDS = (
    "grad_norm",
    "weight_norm",
    "update_norm",
    "zero_grad_fraction",
    "nonfinite_grad",
    "nonfinite_weight",
    "size",
)
LAYER_FIELDS = ("mean", "std", "zero_fraction", "dead_fraction", "saturated_fraction", "nonfinite")


def _float(values):
    """``values`` as a float32 or float64 NumPy array (a float32 array as it is, not copied)."""
    values = np.asarray(values)
    return values if values.dtype in (np.float32, np.float64) else values.astype(np.float64)


def _squares(values):
    """The sum of squares in float64 (a float32 value squared cannot overflow there), by NumPy's
    own reduction: a BLAS dot may wake threads that contend with the training step's."""
    return float(np.sum(np.square(values, dtype=np.float64)))


def _norm(values):
    """The L2 norm."""
    return math.sqrt(_squares(values))


def _nonfinite(values, total=0.0):
    """How many values are NaN or infinite; ``total``, their sum (or sum of squares) in float64,
    is finite exactly when none is, which skips the count in the common case."""
    if math.isfinite(total):
        return 0.0
    return float(values.size - np.count_nonzero(np.isfinite(values)))


def variable_signals(gradient, weight, previous):
    """The VARIABLE_FIELDS of one trainable variable, as a dict of floats."""
    gradient, weight = _float(gradient), _float(weight)
    grad_norm, weight_norm = _norm(gradient), _norm(weight)
    change = np.subtract(weight, _float(previous), dtype=np.float64)
    return {
        "grad_norm": grad_norm,
        "weight_norm": weight_norm,
        "update_norm": _norm(change),
        "zero_grad_fraction": np.count_nonzero(gradient == 0) / gradient.size if gradient.size else 0.0,
        "nonfinite_grad": _nonfinite(gradient, grad_norm),
        "nonfinite_weight": _nonfinite(weight, weight_norm),
        "size": float(weight.size),
    }


def saturated_fraction(output, kind):
    """Fraction of units at a flat end of a saturating activation; 0 for other kinds.

    hard_sigmoid is exactly flat at 0 and 1 (zero gradient there); softsign x / (1 + |x|)
    never flattens completely, so it counts beyond |x| > 5 as the others do (|output| > 5/6).
    """
    # The limits as float64, so a float32 output is compared as it was when converted first.
    if kind == "sigmoid":
        return float(np.mean((output < np.float64(SIGMOID_EDGE)) | (output > np.float64(1.0 - SIGMOID_EDGE))))
    if kind == "tanh":
        return float(np.mean(np.abs(output) > np.float64(TANH_EDGE)))
    if kind == "hard_sigmoid":
        return float(np.mean((output <= 0.0) | (output >= 1.0)))
    if kind == "softsign":
        return float(np.mean(np.abs(output) > np.float64(5.0 / 6.0)))
    return 0.0


def dead_fraction(output, zero=None):
    """Fraction of units (last axis) that are exactly zero for every sample and position."""
    zero = output == 0 if zero is None else zero
    if output.ndim < 2:
        return float(np.all(zero))
    return float(np.mean(np.all(zero.reshape(-1, zero.shape[-1]), axis=0)))


def activation_signals(output, kind):
    """The LAYER_FIELDS of one layer output; ``kind`` is a saturating activation's name or None."""
    output = _float(output)
    if output.size == 0:
        return dict.fromkeys(LAYER_FIELDS, 0.0)
    flat = np.ravel(output).astype(np.float64, copy=False)
    mean, std = float(np.mean(flat)), math.nan
    if math.isfinite(mean):
        std = math.sqrt(_squares(flat - mean) / flat.size)
    zero = output == 0
    return {
        "mean": mean,
        "std": std,
        "zero_fraction": np.count_nonzero(zero) / output.size,
        "dead_fraction": dead_fraction(output, zero),
        "saturated_fraction": saturated_fraction(output, kind),
        "nonfinite": _nonfinite(output, mean),
    }
