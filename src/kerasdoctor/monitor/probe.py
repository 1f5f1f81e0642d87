"""The probe step: gradients, weights and activations on a fixed batch, without side effects.

Everything runs inside a ``keras.StatelessScope``: batch-norm statistics,
dropout seeds and metric states are read but never written, so probing
cannot change training. Only the gradient itself is backend-specific and
lives in ``_backends``.
"""

import logging

import keras
import numpy as np

from kerasdoctor import _backends
from kerasdoctor.monitor.describe import describe_layer, variable_names
from kerasdoctor.monitor.signals import activation_signals, variable_signals
from kerasdoctor.monitor.through_time import SequenceTap, find_recurrent
from kerasdoctor.vocabulary import SATURATING

logger = logging.getLogger(__name__)


def _saturation_kind(layer):
    """The saturating activation a layer applies, read as the model record reads it (through
    activation layers and wrappers); None for any other."""
    activation = describe_layer(layer)["activation"]
    return activation if activation in SATURATING else None


def _layer_output(layer):
    """The tensor a top-level layer returns in the model's graph, or None.

    Read through ``keras.Operation.output`` (the first call's output): a nested
    Functional model overrides ``output`` with the tensors of its own inner graph.
    Of several outputs (an LSTM's ``return_state``, attention scores) the first is
    the layer's output proper; one that is not a float tensor has no activation
    statistics.
    """
    try:
        output = keras.Operation.output.fget(layer)
    except (AttributeError, ValueError):
        return None
    if isinstance(output, (list, tuple)) and output:
        output = output[0]
    if keras.tree.is_nested(output) or "float" not in str(getattr(output, "dtype", None)):
        return None
    return output


def _probed_layers(model):
    """(graph, probed layers, None) for a graph model; (None, [], why activations are skipped) else.

    The graph returns the model's outputs, then the output of each top-level layer.
    """
    try:
        inputs, outputs = model.inputs, model.outputs
    except (AttributeError, ValueError):
        inputs = outputs = None
    if not inputs or not outputs:
        return None, [], "activations are skipped: the model is subclassed (no symbolic graph)"
    layers = [(layer, _layer_output(layer)) for layer in model.layers if type(layer).__name__ != "InputLayer"]
    layers = [(layer, output) for layer, output in layers if output is not None]
    try:
        graph = keras.Model(inputs, list(outputs) + [output for _, output in layers])
    except (ValueError, TypeError, AttributeError) as error:  # e.g. a layer first called in another model
        lines = str(error).strip().splitlines() or [""]
        return None, [], ("activations are skipped: the outputs of the model's layers do not form one graph "
                          f"with its inputs (a layer first called in another model?): {lines[0]}")
    return graph, [layer for layer, _ in layers], None


def _output_structure(model):
    """The structure of what the model's call returns (a dict of named heads stays a dict)."""
    outputs = model.outputs
    try:
        structure = model.output  # a Functional model's own structure
    except (AttributeError, ValueError):
        structure = None
    if structure is None or len(keras.tree.flatten(structure)) != len(outputs):
        return outputs[0] if len(outputs) == 1 else list(outputs)
    return structure


