"""``Change``: one planned edit of a workload, and ``apply``, which makes a repaired copy.

A change edits a layer (activation, initializer, width, regularizer, trainable, its class: a
SimpleRNN made an LSTM), inserts a layer after one (BatchNormalization, LayerNormalization,
Dropout), puts a ``Normalization`` layer adapted on the training data in front of the inputs,
edits ``compile`` (optimizer, learning rate, ``clipnorm``, loss and ``from_logits``) or ``FIT``
(batch size, epochs, class weights, early stopping on the validation loss that restores its best
epoch's weights). Applying changes rebuilds the model from its config
(Sequential, Functional and the models nested in them); the user's model, data and files are
never touched. Layers that no change touches, or that a change only freezes, unfreezes or
regularizes, keep the weights the user's ``build_model`` gave them, so a candidate differs from
the original by its changes only. A subclassed model cannot be rebuilt: it takes compile
changes only, compiled again in place.
"""

import copy
import re
import json
from dataclasses import dataclass

import keras
import numpy as np

from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.workload.loader import Workload

KINDS = ("layer", "insert", "input", "compile", "fit")
MODEL_KINDS = ("layer", "insert", "input")
LAYER_SETTINGS = ("activation", "kernel_initializer", "bias_initializer", "units", "l2", "trainable", "class_name")
# Where a layer keeps a setting under another name (an Embedding's table is its kernel).
ALIASES = {"kernel_initializer": ("kernel_initializer", "embeddings_initializer"),
           "units": ("units", "filters", "output_dim"), "l2": ("kernel_regularizer", "embeddings_regularizer")}
KEEPS_WEIGHTS = ("trainable", "l2")  # a layer edited only in these keeps the weights it had
INSERTABLE = ("BatchNormalization", "LayerNormalization", "Dropout")
COMPILE_SETTINGS = ("optimizer", "learning_rate", "learning_rate_scale", "clipnorm", "loss", "from_logits", "output")
FIT_SETTINGS = ("batch_size", "epochs", "class_weight", "early_stopping")
MEASURED = "lr_find"  # a learning rate the repair loop measures on the candidate model
LOSS_CLASSES = {"mse": "MeanSquaredError", "mae": "MeanAbsoluteError", "mean_squared_error": "MeanSquaredError",
                "mean_absolute_error": "MeanAbsoluteError"}


@dataclass(frozen=True)
class Change:
    """One edit: ``kind`` (layer, insert, input, compile, fit), the layers it applies to
    (``target``, names; empty for input, compile and fit), its ``settings`` as sorted
    (name, value) pairs and the finding code it answers (``why``)."""

    kind: str
    target: tuple = ()
    settings: tuple = ()
    why: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Change kind must be one of {KINDS}. Received: kind={self.kind!r}")
        allowed = {"layer": LAYER_SETTINGS, "insert": ("layer", "rate"), "input": ("layer",),
                   "compile": COMPILE_SETTINGS, "fit": FIT_SETTINGS}[self.kind]
        article = "An" if self.kind[0] in "aeiou" else "A"
        unknown = sorted(set(self.params) - set(allowed))
        if unknown:
            raise ValueError(f"{article} {self.kind} change takes {allowed}. Received: {unknown}")
        if self.kind in ("layer", "insert") and not self.target:
            raise ValueError(f"{article} {self.kind} change names the layers it applies to. Received: target=()")
        if self.kind == "insert" and self.params.get("layer") not in INSERTABLE:
            raise ValueError(f"An insert change inserts one of {INSERTABLE}. "
                             f"Received: layer={self.params.get('layer')!r}")

    @classmethod
    def make(cls, kind, target=(), why="", **settings):
        target = (target,) if isinstance(target, str) else tuple(target)
        return cls(kind, target, tuple(sorted(settings.items())), why)

    @property
    def params(self):
        return dict(self.settings)

    def with_settings(self, **settings):
        return Change.make(self.kind, self.target, self.why, **{**self.params, **settings})

    @property
    def measured(self):
        """Whether a setting is still to be measured (the learning rate from ``lr_find``)."""
        return MEASURED in self.params.values()

    def to_dict(self):
        return {"kind": self.kind, "target": list(self.target), "settings": self.params, "why": self.why}

    @classmethod
    def from_dict(cls, record):
        try:
            return cls.make(record["kind"], record.get("target") or (), record.get("why", ""),
                            **(record.get("settings") or {}))
        except (KeyError, TypeError, ValueError) as error:
            raise KerasDoctorError(f"Not a keras-doctor change: {error}. Received: {record!r}") from None

    def describe(self):
        """One readable line: 'dense, dense_1: activation relu, kernel_initializer he_normal'."""
        params = self.params
        if self.kind == "input":
            return "inputs: Normalization adapted on the training data"
        if self.kind == "insert":
            rate = f" (rate {params['rate']})" if "rate" in params else ""
            return f"after {_names(self.target)}: insert {params['layer']}{rate}"
        text = ", ".join(f"{key} {_value(key, value)}" for key, value in params.items())
        where = {"layer": _names(self.target), "compile": "compile", "fit": "FIT"}[self.kind]
        return f"{where}: {text}"


