"""The one-cycle learning-rate policy (Smith & Topin, 2018), with fastai's defaults."""

import math

import keras
from keras import ops

from kerasdoctor.schedules.registry import register


def _anneal(start, end, fraction, strategy):
    if strategy == "cos":
        # (1 + cos(pi f)) / 2 written as cos^2(pi f / 2): no cancellation near f = 1 in float32.
        return end + (start - end) * ops.square(ops.cos(math.pi / 2.0 * fraction))
    return start + (end - start) * fraction


@register
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """Warm up from ``max/div_factor`` to ``max_learning_rate``, then anneal far below.

    The first ``pct_start * total_steps`` steps go up, the rest go down to
    ``max_learning_rate / (div_factor * final_div_factor)``; past
    ``total_steps`` the rate stays there.

    Args:
        max_learning_rate: the peak rate (a learning-rate range test finds it).
        total_steps: epochs x steps per epoch of the run.
        pct_start: share of the steps spent warming up. Defaults to `0.25`.
        div_factor: initial rate = max / div_factor. Defaults to `25`.
        final_div_factor: final rate = initial / final_div_factor. Defaults to `1e4`.
        anneal_strategy: "cos" (default) or "linear".

    Reference: L. N. Smith, N. Topin, "Super-Convergence: Very Fast Training of
    Neural Networks Using Large Learning Rates", 2018, https://arxiv.org/abs/1708.07120;
    defaults as fastai's `fit_one_cycle`.
    """

    def __init__(
        self,
        max_learning_rate,
        total_steps,
        pct_start=0.25,
        div_factor=25.0,
        final_div_factor=1e4,
        anneal_strategy="cos",
        name="one_cycle",
    ):
        if max_learning_rate <= 0:
            raise ValueError(f"Argument `max_learning_rate` must be positive. Received: max_learning_rate={max_learning_rate}")
        if not isinstance(total_steps, int) or total_steps < 2:
            raise ValueError(f"Argument `total_steps` must be an integer >= 2. Received: total_steps={total_steps}")
        if not 0.0 < pct_start < 1.0:
            raise ValueError(f"Argument `pct_start` must be in the (0, 1) range. Received: pct_start={pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"Argument `anneal_strategy` must be 'cos' or 'linear'. Received: anneal_strategy={anneal_strategy!r}")
        self.max_learning_rate, self.total_steps = max_learning_rate, total_steps
        self.pct_start, self.div_factor, self.final_div_factor = pct_start, div_factor, final_div_factor
        self.anneal_strategy, self.name = anneal_strategy, name

    def __call__(self, step):
        step = ops.cast(step, "float32")
        initial = self.max_learning_rate / self.div_factor
        final = initial / self.final_div_factor
        warm = self.pct_start * self.total_steps
        rising = _anneal(initial, self.max_learning_rate, ops.clip(step / warm, 0.0, 1.0), self.anneal_strategy)
        falling_fraction = ops.clip((step - warm) / (self.total_steps - warm), 0.0, 1.0)
        falling = _anneal(self.max_learning_rate, final, falling_fraction, self.anneal_strategy)
        return ops.where(step <= warm, rising, falling)

    def get_config(self):
        return {
            "max_learning_rate": self.max_learning_rate,
            "total_steps": self.total_steps,
            "pct_start": self.pct_start,
            "div_factor": self.div_factor,
            "final_div_factor": self.final_div_factor,
            "anneal_strategy": self.anneal_strategy,
            "name": self.name,
        }
