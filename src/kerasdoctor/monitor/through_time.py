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
    """The norm of the gradient at the first, middle and last time steps of the sequence.

    A step that gets no gradient at all in a row is padding under a mask (a masked recurrent
    layer carries its state past it, so nothing flows back to it): each row is read from its
    first to its last step that gets any, so that pre- or post-padded sequences are judged on
    their own steps. ``steps`` are then the median steps read and ``unreached_rows`` the rows
    with such steps. A gradient that vanished so far that it underflowed to zero moves the
    first step read to the earliest one it still reaches, where it is as small as a float gets.
    """
    gradient = np.asarray(gradient, dtype="float64")
    length = gradient.shape[1]
    per_row = np.sqrt(np.sum(np.square(gradient), axis=tuple(range(2, gradient.ndim))))  # (rows, steps)
    reached = per_row > 0
    rows = np.flatnonzero(reached.any(axis=1))
    if rows.size == 0:  # no gradient anywhere: the plain ends, all zero
        rows, first, last = np.arange(per_row.shape[0]), np.zeros(per_row.shape[0], int), None
    else:
        first = reached[rows].argmax(axis=1)
        last = length - 1 - reached[rows][:, ::-1].argmax(axis=1)
    last = np.full(rows.size, length - 1) if last is None else last
    read = [first, first + (last - first + 1) // 2, last]
    unreached = int(np.sum((first > 0) | (last < length - 1)))
    norms = [float(np.sqrt(np.sum(np.square(per_row[rows, steps])))) for steps in read]
    steps = [int(np.median(s)) for s in read] if unreached else [0, length // 2, length - 1]
    row = {"layer": layer.name, "recurrent": recurrent, "reads": order, "length": int(length), "steps": steps,
           "grad_norms": norms}
    if unreached:
        row["unreached_rows"] = unreached
    return row


class SequenceTap:
    """Adds a zero to the input sequence of a model's first recurrent layer, so that the
    gradient with respect to that zero is the loss's gradient through time
    (``gradient_row``); the model computes what it computes without it.

    Past the model's inputs, the graph is cut at the sequence: a prefix computes it, and
    the rest of the graph takes it as one more input. The rest returns each tensor once (a
    tensor both input and output, or twice an output, would be copied by Keras outside the
    graph); an output that is the sequence itself is handed back from the prefix. Layers
    before the sequence that another path also needs run in both parts.
    """

    def __init__(self, inputs, outputs, found, x):
        self.layer, sequence, self.recurrent, self.order = found
        self.inputs = list(inputs)
        self.position = next((i for i, tensor in enumerate(inputs) if tensor is sequence), None)
        distinct = list({id(output): output for output in outputs if output is not sequence}.values())
        # Where each output is found: -1 for the sequence, else its place in the rest's outputs.
        self.places = [-1 if output is sequence else next(i for i, d in enumerate(distinct) if d is output)
                       for output in outputs]
        if self.position is None:
            self.prefix = keras.Model(self.inputs, sequence)
            self.rest = keras.Model(self.inputs + [sequence], distinct)
            specs = [keras.KerasTensor(a.shape, a.dtype) for a in self._flat(x)]
            shape = self.prefix.compute_output_spec(specs).shape
        else:
            self.prefix, self.rest = None, keras.Model(self.inputs, distinct)
            shape = self._flat(x)[self.position].shape
        self.zeros = [keras.ops.zeros(shape, dtype=sequence.dtype)]

    def _flat(self, x):
        """``x`` as the list of the model's inputs, in order (a dict is read by input name)."""
        if isinstance(x, dict):
            return [x[tensor.name] for tensor in self.inputs]
        return list(x) if isinstance(x, (list, tuple)) else [x]

    def __call__(self, x, zeros):
        inputs = self._flat(x)
        if self.prefix is None:
            inputs[self.position] = inputs[self.position] + zeros[0]
            sequence, rest = None, self.rest(inputs, training=True)
        else:
            sequence = self.prefix(inputs, training=True)
            rest = self.rest(inputs + [sequence + zeros[0]], training=True)
        rest = keras.tree.flatten(rest)
        return [sequence if place < 0 else rest[place] for place in self.places]

    def row(self, gradients):
        return gradient_row(keras.ops.convert_to_numpy(gradients[0]), self.layer, self.recurrent, self.order)