def _names(target, limit=3):
    shown = ", ".join(target[:limit])
    return shown + (f" and {len(target) - limit} more" if len(target) > limit else "")


def early_stopping(patience):
    """The callback a FIT change ``early_stopping=patience`` adds: it watches the validation loss
    and gives back the weights of its best epoch."""
    return keras.callbacks.EarlyStopping(monitor="val_loss", patience=int(patience), restore_best_weights=True)


def _value(key, value):
    if key == "early_stopping":
        return f"EarlyStopping(monitor='val_loss', patience={value}, restore_best_weights=True)"
    if key in ("learning_rate", "l2") and isinstance(value, float):
        return f"{value:.3g}"
    if key == "learning_rate_scale":
        return f"x{value:g}"
    return str(value)


def dumps(changes):
    return json.dumps([c.to_dict() for c in changes], indent=2)


def loads(text):
    return [Change.from_dict(record) for record in json.loads(text)]


# -- the model ---------------------------------------------------------------------------------

def is_graph_model(model):
    """Sequential and Functional models can be rebuilt from their config; a subclassed one cannot."""
    if isinstance(model, keras.Sequential):
        return True
    try:
        return bool(model.inputs) and type(model).__name__ == "Functional"
    except (AttributeError, ValueError):
        return False


def _wrapped(config):
    """The serialized layers a wrapper applies (TimeDistributed one, Bidirectional both
    directions); [] for any other layer."""
    return [config[key] for key in ("layer", "backward_layer")
            if isinstance(config.get(key), dict) and isinstance(config[key].get("config"), dict)]


def _config(layer):
    """A copy of ``layer``'s config without the shapes its wrapped layers were built for: a
    change before a wrapper may change the shape it receives."""
    config = copy.deepcopy(layer.get_config())
    for inner in _wrapped(config):
        inner.pop("build_config", None)
    return config


def _edit(config, settings, name):
    for key, value in settings.items():
        if key in ("trainable", "class_name"):
            continue
        found = [alias for alias in ALIASES.get(key, (key,)) if alias in config]
        if not found:
            if key == "bias_initializer":
                continue  # a layer without a bias: nothing to initialize
            raise KerasDoctorError(f"Layer {name} has no {key} to change. Received: {key}={value!r}")
        if key == "units":
            value = int(value)
        elif key == "l2":
            value = keras.regularizers.serialize(keras.regularizers.L2(float(value)))
        config[found[0]] = value


def _fitting(layer_class, config):
    """``config`` cut to the settings ``layer_class`` takes (a SimpleRNN's made an LSTM's)."""
    allowed = set(layer_class(units=1).get_config()) if "units" in config else set(config)
    return {key: value for key, value in config.items() if key in allowed}


def _edited_layer(layer, settings):
    config = _config(layer)
    wrapped = _wrapped(config)
    for target in [inner["config"] for inner in wrapped] or [config]:
        _edit(target, settings, layer.name)
    layer_class = type(layer)
    if "class_name" in settings:
        new_class = getattr(keras.layers, settings["class_name"])
        for inner in wrapped:  # a wrapper stays: the layer it wraps changes class
            inner.update(module="keras.layers", class_name=settings["class_name"], registered_name=None,
                         config=_fitting(new_class, inner["config"]))
        if not wrapped:
            layer_class, config = new_class, _fitting(new_class, config)
    edited = layer_class.from_config(config)
    if "trainable" in settings:
        edited.trainable = bool(settings["trainable"])
    return edited


def _inserted(name, settings, index):
    kind = settings["layer"]
    if kind == "Dropout":
        return keras.layers.Dropout(float(settings.get("rate", 0.3)), name=f"{name}_dropout{index}")
    return getattr(keras.layers, kind)(name=f"{name}_{kind.lower()}{index}")


