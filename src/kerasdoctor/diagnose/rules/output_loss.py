"""OUTPUT_LOSS_MISMATCH: an output activation, loss and label encoding that do not fit together."""

from kerasdoctor.diagnose.base import Finding, Rule
from kerasdoctor.diagnose.series import labels, loss_info, output_shape, output_units, snake
from kerasdoctor.vocabulary import BINARY_LOSSES as BINARY
from kerasdoctor.vocabulary import CATEGORICAL_LOSSES as CATEGORICAL
from kerasdoctor.vocabulary import LINEAR
from kerasdoctor.vocabulary import REGRESSION_LOSSES as REGRESSION

# The problems whose labels do not fit the output's shape: Keras stops at the first step.
# Problems that make Keras fail at the first step: label shapes that do not fit the output, and
# sparse labels outside it (TensorFlow and PyTorch raise; JAX reads out of range silently).
CRASHING = frozenset({"one_hot_with_sparse_loss", "indices_with_categorical_loss", "regression_loss_on_classes",
                      "labels_out_of_range"})
RANGES = {"sigmoid": (0.0, 1.0), "softmax": (0.0, 1.0), "tanh": (-1.0, 1.0), "relu": (0.0, float("inf")),
          "softplus": (0.0, float("inf")), "exponential": (0.0, float("inf")), "elu": (-1.0, float("inf"))}


def _sequence_labels(y, shape):
    """Whether 2-D labels hold one class index per position of a sequence output (n, T, classes)."""
    label_shape = y.get("shape") or []
    return (len(label_shape) == 2 and shape is not None and len(shape) == 3
            and shape[1] in (None, label_shape[1]))


def _categorical_activation(loss, from_logits, activation, units):
    sparse = loss.startswith("sparse")
    if units == 1:
        yield ("error", "single_unit", "categorical cross-entropy on a single output unit is always 0 "
               "(softmax over one value is 1)",
               "Use binary_crossentropy with one sigmoid unit, or num_classes softmax units.")
    elif activation == "sigmoid":
        yield ("error", "sigmoid_multiclass", "a sigmoid output on a multi-class target: the class "
               "scores do not sum to 1, so categorical cross-entropy is not a likelihood",
               "Use activation='softmax' on the output (or activation=None with from_logits=True).")
    elif activation in LINEAR and not from_logits:
        yield ("error", "logits_without_from_logits", "the output has no activation (logits) but the "
               "loss expects probabilities (from_logits=False): Keras clips the raw scores",
               f"Compile with keras.losses.{'Sparse' if sparse else ''}CategoricalCrossentropy(from_logits=True), "
               "or put activation='softmax' on the output.")
    elif activation == "softmax" and from_logits:
        yield ("warning", "double_softmax", "the output already applies softmax and the loss applies it "
               "again (from_logits=True), which flattens the gradients",
               "Remove from_logits=True, or drop the output activation.")
    elif activation not in LINEAR + ("softmax",):
        yield ("error", "output_activation", f"a '{activation}' output cannot give class probabilities",
               "Use activation='softmax' on the output.")


def _categorical_labels(loss, units, y, shape):
    encoding, low, high = y.get("encoding"), y.get("min"), y.get("max")
    sparse = loss.startswith("sparse")
    if sparse and encoding == "one_hot" and not _sequence_labels(y, shape):
        yield ("error", "one_hot_with_sparse_loss", "the labels are one-hot but the loss is the sparse "
               "one, which expects class indices", "Use categorical_crossentropy, or pass y.argmax(axis=1).")
    elif not sparse and units and units > 1 and (
            encoding == "index" or (encoding == "index_sequence" and _sequence_labels(y, shape))):
        yield ("error", "indices_with_categorical_loss", "the labels are class indices but "
               "categorical_crossentropy expects one-hot rows",
               "Use sparse_categorical_crossentropy, or one-hot the labels (keras.utils.to_categorical).")
    if sparse and units and units > 1 and high is not None and (high >= units or low < 0):
        yield ("error", "labels_out_of_range", f"the labels run from {low:.0f} to {high:.0f} but the "
               f"output has {units} units (classes 0 to {units - 1})",
               f"Give the output layer {int(high) + 1} units, or re-map the labels to 0..{units - 1}.")
    if encoding == "continuous":
        yield ("error", "continuous_labels", "the labels are continuous values, not classes",
               "For regression use a linear output with mean_squared_error or huber.")