class ProbeProgram:
    """Loss, per-variable and per-layer signals for one model and one probe batch."""

    def __init__(self, model, x, y):
        self.model = model
        self.trainable = list(model.trainable_variables)
        self.non_trainable = list(model.non_trainable_variables)
        self.graph, self.layers, self.skipped = _probed_layers(model)
        self.kinds = [_saturation_kind(layer) for layer in self.layers]
        self.num_outputs = len(model.outputs) if self.graph is not None else 0
        self.output_structure = _output_structure(model) if self.graph is not None else None
        self.names = variable_names(model)
        self.tap = self._sequence_tap(x)
        self.x = keras.tree.map_structure(_backends.to_device, x)
        self.y = keras.tree.map_structure(_backends.to_device, y)
        self._step = self._first = self.step_seconds = None

    def _sequence_tap(self, x):
        """The through-time tap of a graph model with a recurrent layer, else None."""
        found = find_recurrent(self.model) if self.graph is not None else None
        if found is None:
            return None
        outputs = list(self.model.outputs) + [_layer_output(layer) for layer in self.layers]
        try:
            return SequenceTap(self.model.inputs, outputs, found, x)
        except (ValueError, TypeError, AttributeError, KeyError) as error:
            lines = str(error).strip().splitlines() or [""]
            self.skipped = f"the gradient through time of {found[0].name} is skipped: {lines[0]}"
            return None

    @property
    def sequence_zeros(self):
        """What the backends differentiate besides the weights: [] without a recurrent layer."""
        return [] if self.tap is None else self.tap.zeros

    def snapshot(self):
        """Copies of the current (trainable, non-trainable) values."""
        return _backends.snapshot(self.trainable), _backends.snapshot(self.non_trainable)

    def compile(self, state):
        """Compiles the probe step for values shaped like ``state`` (may take seconds). Where the
        backend runs it while compiling (JAX: the first run also sets up its kernels), the probe
        of ``state`` itself reads that run, and ``step_seconds`` is what a later run of the
        step takes (else None)."""
        trainable, non_trainable = state
        example = (trainable, non_trainable, self.sequence_zeros, self.x, self.y)
        self._step, outputs, self.step_seconds = _backends.compile_probe(self, example)
        self._first = None if outputs is None else (state, outputs)

    def loss_and_activations(self, trainable_values, non_trainable_values, sequence_zeros, x, y):
        mapping = list(zip(self.trainable, trainable_values))
        mapping += list(zip(self.non_trainable, non_trainable_values))
        # compute_loss updates the loss trackers (one per output of a multi-output model); they
        # are given stand-in zeros, so they are never read, even before training has set them.
        mapped = {id(variable) for variable, _ in mapping}
        mapping += [(v, keras.ops.zeros(v.shape, v.dtype)) for v in self.model.metrics_variables
                    if id(v) not in mapped]
        # collect_losses: add_loss and activity-regularizer terms count, as in training.
        with keras.StatelessScope(state_mapping=mapping, collect_losses=True):
            if self.graph is None:
                y_pred, activations = self.model(x, training=True), []
            else:
                outputs = self.graph(x, training=True) if self.tap is None else self.tap(x, sequence_zeros)
                # compute_loss gets y_pred as training gives it: a user's own
                # compute_loss may read a head by name.
                y_pred = keras.tree.pack_sequence_as(self.output_structure, outputs[: self.num_outputs])
                activations = outputs[self.num_outputs :]
            loss = self.model.compute_loss(x=x, y=y, y_pred=y_pred, training=True)
        return loss, activations

    def run(self, previous, state=None):
        """Probes ``state`` (default: the current values) and returns signal rows.

        Returns (loss, {variable name: row}, {layer name: row}, weights as NumPy, the
        gradient through time or None); a variable's name is its path unless another
        shares it (``variable_names``).
        ``previous`` holds the weights of the last probe, for the update ratio.
        """
        state = state if state is not None else (
            _backends.current(self.trainable), _backends.current(self.non_trainable))
        return self.finish(previous, self.start(state))

    def start(self, state=None):
        """Starts a probe of ``state`` (default: a copy of the current values) and returns its
        handle for ``finish``. Where the backend dispatches asynchronously (JAX), this returns
        before the probe has run, and training may go on meanwhile: the default is a copy
        because the next training step may reuse the current values' memory."""
        first, self._first = self._first, None
        if first is not None and state is first[0]:
            return state[0], first[1]
        trainable, non_trainable = state if state is not None else self.snapshot()
        return trainable, self._step(trainable, non_trainable, self.sequence_zeros, self.x, self.y)

    @staticmethod
    def ready(handle):
        """Whether the probe started as ``handle`` has run (``finish`` would not wait)."""
        return _backends.is_ready(handle[1][0])

    def finish(self, previous, handle):
        """The signal rows of the probe started as ``handle`` (see ``run``)."""
        trainable, (loss, gradients, activations, sequence) = handle
        weights = [np.asarray(keras.ops.convert_to_numpy(w)) for w in trainable]
        gradients = [keras.ops.convert_to_numpy(g) for g in gradients]
        previous = weights if previous is None else previous
        variables = {
            name: variable_signals(g, w, p)
            for name, g, w, p in zip(self.names, gradients, weights, previous)
        }
        layers = {
            layer.name: activation_signals(keras.ops.convert_to_numpy(a), kind)
            for layer, a, kind in zip(self.layers, activations, self.kinds)
        }
        through_time = None if self.tap is None else self.tap.row(sequence)
        return float(keras.ops.convert_to_numpy(loss)), variables, layers, weights, through_time