class _Plan:
    """The model changes by layer name."""

    def __init__(self, changes):
        self.settings, self.inserts = {}, {}
        for change in changes:
            for name in change.target:
                if change.kind == "layer":
                    self.settings.setdefault(name, {}).update(change.params)
                elif change.kind == "insert":
                    self.inserts.setdefault(name, []).append(change.params)
        self.seen = set()

    def clone(self, layer):
        settings = self.settings.get(layer.name)
        if isinstance(layer, keras.Model) and is_graph_model(layer):
            return self._nested(layer, settings or {})
        self.seen.add(layer.name)
        if settings:
            return _edited_layer(layer, settings)
        return type(layer).from_config(_config(layer))

    def _nested(self, model, settings):
        other = sorted(set(settings) - {"trainable"})
        if other:
            raise KerasDoctorError(f"{model.name} is a nested model: a layer change can only set its trainable; "
                                   f"change the layers inside it by their names. Received: {other}")
        self.seen.add(model.name)
        rebuilt = _rebuilt(model, self)
        if "trainable" in settings or not model.trainable:
            rebuilt.trainable = bool(settings.get("trainable", model.trainable))
        return rebuilt

    def after(self, layer, output):
        for index, settings in enumerate(self.inserts.get(layer.name, ())):
            self.seen.add(layer.name)
            output = _inserted(layer.name, settings, index)(output)
        return output


def _rebuilt(model, plan):
    if isinstance(model, keras.Sequential):
        layers = [keras.Input(shape=model.inputs[0].shape[1:], dtype=model.inputs[0].dtype)] if _built(model) else []
        for layer in model.layers:
            layers.append(plan.clone(layer))
            for index, settings in enumerate(plan.inserts.get(layer.name, ())):
                layers.append(_inserted(layer.name, settings, index))
        return keras.Sequential(layers, name=model.name)
    return keras.models.clone_model(
        model, clone_function=plan.clone,
        call_function=lambda layer, *args, **kwargs: plan.after(layer, layer(*args, **kwargs)))


def _built(model):
    try:
        return bool(model.inputs)
    except (AttributeError, ValueError):
        return False


def _copy_weights(original, rebuilt, edited):
    """Layers not in ``edited`` keep the original's weights (same name, same shapes)."""
    originals = {layer.name: layer for layer in _all_layers(original)}
    for layer in _all_layers(rebuilt):
        source = originals.get(layer.name)
        if source is None or layer.name in edited or isinstance(layer, keras.Model):
            continue
        weights = source.get_weights()
        if [w.shape for w in weights] == [tuple(w.shape) for w in layer.weights]:
            layer.set_weights(weights)


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)


def _fresh_names(model):
    """{the name each layer would get in a fresh Keras session: its actual name}, for names that
    Keras made up (``dense``, ``dense_1``, ...). Keras numbers such names with counters that live
    as long as the session (per thread), so the same build_model gives ``dense_12`` once other
    models were built before it; numbered again in model order from 0, they match again."""
    ranks, fresh = {}, {}
    for layer in _all_layers(model):
        prefix = re.sub(r"_\d+$", "", layer.name)
        rank = ranks.get(prefix, 0)
        ranks[prefix] = rank + 1
        fresh[prefix if rank == 0 else f"{prefix}_{rank}"] = layer.name
    return fresh


def _renamed(model, changes):
    """``changes`` with each target the model does not hold mapped to its layer by the fresh
    names: changes planned on a build in one session apply to a build in another."""
    names = layer_names(model)
    if all(name in names for change in changes for name in change.target):
        return changes
    fresh = _fresh_names(model)
    return [Change(c.kind, tuple(n if n in names else fresh.get(n, n) for n in c.target), c.settings, c.why)
            for c in changes]


def layer_names(model):
    return {layer.name for layer in _all_layers(model)}


def inner_layers(model):
    """The static facts (``monitor.describe.describe_layer``'s) of every layer inside the
    Sequential and Functional models nested in ``model``: a run's log describes the top level
    only, and a change reaches a nested layer by its name. A subclassed model nested in it is
    not rebuilt, so its layers are left out."""
    from kerasdoctor.monitor.describe import describe_layer

    def within(parent):
        for layer in parent.layers:
            if isinstance(layer, keras.Model):
                if is_graph_model(layer):
                    yield from within(layer)
            elif type(layer).__name__ != "InputLayer":
                yield describe_layer(layer)

    return [record for nested in model.layers if isinstance(nested, keras.Model) and is_graph_model(nested)
            for record in within(nested)]


