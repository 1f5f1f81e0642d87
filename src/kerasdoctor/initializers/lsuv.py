"""LSUV: layer-sequential unit-variance initialization (Mishkin & Matas, 2016)."""

import logging

import keras
import numpy as np

from kerasdoctor.vocabulary import CONV_LAYERS, DENSE_LAYERS, KERNEL_LAYERS

logger = logging.getLogger(__name__)


def _has_kernel(layer):
    return hasattr(layer, "kernel") and type(layer).__name__ in DENSE_LAYERS + CONV_LAYERS


def _probe_inputs(inputs, x_batch):
    """The model's inputs in the structure of ``x_batch``: one tensor for a plain array, so that
    calling the probe does not make Keras warn that a one-input list got a bare tensor."""
    if len(inputs) == 1 and not isinstance(x_batch, (list, tuple, dict)):
        return inputs[0]
    return inputs


def _pre_activation_variance(probe, layer, x_batch):
    # The paper scales the output of each conv/fc layer, before its nonlinearity:
    # the layer's activation is set to linear for the measurement only.
    activation = layer.activation
    layer.activation = keras.activations.linear
    try:
        output = keras.ops.convert_to_numpy(probe(x_batch, training=False))
    finally:
        layer.activation = activation
    return float(np.var(output))


def lsuv(model, x_batch, *, tol=0.1, max_iterations=10, seed=None):
    """Initializes a built model's Dense and Conv kernels with LSUV, in place.

    1. Every kernel is drawn orthonormal. 2. Layer by layer, from the input on,
    the kernel is divided by the standard deviation of that layer's output on
    ``x_batch`` until the variance is within ``tol`` of 1 (at most
    ``max_iterations`` times).

    Args:
        model: a built Sequential or Functional model.
        x_batch: a batch of training inputs (a few hundred samples suffice).
        tol: accepted distance of the output variance from 1.
        max_iterations: rescalings per layer.
        seed: for the orthonormal draw.

    Returns: ``{layer name: output variance reached}``.

    Reference: D. Mishkin, J. Matas, "All you need is a good init", ICLR 2016,
    https://arxiv.org/abs/1511.06422
    """
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        inputs = None
    if not inputs:
        raise ValueError(
            "lsuv() needs a built Sequential or Functional model (a subclassed model has no "
            f"layer outputs to measure). Received: a model of type {type(model).__name__}"
        )
    layers = [layer for layer in model.layers if _has_kernel(layer)]
    skipped = [l.name for l in model.layers if type(l).__name__ in KERNEL_LAYERS and not _has_kernel(l)]
    if skipped:
        logger.warning("LSUV initializes Dense and Conv layers only; these keep their initializer: %s",
                       ", ".join(skipped))
    if not layers:
        raise ValueError("lsuv() found no Dense or Conv layer to initialize.")
    reached = {}
    for index, layer in enumerate(layers):
        orthogonal = keras.initializers.Orthogonal(seed=None if seed is None else seed + index)
        layer.kernel.assign(orthogonal(layer.kernel.shape, dtype=layer.kernel.dtype))
    for layer in layers:
        probe = keras.Model(_probe_inputs(inputs, x_batch), layer.output)
        variance = _pre_activation_variance(probe, layer, x_batch)
        for _ in range(max_iterations):
            if abs(variance - 1.0) < tol or variance <= 0 or not np.isfinite(variance):
                break
            layer.kernel.assign(layer.kernel / np.sqrt(variance))
            variance = _pre_activation_variance(probe, layer, x_batch)
        reached[layer.name] = variance
        logger.info("LSUV: %s output variance %.3f", layer.name, variance)
    return reached
