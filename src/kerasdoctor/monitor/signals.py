"""Monitor signals: functions of (gradients, weights, activations) -> a few scalars.

They run in NumPy on the host, on the arrays the probe step returns. Computing
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


def _norm(values):
    return float(np.sqrt(np.sum(np.square(values, dtype=np.float64))))


def _nonfinite(values):
    return float(values.size - np.count_nonzero(np.isfinite(values)))


def variable_signals(gradient, weight, previous):
    """The VARIABLE_FIELDS of one trainable variable, as a dict of floats."""
    gradient, weight = np.asarray(gradient), np.asarray(weight)
    return {
        "grad_norm": _norm(gradient),
        "weight_norm": _norm(weight),
        "update_norm": _norm(weight.astype(np.float64) - np.asarray(previous, np.float64)),
        "zero_grad_fraction": float(np.mean(gradient == 0)) if gradient.size else 0.0,
        "nonfinite_grad": _nonfinite(gradient),
        "nonfinite_weight": _nonfinite(weight),
        "size": float(weight.size),
    }


def saturated_fraction(output, kind):
    """Fraction of units at a flat end of a saturating activation; 0 for other kinds.

    hard_sigmoid is exactly flat at 0 and 1 (zero gradient there); softsign x / (1 + |x|)
    never flattens completely, so it counts beyond |x| > 5 as the others do (|output| > 5/6).
    """
    if kind == "sigmoid":
        return float(np.mean((output < SIGMOID_EDGE) | (output > 1.0 - SIGMOID_EDGE)))
    if kind == "tanh":
        return float(np.mean(np.abs(output) > TANH_EDGE))
    if kind == "hard_sigmoid":
        return float(np.mean((output <= 0.0) | (output >= 1.0)))
    if kind == "softsign":
        return float(np.mean(np.abs(output) > 5.0 / 6.0))
    return 0.0


def dead_fraction(output):
    """Fraction of units (last axis) that are exactly zero for every sample and position."""
    if output.ndim < 2:
        return float(np.all(output == 0))
    return float(np.mean(np.all(output == 0, axis=tuple(range(output.ndim - 1)))))


def activation_signals(output, kind):
    """The LAYER_FIELDS of one layer output; ``kind`` is a saturating activation's name or None."""
    output = np.asarray(output, dtype=np.float64)
    if output.size == 0:
        return dict.fromkeys(LAYER_FIELDS, 0.0)
    return {
        "mean": float(output.mean()),
        "std": float(output.std()),
        "zero_fraction": float(np.mean(output == 0)),
        "dead_fraction": dead_fraction(output),
        "saturated_fraction": saturated_fraction(output, kind),
        "nonfinite": _nonfinite(output),
    }