def _normalized(model, x_train):
    if len(model.inputs) != 1:
        raise KerasDoctorError("repair normalizes the inputs of a model with one input; this one has "
                               f"{len(model.inputs)}. Normalize them in load_data().")
    x = np.asarray(keras.tree.flatten(x_train)[0], dtype="float32")
    norm = keras.layers.Normalization(axis=-1, name="input_normalization")
    norm.adapt(x[: min(len(x), 20000)])
    if isinstance(model, keras.Sequential):
        return keras.Sequential([keras.Input(shape=x.shape[1:]), norm, *model.layers], name=model.name)
    inputs = keras.Input(shape=model.inputs[0].shape[1:])
    return keras.Model(inputs, model(norm(inputs)), name=f"{model.name}_normalized")


def apply_to_model(model, changes, x_train=None):
    """A new compiled model: ``model`` rebuilt with ``changes`` (model and compile changes; fit
    changes are ``apply_to_fit``'s). ``x_train`` adapts an input normalization. A subclassed
    model is not rebuilt but compiled again, itself, with the compile changes."""
    changes = list(changes)
    model_changes = [c for c in changes if c.kind in MODEL_KINDS]
    compile_changes = [c for c in changes if c.kind == "compile"]
    config = model.get_compile_config()
    if config is None:
        raise KerasDoctorError("repair rebuilds the model and compiles it again from its compile config, "
                               "but this model's compile settings do not serialize (get_compile_config() is None).")
    config = copy.deepcopy(config)
    new = model
    if model_changes:
        if not is_graph_model(model):
            raise KerasDoctorError(
                f"The model is subclassed ({type(model).__name__}): its layers are Python code, so repair can "
                "change only compile and FIT for it. Received: layer changes "
                + "; ".join(c.describe() for c in model_changes))
        model_changes = _renamed(model, model_changes)
        plan = _Plan(model_changes)
        missing = sorted({n for c in model_changes for n in c.target} - layer_names(model))
        if missing:
            raise KerasDoctorError(f"The model has no layer named {missing}. Received: {[c.describe() for c in model_changes]}")
        new = _rebuilt(model, plan)
        _copy_weights(model, new, {name for name, settings in plan.settings.items()
                                   if set(settings) - set(KEEPS_WEIGHTS)})
        if any(c.kind == "input" for c in model_changes):
            if x_train is None:
                raise KerasDoctorError("An input normalization is adapted on the training inputs: pass x_train.")
            new = _normalized(new, x_train)
    else:
        new = keras.models.clone_model(model) if is_graph_model(model) else model
        if new is not model:
            new.set_weights(model.get_weights())
    for change in compile_changes:
        _edit_compile(config, change.params)
    new.compile_from_config(config)
    return new


def _optimizer_config(config):
    optimizer = config["optimizer"]
    if isinstance(optimizer, str):
        optimizer = config["optimizer"] = keras.optimizers.serialize(keras.optimizers.get(optimizer))
    return optimizer["config"]


def _learning_rate(value):
    if isinstance(value, dict):  # a serialized schedule: its starting rate
        inner = value.get("config") or {}
        value = inner.get("initial_learning_rate", inner.get("learning_rate", 1e-3))
    return float(value)


def _loss(name, from_logits):
    class_name = LOSS_CLASSES.get(name) or "".join(part.capitalize() for part in name.split("_"))
    loss_class = getattr(keras.losses, class_name, None)
    if loss_class is None:
        raise KerasDoctorError(f"repair knows no Keras loss named {name!r}.")
    try:
        loss = loss_class(from_logits=bool(from_logits)) if from_logits is not None else loss_class()
    except TypeError:
        loss = loss_class()
    return keras.losses.serialize(loss)


