"""Planners: one pure function per finding code, ``plan(finding, facts) -> [candidate, ...]``.

A candidate is a tuple of ``Change``s tried together (most are one change); candidates come
in order of likelihood. Parameters come from what was measured, not from fixed factors where a
measurement exists: the learning rate from ``lr_find`` on the candidate model (the setting
``"lr_find"``, which the repair loop resolves), the initializer from each layer's activation
(``initializers.for_activation``), the input normalization from the training data, class
weights from the label counts. ``facts`` is what ``facts_from_log`` reads from the diagnosed
run. Codes that no change can address have a ``DECLINE`` entry instead: the manual fix.
"""

from kerasdoctor.diagnose.series import hidden_only, labels, loss_info, output_units
from kerasdoctor.repair.changes import MEASURED, Change
from kerasdoctor.tune.space import default_learning_rate
from kerasdoctor.vocabulary import ACTIVATION_LAYERS, KERNEL_LAYERS, LINEAR, RELU_FAMILY, SATURATING, SELU_FAMILY, WRAPPER_LAYERS

RECURRENT_SIMPLE = ("SimpleRNN",)
ACTIVATION_ONLY = (*ACTIVATION_LAYERS, "Activation")
# The initializer name that fits an activation (He for the ReLU family, LeCun for SELU, Glorot else).
DEFAULT_BATCH = 32
# A compiled rate this far from its optimizer's default (either way) makes the default a candidate.
DEFAULT_RATE_FACTOR = 3.0
# The model classes rebuilt from their config (a nested one too); a subclassed model is neither.
GRAPH_MODELS = ("Sequential", "Functional")
# The codes whose planners read the layers inside nested models (``facts["inner_layers"]``).
READS_INNER_LAYERS = ("POOR_INITIALIZATION", "DYING_RELU")


def initializer_for(activation):
    if activation in RELU_FAMILY:
        return "he_normal"
    if activation in SELU_FAMILY:
        return "lecun_normal"
    return "glorot_uniform"


def facts_from_log(log):
    """What the planners read: layers, output, loss, optimizer, labels and FIT of a diagnosed run."""
    model = log.model or {}
    layers = model.get("layers") or []
    kernel = [layer for layer in layers if layer.get("class_name") in KERNEL_LAYERS + WRAPPER_LAYERS]
    optimizer = model.get("optimizer") or {}
    rate = (optimizer.get("config") or {}).get("learning_rate")
    loss, from_logits = loss_info(log)
    header = log.header if log.records else {}
    run = next(iter(log.of_type("run")), {}) or {}
    fit = dict(run.get("fit") or {})
    train = log.data("train") or {}
    return {
        "graph": model.get("class_name") in GRAPH_MODELS,
        "model_class": model.get("class_name"),
        "layers": layers,
        "kernel_layers": [layer["name"] for layer in kernel],
        "hidden": [layer["name"] for layer in hidden_only(kernel, log)],  # no output of several either
        "output_layer": kernel[-1]["name"] if kernel else None,
        "activations": {layer["name"]: layer.get("activation") for layer in layers},
        "output_activation": model.get("output_activation"),
        "output_units": output_units(log),
        "multiple_outputs": (model.get("loss") or {}).get("name") == "multiple",
        "loss": loss,
        "from_logits": from_logits,
        "labels": labels(log, "train"),
        "optimizer": optimizer.get("name"),
        "learning_rate": rate if isinstance(rate, (int, float)) else None,
        "default_learning_rate": default_learning_rate(optimizer.get("name")),
        "batch_size": fit.get("batch_size"),
        "epochs": fit.get("epochs"),
        "train_samples": train.get("samples") or train.get("sampled_rows"),
        "input_kind": run.get("input_kind", "arrays"),
        "schema": header.get("schema"),
        "inner_layers": [],  # the layers inside nested models, where the repair loop read them
    }


def with_inner_layers(facts, records):
    """``facts`` (changed in place and returned) with ``records``, the layers inside the nested
    models, known by name beside the top level's."""
    facts["inner_layers"] = list(records)
    for layer in facts["inner_layers"]:
        facts["activations"].setdefault(layer["name"], layer.get("activation"))
    return facts


def _lr(why, **extra):
    return (Change.make("compile", why=why, learning_rate=MEASURED, **extra),)


def _scaled(why, factor):
    return (Change.make("compile", why=why, learning_rate_scale=factor),)


