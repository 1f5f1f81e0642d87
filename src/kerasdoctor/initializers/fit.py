"""Variance-scaling initializers that fit each layer's activation."""

import logging

import keras

from kerasdoctor.vocabulary import ACTIVATION_LAYERS, GLOROT_FAMILY, KERNEL_LAYERS, RELU_FAMILY, SELU_FAMILY, activation_of

logger = logging.getLogger(__name__)


def for_activation(activation, *, distribution="normal", seed=None):
    """The initializer that keeps the variance of activations steady through ``activation``.

    He for the ReLU family (He et al., 2015), LeCun for SELU (Klambauer et al.,
    2017), Glorot for tanh, sigmoid and linear (Glorot & Bengio, 2010).
    """
    if distribution not in ("normal", "uniform"):
        raise ValueError(f"Argument `distribution` must be 'normal' or 'uniform'. Received: distribution={distribution!r}")
    name = activation if isinstance(activation, str) or activation is None else getattr(activation, "__name__", None)
    if name in RELU_FAMILY:
        family = "He"
    elif name in SELU_FAMILY:
        family = "Lecun"
    elif name in GLOROT_FAMILY:
        family = "Glorot"
    else:
        known = sorted(set(RELU_FAMILY + SELU_FAMILY + GLOROT_FAMILY) - {None})
        raise ValueError(f"No rule for the activation {name!r}. Known: {known}.")
    return getattr(keras.initializers, f"{family}{distribution.capitalize()}")(seed=seed)


def _activation_name(layer):
    return activation_of(type(layer).__name__, layer.get_config() if hasattr(layer, "get_config") else {})


def _effective_activations(model):
    """(layer, activation) for layers with a kernel; a linear layer followed by an
    Activation layer takes that layer's activation."""
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    pairs = []
    for index, layer in enumerate(layers):
        if not hasattr(layer, "kernel"):
            continue
        activation = _activation_name(layer)
        if activation in (None, "linear") and index + 1 < len(layers):
            following = layers[index + 1]
            if type(following).__name__ in ("Activation",) + tuple(ACTIVATION_LAYERS):
                activation = _activation_name(following)
        pairs.append((layer, activation))
    return pairs


def fit_initializers(model, *, distribution="normal", seed=None):
    """Re-draws every kernel of a built model with ``for_activation`` of its layer.

    Changes the model's weights in place (biases are left alone) and returns
    ``{layer name: initializer class name}``.
    """
    chosen = {}
    skipped = [l.name for l in model.layers if type(l).__name__ in KERNEL_LAYERS and not hasattr(l, "kernel")]
    if skipped:
        logger.warning("fit_initializers draws layers with one kernel only; these keep their initializer: %s",
                       ", ".join(skipped))
    for index, (layer, activation) in enumerate(_effective_activations(model)):
        layer_seed = None if seed is None else seed + index
        initializer = for_activation(activation, distribution=distribution, seed=layer_seed)
        layer.kernel.assign(initializer(layer.kernel.shape, dtype=layer.kernel.dtype))
        chosen[layer.name] = type(initializer).__name__
    return chosen
