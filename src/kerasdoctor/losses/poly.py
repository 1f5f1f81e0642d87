"""PolyLoss (Poly-1): cross-entropy plus a weighted first polynomial term (Leng et al., 2022)."""

import keras
from keras import ops

from kerasdoctor.losses.base import check_at_least, log_probabilities, target_distribution
from kerasdoctor.losses.registry import register


@register
class PolyLoss(keras.losses.Loss):
    """Poly-1 loss: ``CE + epsilon * (1 - p_t)``.

    Cross-entropy expands into the series ``sum_j (1 - p_t)^j / j``; Poly-1
    raises the weight of its first term by ``epsilon``. A positive ``epsilon``
    keeps pushing confident correct predictions (the paper's gain on ImageNet
    used ``epsilon=1``); a negative one, down to -1, eases off them. ``epsilon=0``
    is categorical cross-entropy.

    Labels may be class indices (``(batch,)`` or ``(batch, 1)``), one-hot or
    soft rows; for soft rows ``p_t = sum(y_true * p)``.

    Args:
        epsilon: the added weight of ``(1 - p_t)``; `>= -1` so that the
            term's coefficient ``1 + epsilon`` stays non-negative. Defaults to `1.0`.
        from_logits: whether ``y_pred`` are logits. Defaults to `False`.
        reduction, name, dtype: as for any `keras.losses.Loss`.

    Reference: Z. Leng et al., "PolyLoss: A Polynomial Expansion Perspective
    of Classification Loss Functions", ICLR 2022, https://arxiv.org/abs/2204.12511
    """

    def __init__(self, epsilon=1.0, from_logits=False, reduction="sum_over_batch_size", name="poly_loss",
                 dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        check_at_least("epsilon", epsilon, -1.0,
                       why="Below -1 the loss rewards lowering the probability of the true class.")
        self.epsilon = float(epsilon)
        self.from_logits = from_logits

    def call(self, y_true, y_pred):
        target = target_distribution(y_true, y_pred)
        log_p = log_probabilities(y_pred, self.from_logits)
        cross_entropy = -ops.sum(target * log_p, axis=-1)
        p_true = ops.sum(target * ops.exp(log_p), axis=-1)
        return cross_entropy + self.epsilon * (1.0 - p_true)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon, "from_logits": self.from_logits}
