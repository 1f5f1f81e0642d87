"""Series and facts read from a RunLog, shared by the rules."""

import math
import re

CLASSIFICATION_LOSSES = {
    "sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy",
    "categorical_focal_crossentropy", "binary_focal_crossentropy", "sparse_categorical_focal_crossentropy",
    "hinge", "squared_hinge", "categorical_hinge", "kl_divergence", "kld", "kullback_leibler_divergence",
}
ALIASES = {
    "mse": "mean_squared_error", "mae": "mean_absolute_error", "mape": "mean_absolute_percentage_error",
    "msle": "mean_squared_logarithmic_error", "huber_loss": "huber", "logcosh": "log_cosh",
    "kld": "kl_divergence", "kullback_leibler_divergence": "kl_divergence",
}
KERNEL_LAYERS = ("Dense", "EinsumDense", "Conv1D", "Conv2D", "Conv3D", "SeparableConv1D", "SeparableConv2D",
                 "DepthwiseConv1D", "DepthwiseConv2D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose")
RELU_FAMILY = ("relu", "relu6", "leaky_relu")
SATURATING = ("sigmoid", "tanh", "hard_sigmoid", "softsign")


def is_finite(value):
    return isinstance(value, (int, float)) and math.isfinite(value)


def probe_losses(log):
    """[(step, loss)] measured on the fixed probe batch, in step order."""
    return [(p["step"], p["loss"]) for p in log.probes if p.get("loss") is not None]


def epoch_losses(log, key="loss"):
    """[(step, loss)] of a logged value at each epoch end."""
    return [(e["step"], e["logs"][key]) for e in log.epochs if key in e.get("logs", {})]


def epoch_values(log, key):
    return [e["logs"][key] for e in log.epochs if key in e.get("logs", {})]


def snake(name):
    """'SparseCategoricalCrossentropy' -> 'sparse_categorical_crossentropy'; aliases resolved."""
    if not name:
        return ""
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    name = name.replace("cross_entropy", "crossentropy").replace("k_l_", "kl_")
    return ALIASES.get(name, name)


def loss_info(log):
    """(loss name in snake case, from_logits) of the compiled loss; ('', False) if unknown."""
    model = log.model or {}
    loss = model.get("loss") or {}
    if loss.get("name") == "multiple":
        return "", False
    return snake(loss.get("name")), bool((loss.get("config") or {}).get("from_logits", False))


def output_units(log):
    """Units of the model's output: its output shape, else the last layer's."""
    model = log.model or {}
    shape = model.get("output_shape") or ((model.get("layers") or [{}])[-1].get("output_shape"))
    return shape[-1] if shape and shape[-1] is not None else None


def labels(log, split="train"):
    record = log.data(split)
    return (record or {}).get("y") or {}


def inputs(log, split="train"):
    """Stats of the inputs; for dict inputs, the stats per name."""
    record = log.data(split)
    return (record or {}).get("x") or {}


def is_classification(log):
    name, _ = loss_info(log)
    return name in CLASSIFICATION_LOSSES


def trivial_loss(log, split="train"):
    """The loss of a model that ignores its input and predicts the label prior (None if unknown)."""
    name, _ = loss_info(log)
    y = labels(log, split) or labels(log)
    counts = y.get("counts")
    if name in ("sparse_categorical_crossentropy", "categorical_crossentropy") and counts:
        return _entropy(counts)
    if name == "binary_crossentropy" and y.get("encoding") in ("index", "continuous") and "mean" in y:
        p = y["mean"]
        if 0 < p < 1 and y.get("min", 0) >= 0 and y.get("max", 1) <= 1:
            return -(p * math.log(p) + (1 - p) * math.log(1 - p))
    if name == "mean_squared_error" and "std" in y:
        return y["std"] ** 2
    return None


def _entropy(counts):
    total = sum(counts)
    return -sum(c / total * math.log(c / total) for c in counts if c)


def chance_accuracy(log):
    """The accuracy of always predicting the most common class (validation labels if known)."""
    for split in ("val", "train"):
        counts = labels(log, split).get("counts")
        if counts:
            return max(counts) / sum(counts)
    return None


def layers(log):
    return (log.model or {}).get("layers") or []


def kernel_layers(log):
    """[(layer record, kernel variable path)] for Dense/Conv layers, input to output."""
    found = []
    for layer in layers(log):
        if layer.get("class_name") in KERNEL_LAYERS:
            kernels = [v for v in layer.get("variables", []) if v.endswith("kernel")]
            if kernels:
                found.append((layer, kernels[0]))
    return found


def gradient_probes(log):
    """Probes that carry gradients (not the weights-only fallback)."""
    return [p for p in log.probes if any("grad_norm" in row for row in p.get("variables", {}).values())]


def rms(row, key):
    size = row.get("size")
    value = row.get(key)
    if not size or value is None or not is_finite(value):
        return None
    return value / math.sqrt(size)


def per_step_updates(log, variables=None, largest=False):
    """[(step, median (or, with ``largest``, maximum) over kernels of the per-step update ratio)]
    between consecutive probes."""
    names = variables if variables is not None else [k for _, k in kernel_layers(log)]
    out, previous = [], None
    for probe in log.probes:
        if previous is not None and probe["step"] > previous["step"]:
            gap = probe["step"] - previous["step"]
            ratios = sorted(
                probe["variables"][n]["update_ratio"] / gap
                for n in names
                if n in probe.get("variables", {}) and is_finite(probe["variables"][n].get("update_ratio"))
            )
            if ratios:
                out.append((probe["step"], ratios[-1] if largest else ratios[len(ratios) // 2]))
        previous = probe
    return out


def median(values):
    values = sorted(values)
    if not values:
        return None
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def metric_name(log, base="accuracy"):
    """The logged name of an accuracy-like metric ('accuracy', 'acc', 'binary_accuracy', ...)."""
    if not log.epochs:
        return None
    keys = log.epochs[-1].get("logs", {})
    for key in keys:
        if not key.startswith("val_") and "acc" in key:
            return key
    return None
