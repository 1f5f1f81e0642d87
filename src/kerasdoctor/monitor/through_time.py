"""How the loss's gradient reaches back through time in a recurrent model.

A recurrent layer reads its input sequence one step at a time, so the gradient that
reaches step t has passed through one recurrent Jacobian per later step. In a plain
tanh RNN that product shrinks geometrically (Bengio et al., 1994; Pascanu et al., 2013)
and the first steps get almost no gradient; a gated layer (LSTM, GRU) keeps it.

The probe measures it at the input sequence of the first top-level layer that holds a
recurrent layer (the layer itself, a Bidirectional wrapper, or a nested model; not a
TimeDistributed one, whose time axis is another): the gradient of the loss with respect
to that sequence, taken as the gradient with respect to a zero added to it, so the loss,
the weights' gradients and the activations are those of the plain model. The first recurrent layer is where a long-range dependency in the
data enters the model; later ones read its outputs.
"""

import keras
import numpy as np

from kerasdoctor.vocabulary import RECURRENT_LAYERS

FORWARD, BACKWARD, BOTH = "forward", "backward", "both"


def _inner(layer):
    if isinstance(layer, keras.Model):
        return [inner for inner in layer.layers if type(inner).__name__ != "InputLayer"]
    inner = getattr(layer, "forward_layer", None) or getattr(layer, "layer", None)
    return [inner] if isinstance(inner, keras.layers.Layer) else []


def _recurrent(layer):
    """(the first recurrent layer in ``layer``, itself included; the order it reads its
    sequence in), or None when it holds no recurrent layer."""
    kind = type(layer).__name__
    if kind == "TimeDistributed":
        return None  # its recurrent layer reads the second axis past the batch, not the first
    if kind == "Bidirectional":
        inner = _recurrent(layer.forward_layer)
        return (inner[0] if inner else layer), BOTH
    if kind in RECURRENT_LAYERS:
        return layer, BACKWARD if getattr(layer, "go_backwards", False) else FORWARD
    for inner in _inner(layer):
        found = _recurrent(inner)
        if found is not None:
            return found
    return None


def _sequence_input(layer):
    """The float sequence (batch, time, ...) a top-level layer was first called on, or None."""
    try:
        inputs = keras.Operation.input.fget(layer)
    except (AttributeError, ValueError):
        return None
    for tensor in keras.tree.flatten(inputs):
        if len(tensor.shape) >= 3 and "float" in str(tensor.dtype):
            return tensor
    return None


def find_recurrent(model):
    """(top-level layer, its input sequence, the recurrent layer's class and reading order) for
    the first top-level layer of a graph model that holds a recurrent layer; None without one."""
    for layer in model.layers:
        found = _recurrent(layer)
        if found is not None:
            sequence = _sequence_input(layer)
            return None if sequence is None else (layer, sequence, type(found[0]).__name__, found[1])
    return None


def gradient_row(gradient, layer, recurrent, order):
    """The norm of the gradient at the first, middle and last time steps of the sequence."""
    gradient = np.asarray(gradient, dtype="float64")
    length = gradient.shape[1]
    steps = [0, length // 2, length - 1]
    per_step = np.sqrt(np.sum(np.square(gradient), axis=tuple(a for a in range(gradient.ndim) if a != 1)))
    return {
        "layer": layer.name, "recurrent": recurrent, "reads": order, "length": int(length), "steps": steps,
        "grad_norms": [float(per_step[step]) for step in steps],
    }
