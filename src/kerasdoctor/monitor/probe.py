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
from kerasdoctor.monitor.describe import describe_layer
from kerasdoctor.monitor.signals import activation_signals, variable_signals
from kerasdoctor.vocabulary import SATURATING

logger = logging.getLogger(__name__)


def _saturation_kind(layer):
    """The saturating activation a layer applies, read as the model record reads it (through
    activation layers and wrappers); None for any other."""
    activation = describe_layer(layer)["activation"]
    return activation if activation in SATURATING else None


def _probed_layers(model):
    """Top-level layers with one float tensor output, for a graph model; else ([], reason)."""
    try:
        inputs, outputs = model.inputs, model.outputs
    except (AttributeError, ValueError):
        inputs = outputs = None
    if not inputs or not outputs:
        return None, [], "activations are skipped: the model is subclassed (no symbolic graph)"
    layers = []
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        try:
            output = layer.output
        except (AttributeError, ValueError):
            continue
        if keras.tree.is_nested(output) or "float" not in str(output.dtype):
            continue
        layers.append((layer, output))
    graph = keras.Model(inputs, list(outputs) + [out for _, out in layers])
    return graph, [layer for layer, _ in layers], None


class ProbeProgram:
    """Loss, per-variable and per-layer signals for one model and one probe batch."""

    def __init__(self, model, x, y):
        self.model = model
        self.trainable = list(model.trainable_variables)
        self.non_trainable = list(model.non_trainable_variables)
        self.graph, self.layers, self.skipped = _probed_layers(model)
        self.kinds = [_saturation_kind(layer) for layer in self.layers]
        self.num_outputs = len(model.outputs) if self.graph is not None else 0
        self.x = keras.tree.map_structure(keras.ops.convert_to_tensor, x)
        self.y = keras.tree.map_structure(keras.ops.convert_to_tensor, y)
        self._step = None

    def snapshot(self):
        """Copies of the current (trainable, non-trainable) values."""
        return _backends.snapshot(self.trainable), _backends.snapshot(self.non_trainable)

    def compile(self, state):
        """Compiles the probe step for values shaped like ``state`` (may take seconds)."""
        trainable, non_trainable = state
        self._step = _backends.compile_probe(self, (trainable, non_trainable, self.x, self.y))

    def loss_and_activations(self, trainable_values, non_trainable_values, x, y):
        mapping = list(zip(self.trainable, trainable_values))
        mapping += list(zip(self.non_trainable, non_trainable_values))
        # collect_losses: add_loss and activity-regularizer terms count, as in training.
        with keras.StatelessScope(state_mapping=mapping, collect_losses=True):
            if self.graph is None:
                y_pred, activations = self.model(x, training=True), []
            else:
                outputs = self.graph(x, training=True)
                y_pred = outputs[: self.num_outputs]
                y_pred = y_pred[0] if self.num_outputs == 1 else y_pred
                activations = outputs[self.num_outputs :]
            loss = self.model.compute_loss(x=x, y=y, y_pred=y_pred, training=True)
        return loss, activations

    def run(self, previous, state=None):
        """Probes ``state`` (default: the current values) and returns signal rows.

        Returns (loss, {variable path: row}, {layer name: row}, weights as NumPy).
        ``previous`` holds the weights of the last probe, for the update ratio.
        """
        trainable, non_trainable = state if state is not None else self.snapshot()
        loss, gradients, activations = self._step(trainable, non_trainable, self.x, self.y)
        weights = [np.asarray(keras.ops.convert_to_numpy(w)) for w in trainable]
        gradients = [keras.ops.convert_to_numpy(g) for g in gradients]
        previous = weights if previous is None else previous
        variables = {
            v.path: variable_signals(g, w, p)
            for v, g, w, p in zip(self.trainable, gradients, weights, previous)
        }
        layers = {
            layer.name: activation_signals(keras.ops.convert_to_numpy(a), kind)
            for layer, a, kind in zip(self.layers, activations, self.kinds)
        }
        return float(keras.ops.convert_to_numpy(loss)), variables, layers, weights
