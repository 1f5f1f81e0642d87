"""Static facts about a compiled model: layers, activations, initializers, loss, optimizer."""

import collections
import logging

import keras
import numpy as np

from kerasdoctor.vocabulary import ACTIVATION_LAYERS, PASSTHROUGH_LAYERS, activation_of

logger = logging.getLogger(__name__)
_REPORTED = set()  # layer classes whose failing get_config was already logged


def _name_of(serialized):
    """The readable name of a serialized activation/initializer/loss config."""
    if serialized is None:
        return None
    if isinstance(serialized, str):
        return serialized
    if isinstance(serialized, dict):
        inner = serialized.get("config")
        if isinstance(inner, str):
            return inner
        return serialized.get("class_name")
    return getattr(serialized, "__name__", type(serialized).__name__)


def _initializer(serialized):
    if serialized is None:
        return None
    if isinstance(serialized, dict):
        return {"name": serialized.get("class_name"), "config": serialized.get("config") or {}}
    return {"name": _name_of(serialized), "config": {}}


def _output_shape(layer):
    try:
        shape = layer.output.shape
    except (AttributeError, ValueError):
        return None
    return [None if d is None else int(d) for d in shape]


def _count(variables):
    return int(sum(int(np.prod(v.shape)) for v in variables))


def _config(layer):
    """(config, None), or ({}, a note) when the layer's get_config fails: logged once per class."""
    try:
        return layer.get_config(), None
    except Exception as error:  # a custom layer's get_config may raise anything
        note = (f"layer {layer.name} ({type(layer).__name__}): get_config failed ({type(error).__name__}: "
                f"{error}); its activation and initializers are not read")
        if type(layer).__name__ not in _REPORTED:
            _REPORTED.add(type(layer).__name__)
            logger.warning(note)
        return {}, note


def variable_names(model):
    """The names under which the model's trainable variables are recorded, in their order.

    A variable's path, except where two variables share one (two nested models that each
    hold a layer of the same name): those are prefixed with the top-level layer that holds
    them, and numbered if that still leaves them alike.
    """
    variables = model.trainable_variables
    repeated = {path for path, count in collections.Counter(v.path for v in variables).items() if count > 1}
    holders = {}
    for layer in model.layers if repeated else []:
        for variable in layer.trainable_variables:
            holders.setdefault(id(variable), layer.name)
    names, taken = [], set()
    for variable in variables:
        name = variable.path
        if name in repeated and id(variable) in holders:
            name = f"{holders[id(variable)]}/{name}"
        unique, number = name, 1
        while unique in taken:
            number += 1
            unique = f"{name}#{number}"
        names.append(unique)
        taken.add(unique)
    return names


def describe_layer(layer, names=None):
    """The static facts of one layer; ``names`` maps id(variable) to its recorded name."""
    names = names or {}
    config, note = _config(layer)
    inner = _inner(layer) if not isinstance(layer, keras.Model) else None
    if inner and not note:  # a wrapper: its settings are the wrapped layer's
        config, note = _config(inner[0])
    record = {
        "name": layer.name,
        "class_name": type(layer).__name__,
        "activation": _name_of(activation_of(type(inner[0] if inner else layer).__name__, config)),
        "kernel_initializer": _initializer(config.get("kernel_initializer")),
        "bias_initializer": _initializer(config.get("bias_initializer")),
        "use_bias": config.get("use_bias"),
        "units": config.get("units", config.get("filters")),
        "params": _count(layer.weights),
        "trainable": bool(layer.trainable),
        "output_shape": _output_shape(layer),
        "variables": [names.get(id(v), v.path) for v in layer.trainable_variables],
    }
    if note:
        record["note"] = note
    return record


def describe_loss(loss):
    if loss is None:
        return None
    if isinstance(loss, str):
        return {"name": loss, "config": {}}
    if isinstance(loss, keras.losses.Loss):
        return {"name": type(loss).__name__, "config": loss.get_config()}
    if isinstance(loss, (list, tuple)):
        return {"name": "multiple", "outputs": [describe_loss(item) for item in loss]}
    if isinstance(loss, dict):
        return {"name": "multiple", "outputs": {k: describe_loss(v) for k, v in loss.items()}}
    return {"name": getattr(loss, "__name__", type(loss).__name__), "config": {}}


