"""Cyclical learning rates (Smith, 2017), with tensorflow-addons' arguments and semantics."""

import keras
from keras import ops

from kerasdoctor.schedules.registry import register

MODES = {
    "triangular": ("cycle", lambda x, gamma: ops.ones_like(x)),
    "triangular2": ("cycle", lambda x, gamma: 1.0 / ops.power(2.0, x - 1.0)),
    "exp_range": ("iterations", lambda x, gamma: ops.power(gamma, x)),
}


@register
class CyclicalLearningRate(keras.optimizers.schedules.LearningRateSchedule):
    """A rate that cycles between two bounds, as `tfa.optimizers.CyclicalLearningRate` did.

        cycle = floor(1 + step / (2 * step_size))
        x = |step / step_size - 2 * cycle + 1|
        lr = initial + (maximal - initial) * max(0, 1 - x) * scale_fn(cycle or step)

    Args:
        initial_learning_rate: the lower bound.
        maximal_learning_rate: the upper bound.
        step_size: steps in half a cycle (the paper advises 2-10 epochs' worth).
        scale_fn: a function of the cycle number (or the step, with
            ``scale_mode="iterations"``) that scales the amplitude; as in
            tensorflow-addons. It must be a registered Keras serializable to
            save the schedule. Leave it None to use ``mode``.
        scale_mode: "cycle" or "iterations": what ``scale_fn`` receives.
        mode: "triangular" (constant amplitude), "triangular2" (halved each
            cycle) or "exp_range" (amplitude x gamma**step). Defaults to
            "triangular". Ignored when ``scale_fn`` is given.
        gamma: the base of "exp_range". Defaults to `1.0`.

    Reference: L. N. Smith, "Cyclical Learning Rates for Training Neural
    Networks", WACV 2017, https://arxiv.org/abs/1506.01186
    """

    def __init__(
        self,
        initial_learning_rate,
        maximal_learning_rate,
        step_size,
        scale_fn=None,
        scale_mode=None,
        mode="triangular",
        gamma=1.0,
        name="cyclical_learning_rate",
    ):
        if mode not in MODES:
            raise ValueError(f"Argument `mode` must be one of {sorted(MODES)}. Received: mode={mode!r}")
        if step_size <= 0:
            raise ValueError(f"Argument `step_size` must be positive. Received: step_size={step_size}")
        if scale_mode not in (None, "cycle", "iterations"):
            raise ValueError(f"Argument `scale_mode` must be 'cycle' or 'iterations'. Received: scale_mode={scale_mode!r}")
        self.initial_learning_rate, self.maximal_learning_rate = initial_learning_rate, maximal_learning_rate
        self.step_size, self.scale_fn, self.mode, self.gamma, self.name = step_size, scale_fn, mode, gamma, name
        self.scale_mode = scale_mode or (MODES[mode][0] if scale_fn is None else "cycle")

    def _scale(self, value):
        if self.scale_fn is not None:
            return self.scale_fn(value)
        return MODES[self.mode][1](value, self.gamma)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        cycle = ops.floor(1.0 + step / (2.0 * self.step_size))
        x = ops.abs(step / self.step_size - 2.0 * cycle + 1.0)
        scaled = self._scale(cycle if self.scale_mode == "cycle" else step)
        amplitude = self.maximal_learning_rate - self.initial_learning_rate
        return self.initial_learning_rate + amplitude * ops.maximum(0.0, 1.0 - x) * scaled

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "maximal_learning_rate": self.maximal_learning_rate,
            "step_size": self.step_size,
            "scale_fn": None if self.scale_fn is None else keras.saving.serialize_keras_object(self.scale_fn),
            "scale_mode": self.scale_mode,
            "mode": self.mode,
            "gamma": self.gamma,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if config.get("scale_fn") is not None:
            config["scale_fn"] = keras.saving.deserialize_keras_object(config["scale_fn"])
        return cls(**config)


# tensorflow-addons' three named variants, for migration. They return a
# CyclicalLearningRate, so they save and load as one.


def TriangularCyclicalLearningRate(initial_learning_rate, maximal_learning_rate, step_size, scale_mode="cycle", name="triangular_cyclical_learning_rate"):  # noqa: N802
    """`tfa.optimizers.TriangularCyclicalLearningRate`: constant amplitude."""
    return CyclicalLearningRate(initial_learning_rate, maximal_learning_rate, step_size, scale_mode=scale_mode, mode="triangular", name=name)


def Triangular2CyclicalLearningRate(initial_learning_rate, maximal_learning_rate, step_size, scale_mode="cycle", name="triangular2_cyclical_learning_rate"):  # noqa: N802
    """`tfa.optimizers.Triangular2CyclicalLearningRate`: the amplitude halves every cycle."""
    return CyclicalLearningRate(initial_learning_rate, maximal_learning_rate, step_size, scale_mode=scale_mode, mode="triangular2", name=name)


def ExponentialCyclicalLearningRate(initial_learning_rate, maximal_learning_rate, step_size, scale_mode="iterations", gamma=1.0, name="exponential_cyclical_learning_rate"):  # noqa: N802
    """`tfa.optimizers.ExponentialCyclicalLearningRate`: amplitude x gamma**step."""
    return CyclicalLearningRate(initial_learning_rate, maximal_learning_rate, step_size, scale_mode=scale_mode, mode="exp_range", gamma=gamma, name=name)
