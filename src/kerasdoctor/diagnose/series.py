"""Series and facts read from a RunLog, shared by the rules."""

import math

from kerasdoctor import vocabulary
from kerasdoctor.diagnose import baselines
from kerasdoctor.vocabulary import CLASSIFICATION_LOSSES, KERNEL_LAYERS, WRAPPER_LAYERS

ZEROS = ("Zeros", "zeros")

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


def loss_to_trivial(log):
    """The last epoch's training loss as a share of the trivial loss (None if either is unknown)."""
    losses = [v for v in epoch_values(log, "loss") if is_finite(v)]
    trivial = trivial_loss(log)
    return losses[-1] / trivial if losses and trivial else None


def fit_to_trivial(log):
    """How well the model fits its data: the lower of the last epoch's training loss and
    validation loss, each as a share of its own labels' trivial loss (None if unknown).

    The training loss is computed in training mode (Dropout, noise layers, BatchNorm on batch
    statistics), which can hold it well above what the same weights give in inference mode; the
    validation loss shows the weights as the user will use them. Rules that ask whether a run
    "trained well" read this one value."""
    level = loss_to_trivial(log)
    losses = [v for v in epoch_values(log, "val_loss") if is_finite(v)]
    trivial = trivial_loss(log, "val") or trivial_loss(log)
    val = losses[-1] / trivial if losses and trivial else None
    known = [v for v in (level, val) if v is not None]
    return min(known) if known else None


snake = vocabulary.loss_name


def loss_config(log):
    """The compiled loss's config ({} if unknown or one per output)."""
    loss = (log.model or {}).get("loss") or {}
    return {} if loss.get("name") == "multiple" else dict(loss.get("config") or {})


def loss_info(log):
    """(loss name in snake case, from_logits) of the compiled loss; ('', False) if unknown."""
    model = log.model or {}
    loss = model.get("loss") or {}
    if loss.get("name") == "multiple":
        return "", False
    return snake(loss.get("name")), bool(loss_config(log).get("from_logits", False))


def output_units(log):
    """Units of the model's output: its output shape, else the last layer's."""
    shape = output_shape(log)
    return shape[-1] if shape and shape[-1] is not None else None


def _summary(log, split, key):
    """A split's ``x`` or ``y`` summary. A Monitor in a user's own ``fit`` sees only its probe
    batch (and, if given, the training labels): the probe batch stands in for the training set."""
    found = ((log.data(split) or {}).get(key)) or {}
    if not found and split == "train":
        found = ((log.data("probe") or {}).get(key)) or {}
    return found


def labels(log, split="train"):
    """The label summary of a split; logs written before multi-hot and sequence labels were told
    apart called every 2-D label array one-hot: one whose values exceed 1 is read as indices."""
    y = dict(_summary(log, split, "y"))
    if y.get("encoding") == "one_hot" and (y.get("max", 1) > 1 or y.get("min", 0) < 0):
        y["encoding"] = "index_sequence" if y.get("min", 0) >= 0 else "continuous"
    return y


def output_shape(log):
    model = log.model or {}
    return model.get("output_shape") or ((model.get("layers") or [{}])[-1].get("output_shape"))


def inputs(log, split="train"):
    """Stats of the inputs; for dict inputs, the stats per name."""
    return _summary(log, split, "x")


def is_classification(log):
    name, _ = loss_info(log)
    return name in CLASSIFICATION_LOSSES


def trivial_loss(log, split="train"):
    """The loss of a model that ignores its input and predicts a constant: the label prior, the
    mean, the median (None if the loss has no such value or the log lacks what it needs)."""
    name, _ = loss_info(log)
    return baselines.trivial_loss(name, loss_config(log), labels(log, split) or labels(log))


def chance_accuracy(log):
    """The accuracy of always predicting the most common class (validation labels if known);
    for multi-label targets, of always predicting each label's more common value."""
    for split in ("val", "train"):
        y = labels(log, split)
        if y.get("encoding") == "multi_hot" and y.get("positive_rates"):
            return sum(max(p, 1 - p) for p in y["positive_rates"]) / len(y["positive_rates"])
        counts = y.get("counts")
        if counts:
            return max(counts) / sum(counts)
    return None


def layers(log):
    return (log.model or {}).get("layers") or []


def hidden_only(records, log):
    """``records`` (layer records, input to output) without the last, the output, nor the layer
    of any other named output of a model with several (its ``output_names``)."""
    outputs = set((log.model or {}).get("output_names") or ())
    return [layer for layer in records[:-1] if layer.get("name") not in outputs]


def kernel_layers(log):
    """[(layer record, kernel variable path)] for the layers with a kernel (dense, convolution,
    recurrent, attention; inside wrappers too), input to output."""
    found = []
    for layer in layers(log):
        if layer.get("class_name") in KERNEL_LAYERS + WRAPPER_LAYERS:
            kernels = [v for v in layer.get("variables", []) if v.endswith("kernel")]
            if kernels:
                found.append((layer, kernels[0]))
    return found


def recent_window(series, min_probes):
    """The points of the second half of the run (by step), at least the last ``min_probes``:
    a window set by the run's length, not by how many probes it holds or where they fall."""
    if not series:
        return []
    half = series[-1][0] / 2
    window = [point for point in series if point[0] >= half]
    return window if len(window) >= min_probes else series[-min_probes:]


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
    # A kernel that starts at zero: its first updates are measured against a norm they created.
    first = log.probes[0]["variables"] if log.probes else {}
    zero = {k for layer, k in kernel_layers(log) if (layer.get("kernel_initializer") or {}).get("name") in ZEROS}
    names = [n for n in names if n not in zero and (first.get(n) or {}).get("weight_norm") != 0]
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


def metric_name(log):
    """The logged name of the training accuracy ('accuracy', 'acc', 'binary_accuracy', ...), if any."""
    if not log.epochs:
        return None
    return vocabulary.accuracy_name(log.epochs[-1].get("logs", {}))