def _binary_activation(from_logits, activation, units, encoding):
    if activation == "softmax" and units == 1:
        yield ("error", "softmax_single_unit", "softmax over a single unit always outputs 1, so the "
               "model cannot learn", "Use activation='sigmoid' on the one output unit.")
    elif activation == "softmax" and encoding == "index":
        yield ("error", "softmax_binary_loss", "softmax outputs scored with binary cross-entropy "
               "against class indices", "Use sparse_categorical_crossentropy with the softmax output.")
    elif activation == "softmax" and encoding == "multi_hot":
        yield ("error", "softmax_multi_label", "a softmax output sums to 1 over the labels, but the "
               "multi-hot targets have several labels on at once",
               "Use activation='sigmoid' on the output for multi-label targets.")
    elif activation == "softmax" and encoding in ("one_hot", "distribution") and units and units > 2:
        yield ("warning", "softmax_binary_crossentropy", f"binary cross-entropy scores each of the {units} "
               "softmax units as a separate yes/no question on one-hot multi-class labels, so the loss "
               "and the reported (binary) accuracy are misleading: always answering 'no' is already "
               f"{1 - 1 / units:.0%} accurate",
               "Use categorical_crossentropy (with metrics=['accuracy']) for one-hot multi-class labels.")
    elif activation in LINEAR and not from_logits:
        yield ("error", "logits_without_from_logits", "the output has no activation (logits) but "
               "binary cross-entropy expects probabilities (from_logits=False)",
               "Compile with keras.losses.BinaryCrossentropy(from_logits=True), or use activation='sigmoid'.")
    elif activation == "sigmoid" and from_logits:
        yield ("warning", "double_sigmoid", "the output applies sigmoid and the loss applies it again "
               "(from_logits=True)", "Remove from_logits=True, or drop the output activation.")
    elif activation not in LINEAR + ("sigmoid", "softmax"):
        yield ("error", "output_activation", f"a '{activation}' output is not a probability",
               "Use activation='sigmoid' on the output.")


def _binary_labels(y):
    low, high = y.get("min"), y.get("max")
    if low is not None and (low < 0 or high > 1):
        yield ("error", "labels_out_of_range", f"binary cross-entropy needs labels in [0, 1]; these run "
               f"from {low:.4g} to {high:.4g}",
               "For regression use mean_squared_error with a linear output; for classes use "
               "sparse_categorical_crossentropy.")


def _regression(activation, units, y, known):
    encoding, low, high = y.get("encoding"), y.get("min"), y.get("max")
    if not known:
        return
    if activation == "softmax" and encoding == "index" and units and units > 1:
        yield ("error", "regression_loss_on_classes", "a regression loss compares class indices with "
               "softmax probabilities", "Use sparse_categorical_crossentropy.")
    elif activation in RANGES and low is not None and (units == 1 or encoding == "continuous"):
        lo, hi = RANGES[activation]
        if low < lo or high > hi:
            yield ("error", "labels_out_of_range", f"the '{activation}' output can only give values in "
                   f"[{lo:g}, {hi:g}] but the targets run from {low:.4g} to {high:.4g}",
                   "Use a linear output (activation=None) for unbounded targets, or scale the targets "
                   "into the output's range.")


def _problems(loss, from_logits, activation, units, y, shape=None, known=True):
    """Yields (severity, problem, explanation, fix) for each mismatch found; with ``known`` False
    (the output activation could not be read) only the labels are judged."""
    if loss in CATEGORICAL:
        if known:
            yield from _categorical_activation(loss, from_logits, activation, units)
        yield from _categorical_labels(loss, units, y, shape)
    elif loss in BINARY:
        if known:
            yield from _binary_activation(from_logits, activation, units, y.get("encoding"))
        yield from _binary_labels(y)
    elif loss in REGRESSION:
        yield from _regression(activation, units, y, known)