def _edit_compile(config, settings):
    if "optimizer" in settings:
        rate = _learning_rate(_optimizer_config(config).get("learning_rate", 1e-3))
        config["optimizer"] = keras.optimizers.serialize(keras.optimizers.get(settings["optimizer"]))
        config["optimizer"]["config"]["learning_rate"] = rate
    optimizer = _optimizer_config(config)
    if "learning_rate" in settings:
        if settings["learning_rate"] == MEASURED:
            raise KerasDoctorError("The learning rate of this change is still to be measured (lr_find).")
        optimizer["learning_rate"] = float(settings["learning_rate"])
    if "learning_rate_scale" in settings:
        optimizer["learning_rate"] = _learning_rate(optimizer.get("learning_rate", 1e-3)) * float(settings["learning_rate_scale"])
    if "clipnorm" in settings:
        optimizer["clipnorm"] = float(settings["clipnorm"])
        optimizer.pop("global_clipnorm", None)
        optimizer.pop("clipvalue", None)
    if "loss" in settings or "from_logits" in settings:
        holder, key = config, "loss"
        if "output" in settings:  # one output's loss in a dict of losses
            holder, key = config.get("loss"), settings["output"]
            if not isinstance(holder, dict) or key not in holder:
                raise KerasDoctorError(f"The model has no loss for an output named {key!r}. Received: loss={holder!r}")
        current = holder[key]
        if "loss" not in settings and _from_logits(current) is not None:  # the same loss, its other settings kept
            current["config"]["from_logits"] = bool(settings["from_logits"])
            return
        name = settings.get("loss") or _loss_name(current)
        holder[key] = _loss(name, settings.get("from_logits", _from_logits(current)))


def _loss_name(serialized):
    if isinstance(serialized, str):
        return serialized
    if isinstance(serialized, dict):
        inner = serialized.get("config")
        if isinstance(inner, dict) and inner.get("name"):
            return inner["name"]
        if isinstance(inner, str):
            return inner
    raise KerasDoctorError(f"repair cannot read the model's loss to change it. Received: loss={serialized!r}")


def _from_logits(serialized):
    if isinstance(serialized, dict) and isinstance(serialized.get("config"), dict):
        return serialized["config"].get("from_logits")
    return None


# -- FIT and the workload ------------------------------------------------------------------------

def balanced_class_weight(y):
    """{class: weight} inversely proportional to the class counts (the 'balanced' heuristic)."""
    labels = np.asarray(y)
    if labels.ndim > 1 and labels.shape[-1] > 1:
        labels = labels.argmax(-1)
    labels = labels.reshape(-1).astype("int64")
    counts = np.bincount(labels)
    present = counts > 0
    weights = np.zeros(len(counts))
    weights[present] = len(labels) / (present.sum() * counts[present])
    return {int(c): float(weights[c]) for c in np.flatnonzero(present)}


def apply_to_fit(fit, changes, y_train=None):
    fit = dict(fit)
    for change in changes:
        if change.kind != "fit":
            continue
        for key, value in change.params.items():
            if key == "class_weight" and value == "balanced":
                if y_train is None:
                    raise KerasDoctorError("Balanced class weights are computed from the training labels: pass y_train.")
                fit["class_weight"] = balanced_class_weight(y_train)
            elif key == "early_stopping":
                if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
                    raise KerasDoctorError(f"early_stopping is a patience in epochs, a positive integer. Received: {value!r}")
                fit["callbacks"] = [*fit.get("callbacks", ()), early_stopping(value)]
            else:
                fit[key] = value
    return fit


def _training_arrays(data, seed=0):
    if data.is_pipeline:
        sample = data.sample("train", seed)
        return sample.x, sample.y
    return data.x_train, data.y_train


def apply(changes, workload):
    """A new ``Workload``: ``workload`` with ``changes``. The user's objects are never changed:
    each model is built by the user's ``build_model`` and rebuilt with the changes."""
    changes = list(changes)
    if any(c.measured for c in changes):
        raise KerasDoctorError("Changes with a setting still to be measured cannot be applied: "
                               + "; ".join(c.describe() for c in changes if c.measured))
    needs_data = any(c.kind == "input" or c.params.get("class_weight") == "balanced" for c in changes)
    cached = {}

    def training_arrays():
        if "arrays" not in cached:
            cached["arrays"] = _training_arrays(workload.load_data(0))
        return cached["arrays"]

    def build(*args):
        hp = args[0] if args else None
        model = workload.build_model(hp)
        x_train = training_arrays()[0] if any(c.kind == "input" for c in changes) else None
        return apply_to_model(model, changes, x_train)

    fit = workload.fit
    if any(c.kind == "fit" for c in changes):
        y_train = training_arrays()[1] if needs_data else None
        fit = apply_to_fit(workload.fit, changes, y_train)
    repaired = Workload(workload.path, name=workload.name, build=build, load=workload._load, fit=fit,
                        accepts_hp=workload.accepts_hp, data_path=workload.data_path, unsafe=workload.unsafe)
    repaired.load_data = workload.load_data  # the same data, split the same way
    repaired.changes = changes
    return repaired