def _layers_of(finding, facts):
    """The layers a finding names (its evidence), kept to those the model's top level holds. An
    activation layer (ReLU, Activation) stands for the layer with a kernel before it, whose
    initializer and bias are what a change can set."""
    evidence = finding.evidence or {}
    named = evidence.get("layers")
    if isinstance(named, dict):
        named = list(named)
    order = [layer["name"] for layer in facts["layers"]]
    classes = {layer["name"]: layer.get("class_name") for layer in facts["layers"]}
    kernels = set(facts["kernel_layers"])
    found = []
    for name in named or ():
        if name not in classes:
            continue
        if classes[name] in ACTIVATION_ONLY:
            earlier = [n for n in order[:order.index(name)] if n in kernels]
            if not earlier:
                continue
            name = earlier[-1]
        if name not in found:
            found.append(name)
    return found


def _sharing(names, facts, key):
    """``names`` and every other trainable layer with a kernel, nested ones included, built with
    the same ``key`` initializer (name and config) as one of them: a model's layers usually share
    one initializer choice, and a finding names the layers where that choice shows most. A frozen
    layer (a pretrained backbone's) keeps its weights."""
    kernels = set(facts["kernel_layers"])
    records = [layer for layer in facts["layers"] if layer["name"] in kernels]
    records += [layer for layer in facts.get("inner_layers", ()) if layer.get("class_name") in KERNEL_LAYERS]
    records = [layer for layer in records if layer.get("trainable", True) or layer["name"] in names]
    chosen = {layer["name"]: layer.get(key) for layer in records}
    poor = [chosen[name] for name in names if chosen.get(name)]
    found = list(names)
    for name, initializer in chosen.items():
        if name not in found and initializer in poor:
            found.append(name)
    return found


def _saturating_hidden(facts):
    return [name for name in facts["hidden"] if facts["activations"].get(name) in SATURATING]


def _with_activation(names, facts):
    """Those of ``names`` that apply an activation (an Embedding or an attention layer has none to change)."""
    return [name for name in names if facts["activations"].get(name) is not None]


def _relu_he(names, why):
    return Change.make("layer", names, why, activation="relu", kernel_initializer="he_normal")


def _output_pair(facts):
    """(activation, loss, from_logits) that fit the labels and the output units, or None."""
    y, units = facts["labels"] or {}, facts["output_units"]
    encoding = y.get("encoding")
    classes = y.get("classes") or []
    if encoding == "continuous":
        return "linear", "mean_squared_error", None
    if encoding == "multi_hot":
        return "sigmoid", "binary_crossentropy", False
    if encoding in ("one_hot", "distribution"):
        return "softmax", "categorical_crossentropy", False
    if encoding in ("index", "index_sequence"):
        if units == 1 and len(classes) <= 2:
            return "sigmoid", "binary_crossentropy", False
        return "softmax", "sparse_categorical_crossentropy", False
    return None


def plan_output_loss(finding, facts):
    why = finding.code
    if facts["multiple_outputs"]:
        return _plan_head(finding, why)
    pair = _output_pair(facts)
    if pair is None or not facts["output_layer"]:
        return []
    activation, loss, _ = pair
    current = facts["output_activation"] or "linear"
    problems = set((finding.evidence or {}).get("problems") or ())
    candidates = []
    if loss != "mean_squared_error" and ("logits_without_from_logits" in problems
                                         or (current in LINEAR and facts["loss"] == loss)):
        candidates.append((Change.make("compile", why=why, loss=loss, from_logits=True),))
    if current != activation:
        candidates.append((Change.make("layer", (facts["output_layer"],), why, activation=activation),))
    if facts["loss"] != loss:
        logits = current in LINEAR and activation != "linear"
        candidates.append((Change.make("compile", why=why, loss=loss, from_logits=logits if loss != "mean_squared_error" else None),))
    if current != activation and facts["loss"] != loss:
        candidates.append((Change.make("layer", (facts["output_layer"],), why, activation=activation),
                           Change.make("compile", why=why, loss=loss,
                                       from_logits=False if loss != "mean_squared_error" else None)))
    return candidates