def _head_labels(log, *keys):
    """A head's label summary, by its name or (labels given as a list of targets) its position."""
    for split in ("train", "probe"):
        outputs = (log.data(split) or {}).get("y_outputs") or {}
        found = next((outputs[key] for key in keys if outputs.get(key)), None)
        if found:
            return dict(found)
    return {}


def heads(log):
    """One dict per named output of a model compiled with one loss per output (a dict by name,
    or a list in the order of the model's outputs): the head's loss, from_logits, activation,
    units, output shape, labels and whether its activation is known. The head is the layer of
    that name; an output whose layer the model record does not hold is not judged, nor a list
    of losses whose outputs the record does not name."""
    model = log.model or {}
    losses = (model.get("loss") or {}).get("outputs")
    names = model.get("output_names") or []
    if isinstance(losses, list) and len(losses) == len(names):
        losses = {name: loss for name, loss in zip(names, losses)}
    if not isinstance(losses, dict):
        return []
    by_name = {layer.get("name"): layer for layer in model.get("layers") or []}
    found = []
    for head, loss in losses.items():
        layer = by_name.get(head)
        if not layer or not loss:
            continue
        shape = layer.get("output_shape")
        found.append({
            "head": head, "loss": snake(loss.get("name")),
            "from_logits": bool((loss.get("config") or {}).get("from_logits", False)),
            "activation": layer.get("activation"), "units": shape[-1] if shape else layer.get("units"),
            "shape": shape, "known": "note" not in layer,
            "labels": _head_labels(log, head, *([str(names.index(head))] if head in names else [])),
        })
    return found


def _head_problems(log):
    """(severity, problem, explanation naming the head, fix) for each head's mismatches."""
    for head in heads(log):
        for severity, problem, explanation, fix in _problems(
                head["loss"], head["from_logits"], head["activation"], head["units"], head["labels"],
                head["shape"], head["known"]):
            yield severity, problem, f"on the output '{head['head']}', {explanation}", fix, head


class OutputLossMismatch(Rule):
    """Checks the output activation, the loss and the labels against each other, before training;
    for a model with one loss per named output, each output on its own."""

    code = "OUTPUT_LOSS_MISMATCH"

    def check(self, log):
        model = log.model
        if not model:
            return None
        if (model.get("loss") or {}).get("name") == "multiple":
            return self._check_heads(log)
        loss, from_logits = loss_info(log)
        activation = model.get("output_activation")
        units = output_units(log)
        y = labels(log, "train")
        known = model.get("output_activation_known", True)
        found = list(_problems(loss, from_logits, activation, units, y, output_shape(log), known))
        if not found:
            return None
        severity = "error" if any(p[0] == "error" for p in found) else "warning"
        first = found[0]
        return Finding(
            self.code, severity, None,
            f"The output and the loss do not fit: {first[2]}."
            + (f" ({len(found) - 1} more: {', '.join(p[1] for p in found[1:])})" if len(found) > 1 else ""),
            {"loss": loss, "from_logits": from_logits, "output_activation": activation, "output_units": units,
             "label_encoding": y.get("encoding"), "label_range": [y.get("min"), y.get("max")],
             "problems": [p[1] for p in found]},
            " ".join(dict.fromkeys(p[3] for p in found)),
        )

    def _check_heads(self, log):
        found = list(_head_problems(log))
        if not found:
            return None
        severity = "error" if any(p[0] == "error" for p in found) else "warning"
        first, head = found[0], found[0][4]
        return Finding(
            self.code, severity, None,
            f"The output and the loss do not fit {first[2]}."
            + (f" ({len(found) - 1} more: {', '.join(p[1] for p in found[1:])})" if len(found) > 1 else ""),
            {"output": head["head"], "loss": head["loss"], "from_logits": head["from_logits"],
             "output_activation": head["activation"], "output_units": head["units"],
             "label_encoding": head["labels"].get("encoding"),
             "label_range": [head["labels"].get("min"), head["labels"].get("max")],
             "outputs": sorted({p[4]["head"] for p in found}), "problems": [p[1] for p in found]},
            " ".join(dict.fromkeys(p[3] for p in found)),
        )
