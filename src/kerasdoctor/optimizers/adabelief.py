"""AdaBelief: Adam whose step size follows the belief in the gradient (Zhuang et al., 2020)."""

import keras
from keras import ops

from kerasdoctor.optimizers.registry import check_decay_rates, register


@register
class AdaBelief(keras.optimizers.Optimizer):
    """AdaBelief.

    Where Adam divides by the running mean of g^2, AdaBelief divides by the
    running variance of the gradient around its own EMA, s_t = EMA((g - m)^2):
    a large step when the gradient is as predicted, a small one when it is not.

    Args:
        learning_rate: float or schedule. Defaults to `0.001`.
        beta_1, beta_2: decay rates of the first moment and of `s`.
        epsilon: added to `s` at every step and to the denominator, as in the
            paper's Algorithm 2. Defaults to `1e-16` (the authors' default).
        **kwargs: the base optimizer's arguments (`weight_decay`, `clipnorm`, ...).

    Reference: J. Zhuang et al., "AdaBelief Optimizer: Adapting Stepsizes by the
    Belief in Observed Gradients", NeurIPS 2020, https://arxiv.org/abs/2010.07468
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-16, name="adabelief", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        check_decay_rates(beta_1=beta_1, beta_2=beta_2)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums, self._beliefs = self.add_optimizer_variables(var_list, ["momentum", "belief"])

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)
        step = ops.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = ops.cast(self.beta_1, dtype), ops.cast(self.beta_2, dtype)
        index = self._get_variable_index(variable)
        m, s = self._momentums[index], self._beliefs[index]

        self.assign_add(m, (gradient - m) * (1 - beta_1))
        surprise = ops.square(gradient - m)
        self.assign(s, beta_2 * s + (1 - beta_2) * surprise + self.epsilon)
        m_hat = m / (1 - ops.power(beta_1, step))
        s_hat = s / (1 - ops.power(beta_2, step))
        self.assign_sub(variable, lr * m_hat / (ops.sqrt(s_hat) + self.epsilon))

    def get_config(self):
        config = super().get_config()
        config.update(beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon)
        return config
