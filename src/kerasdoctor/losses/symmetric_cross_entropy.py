"""Symmetric cross-entropy for noisy labels (Wang et al., 2019)."""

import math

import keras
from keras import ops

from kerasdoctor.losses.base import check_at_least, log_probabilities, target_distribution
from kerasdoctor.losses.registry import register


@register
class SymmetricCrossEntropy(keras.losses.Loss):
    """``alpha * CE(q, p) + beta * RCE(q, p)``: cross-entropy plus its reverse.

    The reverse cross-entropy ``-sum_k p_k log q_k`` swaps prediction ``p`` and
    label ``q``; the label's ``log 0`` is replaced by the constant ``A``
    (``log_zero``), so for a one-hot label RCE is ``-A (1 - p_y)``, a bounded
    term that is robust to label noise. CE keeps fitting the hard classes that
    RCE alone learns slowly.

    Args:
        alpha: weight of CE. The paper uses 0.1 on CIFAR-10 and 6.0 on
            CIFAR-100. Defaults to `0.1`.
        beta: weight of RCE. The paper uses 1.0 on both. Defaults to `1.0`.
        log_zero: ``A``, the value that stands for ``log 0`` in RCE; negative.
            The paper uses -4. Defaults to `-4.0`.
        from_logits: whether ``y_pred`` are logits. Defaults to `False`.
        reduction, name, dtype: as for any `keras.losses.Loss`.

    Reference: Y. Wang et al., "Symmetric Cross Entropy for Robust Learning
    with Noisy Labels", ICCV 2019, https://arxiv.org/abs/1908.06112
    """

    def __init__(self, alpha=0.1, beta=1.0, log_zero=-4.0, from_logits=False, reduction="sum_over_batch_size",
                 name="symmetric_cross_entropy", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        check_at_least("alpha", alpha, 0.0)
        check_at_least("beta", beta, 0.0)
        if alpha == 0 and beta == 0:
            raise ValueError("Arguments `alpha` and `beta` must not both be 0: the loss would be 0. "
                             f"Received: alpha={alpha}, beta={beta}.")
        if not log_zero < 0:
            raise ValueError(f"Argument `log_zero` must be negative: it stands for log(0). "
                             f"Received: log_zero={log_zero}.")
        self.alpha, self.beta, self.log_zero = float(alpha), float(beta), float(log_zero)
        self.from_logits = from_logits

    def call(self, y_true, y_pred):
        target = target_distribution(y_true, y_pred)
        log_p = log_probabilities(y_pred, self.from_logits)
        cross_entropy = -ops.sum(target * log_p, axis=-1)
        log_target = ops.log(ops.clip(target, math.exp(self.log_zero), 1.0))
        reverse = -ops.sum(ops.exp(log_p) * log_target, axis=-1)
        return self.alpha * cross_entropy + self.beta * reverse

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "beta": self.beta, "log_zero": self.log_zero,
                "from_logits": self.from_logits}
