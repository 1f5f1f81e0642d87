"""Lookahead: k fast steps forward, one step back toward them (Zhang et al., 2019)."""

from keras import ops

from kerasdoctor.optimizers.registry import copies_of, register
from kerasdoctor.optimizers.wrapper import OptimizerWrapper


@register
class Lookahead(OptimizerWrapper):
    """Wraps any Keras optimizer with Lookahead.

    The inner optimizer updates the weights ("fast weights") as usual. Every
    ``sync_period`` steps, slow weights move ``slow_step_size`` of the way
    toward the fast ones and the fast weights restart from there:

        slow = slow + slow_step_size * (fast - slow);  fast = slow

    The slow weights start at the initial weights and the first sync comes
    after ``sync_period`` steps, as in the paper's Algorithm 1 (the PyTorch
    package torch-optimizer starts them after the first step instead).

    Args:
        optimizer: the inner `keras.optimizers.Optimizer` (set `clipnorm`,
            `weight_decay` and the learning rate there).
        sync_period: k, the number of fast steps between syncs. Defaults to `5`.
        slow_step_size: alpha, in (0, 1]. Defaults to `0.5`.

    Example: `Lookahead(keras.optimizers.Adam(1e-3), sync_period=5)`

    Reference: M. R. Zhang et al., "Lookahead Optimizer: k steps forward, 1
    step back", NeurIPS 2019, https://arxiv.org/abs/1907.08610
    """

    def __init__(self, optimizer, sync_period=5, slow_step_size=0.5, name="lookahead", **kwargs):
        super().__init__(optimizer, name=name, **kwargs)
        if not isinstance(sync_period, int) or sync_period < 1:
            raise ValueError(f"Argument `sync_period` must be a positive integer. Received: sync_period={sync_period}")
        if not 0.0 < slow_step_size <= 1.0:
            raise ValueError(
                f"Argument `slow_step_size` must be in the (0, 1] range. Received: slow_step_size={slow_step_size}"
            )
        self.sync_period, self.slow_step_size = sync_period, slow_step_size

    def build_wrapper(self, var_list):
        self._slow = copies_of(self, var_list, "slow")

    def wrapped_apply(self, grads, trainable_variables):
        self.inner_optimizer.apply(grads, trainable_variables)
        iterations = ops.convert_to_tensor(self.inner_optimizer.iterations)
        sync = ops.equal(ops.mod(iterations, self.sync_period), 0)
        for variable in trainable_variables:
            slow = self._slow[self._get_variable_index(variable)]
            if slow is None:
                continue
            slow_value, fast_value = ops.convert_to_tensor(slow), ops.convert_to_tensor(variable)
            moved = slow_value + self.slow_step_size * (ops.cast(fast_value, slow.dtype) - slow_value)
            new_slow = ops.where(sync, moved, slow_value)
            self.assign(slow, new_slow)
            self.assign(variable, ops.where(sync, ops.cast(new_slow, variable.dtype), fast_value))

    def get_config(self):
        config = super().get_config()
        config.update(sync_period=self.sync_period, slow_step_size=self.slow_step_size)
        return config
