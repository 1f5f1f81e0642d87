"""Static facts about a compiled model: layers, activations, initializers, loss, optimizer."""

import keras
import numpy as np


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


def describe_layer(layer):
    try:
        config = layer.get_config()
    except (NotImplementedError, TypeError):
        config = {}
    return {
        "name": layer.name,
        "class_name": type(layer).__name__,
        "activation": _name_of(config.get("activation")),
        "kernel_initializer": _initializer(config.get("kernel_initializer")),
        "bias_initializer": _initializer(config.get("bias_initializer")),
        "use_bias": config.get("use_bias"),
        "units": config.get("units", config.get("filters")),
        "params": _count(layer.weights),
        "trainable": bool(layer.trainable),
        "output_shape": _output_shape(layer),
        "variables": [v.path for v in layer.trainable_variables],
    }


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


def describe_model(model):
    layers = [
        describe_layer(layer)
        for layer in model.layers
        if type(layer).__name__ != "InputLayer"
    ]
    output_activation = None
    for layer in reversed(layers):
        if layer["activation"] is not None:
            output_activation = layer["activation"]
            break
        if layer["class_name"] not in ("Dropout", "Flatten", "Reshape"):
            break
    return {
        "name": model.name,
        "class_name": type(model).__name__,
        "layers": layers,
        "params": _count(model.weights),
        "trainable_params": _count(model.trainable_weights),
        "loss": describe_loss(getattr(model, "loss", None)),
        "optimizer": describe_optimizer(getattr(model, "optimizer", None)),
        "output_activation": output_activation,
        "output_shape": _output_shape(model) if hasattr(model, "output") else None,
    }