def _plan_head(finding, why):
    """For one named output of a model with a loss per output: its loss, its activation, or both,
    made to fit its labels."""
    evidence = finding.evidence or {}
    output = evidence.get("output")
    pair = _output_pair({"labels": {"encoding": evidence.get("label_encoding"),
                                    "classes": [0, 1] if evidence.get("output_units") == 1 else []},
                         "output_units": evidence.get("output_units")})
    if not output or pair is None:
        return []
    activation, loss, _ = pair
    current = evidence.get("output_activation") or "linear"
    candidates = []
    if evidence.get("loss") != loss:
        logits = current in LINEAR and activation != "linear"
        candidates.append((Change.make("compile", why=why, output=output, loss=loss,
                                       from_logits=logits if loss != "mean_squared_error" else None),))
    if current != activation:
        candidates.append((Change.make("layer", (output,), why, activation=activation),))
    if evidence.get("loss") != loss and current != activation:
        candidates.append((Change.make("layer", (output,), why, activation=activation),
                           Change.make("compile", why=why, output=output, loss=loss,
                                       from_logits=False if loss != "mean_squared_error" else None)))
    return candidates


def plan_input(finding, facts):
    return [(Change.make("input", why=finding.code, layer="Normalization"),)]


def _fitting_initializers(names, facts, why):
    """One change per initializer: each layer gets the one that fits its activation, zero biases."""
    by_init = {}
    for name in names:
        by_init.setdefault(initializer_for(facts["activations"].get(name)), []).append(name)
    return tuple(Change.make("layer", tuple(group), why, kernel_initializer=init, bias_initializer="zeros")
                 for init, group in by_init.items())


# The POOR_INITIALIZATION problems where the initializer itself is at fault (a constant, a scale far
# too large), so that every layer built with it shares the fault; an activation mismatch names
# exactly the layers whose initializer does not fit their activation.
POOR_INITIALIZERS = ("constant_kernel", "huge_scale")


def plan_initialization(finding, facts):
    names = _layers_of(finding, facts) or facts["kernel_layers"]
    if (finding.evidence or {}).get("problem") in POOR_INITIALIZERS:
        names = _sharing(names, facts, "kernel_initializer")
    changes = _fitting_initializers(names, facts, finding.code)
    return [changes] if changes else []


def plan_vanishing(finding, facts):
    why = finding.code
    evidence = finding.evidence or {}
    if evidence.get("length"):  # through time: a recurrent layer
        layer = evidence.get("layer")
        known = {l["name"]: l for l in facts["layers"]}
        if layer in known and known[layer].get("class_name") in RECURRENT_SIMPLE:
            return [(Change.make("layer", (layer,), why, class_name="LSTM"),),
                    (Change.make("layer", (layer,), why, class_name="GRU"),)]
        return []
    saturating = _saturating_hidden(facts) or _with_activation(facts["hidden"], facts)
    if not saturating:
        return []
    # SELU with LeCun-normal kernels first: self-normalizing, made for deep stacks (Klambauer et
    # al., 2017), and AUTOTRAINER's first fix for vanishing gradients. On the fault benchmark's
    # ten-sigmoid-layer models (11 bases x 2 seeds, `bench/vanishing_fixes.py`) it came within
    # the fault-free model's margin 14 times, ReLU with He-normal kernels 10 times.
    return [(Change.make("layer", tuple(saturating), why, activation="selu", kernel_initializer="lecun_normal"),),
            (_relu_he(saturating, why),),
            (Change.make("insert", tuple(saturating), why, layer="BatchNormalization"),)]


def plan_saturated(finding, facts):
    names = _layers_of(finding, facts) or _saturating_hidden(facts)
    if not names:
        return []
    return [(_relu_he(names, finding.code),),
            (Change.make("insert", tuple(names), finding.code, layer="BatchNormalization"),)]


def plan_dying_relu(finding, facts):
    names = _layers_of(finding, facts) or facts["hidden"]
    why = finding.code
    if not names:
        return _lr(why)
    candidates = []
    biased = [name for name in names if _bias_initializer(facts, name) not in (None, "Zeros", "zeros")]
    if biased:  # units pushed below zero from the start: the smallest change first
        # Every layer given the same bias, nested ones too: units that feed dead ones die with them.
        biased = _sharing(biased, facts, "bias_initializer")
        candidates.append((Change.make("layer", tuple(biased), why, bias_initializer="zeros"),))
        names = list(dict.fromkeys([*names, *biased]))
    candidates.append((Change.make("layer", tuple(names), why, kernel_initializer="he_normal", bias_initializer="zeros"),))
    rectified = _with_activation(names, facts)
    if rectified:
        candidates.append((Change.make("layer", tuple(rectified), why, activation="leaky_relu",
                                       bias_initializer="zeros"),))
    return candidates + [_lr(why)]


