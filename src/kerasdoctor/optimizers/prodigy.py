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

    ``d`` is a single number for all the weights, so ``r`` and ``|s|_1`` are
    sums over every variable: each variable's update step writes its own
    share, and ``apply`` adds the shares up and settles ``d`` at the start of
    the next step (one pass over the weights per step, as Adam). Weight decay
    is the base optimizer's (decoupled, scaled by ``learning_rate``, not by ``d``).

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
        scalar = lambda name, value=0.0: self.add_variable(
            shape=(), initializer=keras.initializers.Constant(value), dtype="float32", name=name
        )
        self._d = scalar("d", self.initial_d)
        self._numerator = scalar("d_numerator")
        # Each variable's share of this step's sums, written by its own update
        # step (no variable writes another's state) and added up at the next step.
        self._alignment = [None if s is None else scalar(f"{v.path.replace('/', '_')}_alignment") for s, v in zip(self._s, var_list)]
        self._s_norm = [None if s is None else scalar(f"{v.path.replace('/', '_')}_s_norm") for s, v in zip(self._s, var_list)]

    @property
    def d(self):
        """The current estimate of the distance to a solution."""
        return self._d

    def apply(self, grads, trainable_variables=None):
        if self.built:
            self._settle_estimate()
        return super().apply(grads, trainable_variables)

    def _settle_estimate(self):
        """r and |s|_1 of the previous step from the per-variable shares, then d."""
        shares = [ops.convert_to_tensor(a) for a in self._alignment if a is not None]
        norms = [ops.convert_to_tensor(n) for n in self._s_norm if n is not None]
        numerator = self._beta_3 * ops.convert_to_tensor(self._numerator) + sum(shares)
        denominator = sum(norms)
        estimate = ops.where(denominator > 0, numerator / ops.maximum(denominator, 1e-30), 0.0)
        self._numerator.assign(numerator)
        self._d.assign(ops.maximum(ops.convert_to_tensor(self._d), estimate))

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)
        d = ops.cast(self._d, dtype)
        beta_1, beta_2 = ops.cast(self.beta_1, dtype), ops.cast(self.beta_2, dtype)
        beta_3 = ops.cast(self._beta_3, dtype)
        index = self._get_variable_index(variable)
        m, v, s, x0 = self._m[index], self._v[index], self._s[index], self._x0[index]

        weight = (1 - beta_3) * lr * ops.square(d)
        self._alignment[index].assign(ops.cast(weight * ops.sum(gradient * (x0 - variable)), "float32"))
        self.assign(s, beta_3 * s + weight * gradient)
        self._s_norm[index].assign(ops.cast(ops.sum(ops.abs(s)), "float32"))
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
