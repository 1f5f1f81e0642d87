"""RAdam: Adam with the variance of its adaptive step rectified (Liu et al., 2020)."""

import keras
from keras import ops

from kerasdoctor.optimizers.registry import check_decay_rates, register


@register
class RAdam(keras.optimizers.Optimizer):
    """Rectified Adam.

    Early in training Adam's second-moment estimate rests on few samples and its
    adaptive step has a large variance. RAdam multiplies the step by a
    rectification term ``r_t`` and, while the approximated simple moving average
    length ``rho_t`` is too short (<= ``rectify_threshold``), takes an SGD-with-
    momentum step instead. A built-in, schedule-free alternative to warm-up.

    Args:
        learning_rate: float or schedule. Defaults to `0.001`.
        beta_1, beta_2: decay rates of the first and second moments.
        epsilon: added to the denominator. Defaults to `1e-8`.
        rectify_threshold: `rho_t` above which the adaptive step is used.
            The paper's Algorithm 2 uses 4; the reference PyTorch implementation
            and tensorflow-addons use 5 (the default here).
        **kwargs: the base optimizer's arguments (`weight_decay`, `clipnorm`,
            `clipvalue`, `global_clipnorm`, `use_ema`, ...).

    Reference: L. Liu et al., "On the Variance of the Adaptive Learning Rate
    and Beyond", ICLR 2020, https://arxiv.org/abs/1908.03265
    """

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        rectify_threshold=5.0,
        name="radam",
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        check_decay_rates(beta_1=beta_1, beta_2=beta_2)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.rectify_threshold = rectify_threshold

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(
            var_list, ["momentum", "velocity"]
        )

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)
        step = ops.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = ops.cast(self.beta_1, dtype), ops.cast(self.beta_2, dtype)
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]

        self.assign_add(m, (gradient - m) * (1 - beta_1))
        self.assign_add(v, (ops.square(gradient) - v) * (1 - beta_2))
        beta_2_power = ops.power(beta_2, step)
        m_hat = m / (1 - ops.power(beta_1, step))

        rho_inf = 2.0 / (1.0 - beta_2) - 1.0
        rho = rho_inf - 2.0 * step * beta_2_power / (1.0 - beta_2_power)
        # max(., 0) keeps the unused branch finite while rho_t is small.
        rectifier = ops.sqrt(
            ops.maximum((rho - 4.0) * (rho - 2.0) * rho_inf, 0.0)
            / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho)
        )
        v_hat = ops.sqrt(v / (1.0 - beta_2_power))
        adaptive = rectifier * m_hat / (v_hat + self.epsilon)
        update = ops.where(rho > self.rectify_threshold, adaptive, m_hat)
        self.assign_sub(variable, lr * update)

    def get_config(self):
        config = super().get_config()
        config.update(
            beta_1=self.beta_1,
            beta_2=self.beta_2,
            epsilon=self.epsilon,
            rectify_threshold=self.rectify_threshold,
        )
        return config