def _bias_initializer(facts, name):
    layer = next((l for l in facts["layers"] if l["name"] == name), {})
    return (layer.get("bias_initializer") or {}).get("name")


def plan_exploding(finding, facts):
    why = finding.code
    return [(Change.make("compile", why=why, clipnorm=1.0),), _lr(why),
            (Change.make("compile", why=why, clipnorm=1.0, learning_rate_scale=0.1),)]


def _default_rate(facts, why, direction):
    """The optimizer's own default rate, when the compiled rate is off from it by more than
    ``DEFAULT_RATE_FACTOR`` in ``direction`` (``"lower"`` or ``"higher"``): where a range test finds
    no clear fall (a recurrent model over its few steps), the rate its authors start from."""
    rate, default = facts.get("learning_rate"), facts.get("default_learning_rate")
    if rate is None or default is None or rate <= 0:
        return []
    off = default / rate if direction == "lower" else rate / default
    return [(Change.make("compile", why=why, learning_rate=default),)] if off > DEFAULT_RATE_FACTOR else []


def plan_lr_high(finding, facts):
    why = finding.code
    return [_lr(why), *_default_rate(facts, why, "higher"), _scaled(why, 0.1), _scaled(why, 0.01)]


def plan_lr_low(finding, facts):
    why = finding.code
    return [_lr(why), *_default_rate(facts, why, "lower"), _scaled(why, 10.0), _scaled(why, 100.0)]


def plan_oscillating(finding, facts):
    why = finding.code
    candidates = []
    batch = facts["batch_size"]
    if batch and batch < DEFAULT_BATCH and facts["input_kind"] == "arrays":
        # Larger steps, for more epochs: the learning rate measured again at the new batch size,
        # or kept (the batch averages the noise away; a range test can find no clear fall in its
        # steps).
        larger = _larger_batch(facts, why)
        candidates.append((larger, *_lr(why)))
        candidates.append((larger,))
    candidates.append(_lr(why))
    candidates.append(_scaled(why, 0.1))
    return candidates


def _larger_batch(facts, why):
    """A FIT batch size of ``DEFAULT_BATCH``, with FIT's epochs times the square root of the batch
    ratio: between keeping the epochs (k times fewer optimizer steps for a batch k times larger)
    and keeping the steps (k times the epochs; Hoffer et al., 2017, "Train longer, generalize
    better"), so that a small model, whose step costs about the same at either batch size, trains
    for about as long as before or less."""
    batch, epochs = facts["batch_size"], facts.get("epochs")
    if not epochs:
        return Change.make("fit", why=why, batch_size=DEFAULT_BATCH)
    longer = max(1, round(epochs * (DEFAULT_BATCH / batch) ** 0.5))
    return Change.make("fit", why=why, batch_size=DEFAULT_BATCH, epochs=longer)


def plan_diverged(finding, facts):
    why = finding.code
    return [_lr(why), (Change.make("compile", why=why, clipnorm=1.0, learning_rate_scale=0.1),)]


def _widened(facts, why):
    """The hidden layers four times as wide, at least 32 units: one change per new width."""
    hidden = facts["hidden"]
    units = {layer["name"]: layer.get("units") for layer in facts["layers"]}
    if not hidden or not all(isinstance(units.get(name), int) for name in hidden):
        return ()
    width = {name: max(4 * units[name], 32) for name in hidden}
    return tuple(Change.make("layer", tuple(n for n in hidden if width[n] == w), why, units=w)
                 for w in sorted(set(width.values())))


def plan_stalled(finding, facts):
    """NOT_LEARNING and SLOW_CONVERGENCE: a learning rate that fits, Adam, then room to learn
    (a model too narrow to fit also shows as a loss that will not fall)."""
    why = finding.code
    candidates = [_lr(why)]
    if facts["optimizer"] not in ("Adam", "AdamW"):
        candidates.append((Change.make("compile", why=why, optimizer="adam", learning_rate=1e-3),))
    return candidates + [_widened(facts, why)]


def plan_underfitting(finding, facts):
    why = finding.code
    return [_widened(facts, why), _lr(why)]


