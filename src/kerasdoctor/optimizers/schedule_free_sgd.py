"""Schedule-Free SGD (Defazio et al., 2024): no learning-rate schedule, no stopping time."""

import keras
from keras import ops

from kerasdoctor.optimizers.registry import copies_of, register


@register
class ScheduleFreeSGD(keras.optimizers.Optimizer):
    """Schedule-Free SGD with momentum.

    Keeps two sequences: ``z`` takes plain SGD steps, ``x`` is their running
    average, and the model's weights hold the interpolation
    ``y = (1 - momentum) * z + momentum * x`` at which gradients are taken:

        z_{t+1} = z_t - lr_t * g(y_t)
        x_{t+1} = (1 - 1/(t+1)) * x_t + 1/(t+1) * z_{t+1}

    As in Keras's `ScheduleFreeAdamW`, the weights stay at ``y`` (``x`` is
    recovered from ``y`` and ``z`` at each step), so evaluation uses ``y``.

    Args:
        learning_rate: float or schedule. Defaults to `1.0`: the authors advise
            10-50x a classical SGD rate.
        momentum: the interpolation weight, in (0, 1). Defaults to `0.9`.
        warmup_steps: linear warm-up of the learning rate. Defaults to `0`.
        **kwargs: the base optimizer's arguments.

    Reference: A. Defazio et al., "The Road Less Scheduled", NeurIPS 2024,
    https://arxiv.org/abs/2405.15682
    """

    def __init__(self, learning_rate=1.0, momentum=0.9, warmup_steps=0, name="schedule_free_sgd", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if not 0.0 < momentum < 1.0:
            raise ValueError(
                "Argument `momentum` must be in the (0, 1) range: it weights the "
                f"average x in the point y where gradients are taken. Received: momentum={momentum}"
            )
        if warmup_steps < 0:
            raise ValueError(f"Argument `warmup_steps` must be >= 0. Received: warmup_steps={warmup_steps}")
        self.momentum, self.warmup_steps = momentum, warmup_steps

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._z = copies_of(self, var_list, "z")

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)
        step = ops.cast(self.iterations + 1, dtype)
        beta = ops.cast(self.momentum, dtype)
        if self.warmup_steps > 0:
            lr = lr * ops.minimum(step / self.warmup_steps, 1.0)
        z = self._z[self._get_variable_index(variable)]

        z_old = ops.copy(z.value)
        self.assign_sub(z, lr * gradient)
        x_old = (variable - (1 - beta) * z_old) / beta
        weight = 1.0 / step
        x_new = (1 - weight) * x_old + weight * z
        self.assign(variable, (1 - beta) * z + beta * x_new)

    def get_config(self):
        config = super().get_config()
        config.update(momentum=self.momentum, warmup_steps=self.warmup_steps)
        return config
