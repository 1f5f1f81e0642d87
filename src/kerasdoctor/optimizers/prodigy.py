"""Prodigy: Adam whose learning rate estimates itself (Mishchenko & Defazio, 2023)."""

import keras
from keras import ops

from kerasdoctor.optimizers.registry import check_decay_rates, copies_of, register


@register
class Prodigy(keras.optimizers.Optimizer):
    """Prodigy, the Adam version (the paper's Algorithm 4).

    Parameter-free: it estimates ``d``, the distance from the initial weights
    to a solution, and scales Adam's step by it. Leave ``learning_rate`` at
    1.0 (it multiplies the estimate; use it for a schedule's shape). Per step,
    with ``d`` the current estimate and ``beta_3 = sqrt(beta_2)``:

        m = beta_1 m + (1 - beta_1) d g
        v = beta_2 v + (1 - beta_2) d^2 g^2
        r = beta_3 r + (1 - beta_3) lr d^2 <g, x_0 - x>     (summed over all weights)
        s = beta_3 s + (1 - beta_3) lr d^2 g
        d = max(d, r / |s|_1)                               (used from the next step)
        x = x - lr d m / (sqrt(v) + d eps)

    ``d`` is a single number for all the weights, so the sums run over every
    variable: ``apply`` settles the estimate of the previous step and updates
    ``r`` and ``s`` before the per-variable updates. They use the gradients as
    given to the optimizer, before the base class's clipping. Weight decay is the base optimizer's (decoupled,
    scaled by ``learning_rate``, not by ``d``).

    Args:
        learning_rate: multiplier of the estimated step. Defaults to `1.0`.
        beta_1, beta_2: Adam's decay rates. beta_3: defaults to sqrt(beta_2).
        epsilon: Defaults to `1e-8`.
        initial_d: the starting estimate d_0, deliberately tiny. Defaults to `1e-6`.
        **kwargs: the base optimizer's arguments.

    Reference: K. Mishchenko, A. Defazio, "Prodigy: An Expeditiously Adaptive
    Parameter-Free Learner", ICML 2024, https://arxiv.org/abs/2306.06101
    """

    def __init__(
        self,
        learning_rate=1.0,
        beta_1=0.9,
        beta_2=0.999,
        beta_3=None,
        epsilon=1e-8,
        initial_d=1e-6,
        name="prodigy",
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        check_decay_rates(beta_1=beta_1, beta_2=beta_2)
        if initial_d <= 0:
            raise ValueError(f"Argument `initial_d` must be positive. Received: initial_d={initial_d}")
        self.beta_1, self.beta_2, self.beta_3 = beta_1, beta_2, beta_3
        self.epsilon, self.initial_d = epsilon, initial_d

    @property
    def _beta_3(self):
        return self.beta_3 if self.beta_3 is not None else self.beta_2**0.5

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._m, self._v, self._s = self.add_optimizer_variables(var_list, ["momentum", "velocity", "s"])
        self._x0 = copies_of(self, var_list, "initial")
        scalar = lambda name, value: self.add_variable(
            shape=(), initializer=keras.initializers.Constant(value), dtype="float32", name=name
        )
        self._d = scalar("d", self.initial_d)
        self._numerator = scalar("d_numerator", 0.0)
        self._denominator = scalar("d_denominator", 0.0)

    @property
    def d(self):
        """The current estimate of the distance to a solution."""
        return self._d

    def apply(self, grads, trainable_variables=None):
        # d, r and |s|_1 span all the weights, so they are updated here, in one
        # place, before the per-variable steps (which then only read d).
        grads = list(grads)
        if trainable_variables is None:
            variables = self._trainable_variables
        else:
            variables = list(trainable_variables)
            if not self.built:
                self.build(variables)
        self._estimate(grads, variables)
        return super().apply(grads, trainable_variables)

    def _estimate(self, grads, variables):
        numerator, denominator = (ops.convert_to_tensor(v) for v in (self._numerator, self._denominator))
        # Settle d from the sums of the previous step (used from this step on).
        estimate = ops.where(denominator > 0, numerator / ops.maximum(denominator, 1e-30), 0.0)
        d = ops.maximum(ops.convert_to_tensor(self._d), estimate)
        self._d.assign(d)
        beta_3 = self._beta_3
        weight = (1 - beta_3) * ops.cast(self.learning_rate, "float32") * ops.square(d)
        alignment, norm = ops.zeros((), "float32"), ops.zeros((), "float32")
        for gradient, variable in zip(grads, variables):
            index = self._get_variable_index(variable)
            if gradient is None or self._s[index] is None:
                continue
            gradient = ops.cast(gradient, "float32")
            x, x0 = ops.cast(ops.convert_to_tensor(variable), "float32"), ops.cast(ops.convert_to_tensor(self._x0[index]), "float32")
            alignment = alignment + ops.sum(gradient * (x0 - x))
            s = beta_3 * ops.cast(ops.convert_to_tensor(self._s[index]), "float32") + weight * gradient
            self.assign(self._s[index], ops.cast(s, self._s[index].dtype))
            norm = norm + ops.sum(ops.abs(s))
        self._numerator.assign(beta_3 * numerator + weight * alignment)
        self._denominator.assign(norm)

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)
        d = ops.cast(self._d, dtype)
        beta_1, beta_2 = ops.cast(self.beta_1, dtype), ops.cast(self.beta_2, dtype)
        index = self._get_variable_index(variable)
        m, v = self._m[index], self._v[index]
        self.assign(m, beta_1 * m + (1 - beta_1) * d * gradient)
        self.assign(v, beta_2 * v + (1 - beta_2) * ops.square(d) * ops.square(gradient))
        self.assign_sub(variable, lr * d * m / (ops.sqrt(v) + d * self.epsilon))

    def get_config(self):
        config = super().get_config()
        config.update(
            beta_1=self.beta_1,
            beta_2=self.beta_2,
            beta_3=self.beta_3,
            epsilon=self.epsilon,
            initial_d=self.initial_d,
        )
        return config