def plan_overfitting(finding, facts):
    why = finding.code
    # Stop where the validation loss (the finding has one) stops improving, and keep that epoch's
    # weights. The patience is measured: one more epoch than the validation loss ever waited
    # between two improvements while it still improved.
    wait = (finding.evidence or {}).get("longest_wait_before_best")
    patience = max(2, wait + 1) if isinstance(wait, int) else 2
    candidates = [(Change.make("fit", why=why, early_stopping=patience),)]
    hidden = facts["hidden"]
    if hidden:
        candidates += [(Change.make("insert", tuple(hidden), why, layer="Dropout", rate=0.3),),
                       (Change.make("layer", tuple(hidden), why, l2=1e-4),)]
    return candidates


def plan_frozen_or_dead(finding, facts):
    evidence = finding.evidence or {}
    why = finding.code
    if evidence.get("problem") == "frozen_stalled":
        names = _layers_of(finding, facts) or [l["name"] for l in facts["layers"] if l.get("trainable") is False]
        return [(Change.make("layer", tuple(names), why, trainable=True),)] if names else []
    names = _layers_of(finding, facts)
    if not names:
        return []
    return [_fitting_initializers(names, facts, why), _lr(why)]


def plan_bad_labels(finding, facts):
    if (finding.evidence or {}).get("problem") == "imbalance" and facts["input_kind"] == "arrays":
        return [(Change.make("fit", why=finding.code, class_weight="balanced"),)]
    return []


PLANNERS = {
    "OUTPUT_LOSS_MISMATCH": plan_output_loss,
    "INPUT_NOT_NORMALIZED": plan_input,
    "POOR_INITIALIZATION": plan_initialization,
    "VANISHING_GRADIENTS": plan_vanishing,
    "SATURATED_ACTIVATIONS": plan_saturated,
    "DYING_RELU": plan_dying_relu,
    "EXPLODING_GRADIENTS": plan_exploding,
    "LEARNING_RATE_TOO_HIGH": plan_lr_high,
    "LEARNING_RATE_TOO_LOW": plan_lr_low,
    "LOSS_OSCILLATING": plan_oscillating,
    "LOSS_DIVERGED": plan_diverged,
    "NAN_OR_INF": plan_diverged,
    "NOT_LEARNING": plan_stalled,
    "SLOW_CONVERGENCE": plan_stalled,
    "UNDERFITTING": plan_underfitting,
    "OVERFITTING": plan_overfitting,
    "FROZEN_OR_DEAD_LAYER": plan_frozen_or_dead,
    "BAD_LABELS": plan_bad_labels,
}

# What no change of a model, compile or FIT can fix: the data itself.
DECLINE = {
    "BAD_INPUTS:non_finite": "the inputs hold NaN or infinite values: clean or impute them in load_data() "
                             "(for example with numpy.nan_to_num or scikit-learn's SimpleImputer).",
    "BAD_INPUTS:train_val_overlap": "validation samples are copies of training samples: split the data so that "
                                    "no sample (or near-copy) is in both sets, then judge the model again.",
    "BAD_LABELS:non_finite": "the labels hold NaN or infinite values: drop or fix those rows in load_data().",
    "BAD_LABELS:constant": "every label is the same value: check how load_data() reads the labels.",
    "BAD_LABELS:unseen_classes": "the validation set holds classes the training set lacks: split with "
                                 "stratification (train_test_split(..., stratify=y)).",
    "BAD_LABELS:missing_in_validation": "the validation set lacks some classes: split with stratification.",
}
SUBCLASSED_KINDS = ("compile", "fit")


def decline_reason(finding):
    """The manual fix when ``finding`` is something no change can address, else None."""
    key = f"{finding.code}:{(finding.evidence or {}).get('problem')}"
    if key in DECLINE:
        return DECLINE[key]
    if finding.code == "BAD_LABELS" and (finding.evidence or {}).get("problem") != "imbalance":
        return "the labels need fixing by hand: " + (finding.fix or "see keras-doctor explain BAD_LABELS.")
    return None


def plan(finding, facts):
    """The candidates for ``finding``, most likely first; [] when no planner applies. For a
    subclassed model only compile and FIT changes are kept."""
    planner = PLANNERS.get(finding.code)
    if planner is None:
        return []
    candidates = [tuple(c) for c in planner(finding, facts) if c]
    if not facts["graph"]:
        candidates = [c for c in candidates if all(change.kind in SUBCLASSED_KINDS for change in c)]
    return candidates