def describe_optimizer(optimizer):
    if optimizer is None:
        return None
    try:
        config = optimizer.get_config()
    except (NotImplementedError, TypeError):
        config = {}
    return {"name": type(optimizer).__name__, "config": config}


def _inner(layer):
    """The layers of a nested model, or the layer a wrapper (TimeDistributed, Bidirectional)
    applies, in order; None for any other layer."""
    if isinstance(layer, keras.Model):
        return [l for l in layer.layers if type(l).__name__ != "InputLayer"]
    inner = getattr(layer, "forward_layer", None) or getattr(layer, "layer", None)
    return [inner] if isinstance(inner, keras.layers.Layer) else None


def _has_graph(model):
    try:
        return bool(model.inputs)
    except (AttributeError, ValueError):
        return False


def output_activation(model):
    """(the activation of the model's output, a note or None).

    Walks back from the last layer through layers that pass values through (Dropout,
    Flatten, ...), into wrappers and nested models; an activation layer (Activation,
    Softmax, ReLU, ...) after a linear one is the output's activation. The activation is
    None with a note when a layer's config cannot be read.
    """
    pending = [model]
    while pending:
        layer = pending.pop()
        if isinstance(layer, keras.Model) and not _has_graph(layer):
            return None, (f"{layer.name} is a subclassed model: the order of its layers is not the order "
                          "of its call, so its output activation is not judged")
        inner = _inner(layer)
        if inner is not None:
            pending.extend(inner)
            continue
        config, note = _config(layer)
        if note:
            return None, note
        name = type(layer).__name__
        if name in PASSTHROUGH_LAYERS:
            continue
        if "activation" in config or name in ACTIVATION_LAYERS:
            return _name_of(activation_of(name, config)), None
        if type(layer).__module__.startswith("keras.") and name != "Lambda":
            return None, None  # a Keras layer without an activation setting is linear
        return None, (f"the output layer {layer.name} ({name}) does not say which activation it "
                      "applies; the output activation is not judged")
    return None, None


def describe_model(model):
    names = dict(zip((id(v) for v in model.trainable_variables), variable_names(model)))
    layers = [
        describe_layer(layer, names)
        for layer in model.layers
        if type(layer).__name__ != "InputLayer"
    ]
    activation, note = output_activation(model)
    notes = [layer["note"] for layer in layers if "note" in layer]
    if note and note not in notes:
        notes.append(note)
    record = {
        "name": model.name,
        "class_name": type(model).__name__,
        "layers": layers,
        "params": _count(model.weights),
        "trainable_params": _count(model.trainable_weights),
        "loss": describe_loss(getattr(model, "loss", None)),
        "optimizer": describe_optimizer(getattr(model, "optimizer", None)),
        "output_activation": activation,
        "output_shape": _output_shape(model) if hasattr(model, "output") else None,
    }
    output_names = _output_names(model)
    if output_names:
        record["output_names"] = output_names
    if note:
        record["output_activation_known"] = False
    if notes:
        record["notes"] = notes
    return record


def _output_names(model):
    """The names of a graph model's outputs, in the order of its outputs (a list of losses or of
    targets follows it); None when there is one output or the model does not say."""
    try:
        names = list(getattr(model, "output_names", None) or [])
    except Exception:  # noqa: BLE001 - a subclassed model without a graph: none
        return None
    return [str(name) for name in names] if len(names) > 1 else None


CALLBACK_SETTINGS = ("monitor", "mode", "patience", "min_delta", "restore_best_weights", "factor", "start_from_epoch")


def describe_callbacks(callbacks):
    """[{"class_name", and the settings that say how it acts on training}] of ``fit``'s callbacks,
    for the run record (EarlyStopping: what it watches, its patience, whether it restores)."""
    described = []
    for callback in callbacks or ():
        record = {"class_name": type(callback).__name__}
        for name in CALLBACK_SETTINGS:
            value = getattr(callback, name, None)
            if isinstance(value, (bool, int, float, str)):
                record[name] = value
        described.append(record)
    return described
