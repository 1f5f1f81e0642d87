"""Asymmetric loss for multi-label classification (Ridnik et al., 2021)."""

import keras
from keras import ops

from kerasdoctor.losses.base import check_at_least, check_range
from kerasdoctor.losses.registry import register


def _focusing(base, gamma):
    """``base^gamma`` for base >= 0, with a finite gradient where base is 0."""
    if gamma == 0:
        return ops.ones_like(base)
    positive = base > 0
    return ops.where(positive, ops.power(ops.where(positive, base, 1.0), gamma), 0.0)


@register
class AsymmetricLoss(keras.losses.Loss):
    """Focal-style binary cross-entropy with separate focusing for positives and negatives.

    In multi-label data most labels of a sample are negative, and the many easy
    negatives swamp the gradient. For each label with sigmoid probability ``p``:

        positive: ``-(1 - p)^gamma_pos * log(p)``
        negative: ``-p_m^gamma_neg * log(1 - p_m)``, ``p_m = max(p - clip, 0)``

    ``gamma_neg > gamma_pos`` down-weights easy negatives, and the shifted
    probability ``p_m`` drops very easy negatives (``p < clip``) altogether and
    discards negatives the model is very sure are positive (possibly
    mislabelled). The loss of a sample is the sum over its labels, as in the paper.

    Args:
        gamma_neg: focusing of negatives. Defaults to `4.0` (the paper's).
        gamma_pos: focusing of positives. Defaults to `0.0` (the paper's).
        clip: the probability margin ``m`` in [0, 1). Defaults to `0.05`.
        from_logits: whether ``y_pred`` are logits (else sigmoid
            probabilities). Defaults to `False`.
        reduction, name, dtype: as for any `keras.losses.Loss`.

    Reference: T. Ridnik et al., "Asymmetric Loss For Multi-Label
    Classification", ICCV 2021, https://arxiv.org/abs/2009.14119
    """

    def __init__(self, gamma_neg=4.0, gamma_pos=0.0, clip=0.05, from_logits=False,
                 reduction="sum_over_batch_size", name="asymmetric_loss", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        check_at_least("gamma_neg", gamma_neg, 0.0)
        check_at_least("gamma_pos", gamma_pos, 0.0)
        check_range("clip", clip, 0.0, 1.0, why="It is subtracted from a probability.")
        self.gamma_neg, self.gamma_pos, self.clip = float(gamma_neg), float(gamma_pos), float(clip)
        self.from_logits = from_logits

    def call(self, y_true, y_pred):
        epsilon = keras.config.epsilon()
        y_true = ops.cast(y_true, y_pred.dtype)
        if self.from_logits:
            log_p, p = ops.log_sigmoid(y_pred), ops.sigmoid(y_pred)
        else:
            p = ops.clip(y_pred, epsilon, 1.0 - epsilon)
            log_p = ops.log(p)
        shifted = ops.maximum(p - self.clip, 0.0)
        log_not_shifted = ops.log(ops.maximum(1.0 - shifted, epsilon))
        positive = _focusing(1.0 - p, self.gamma_pos) * log_p
        negative = _focusing(shifted, self.gamma_neg) * log_not_shifted
        return -ops.sum(y_true * positive + (1.0 - y_true) * negative, axis=-1)

    def get_config(self):
        return {**super().get_config(), "gamma_neg": self.gamma_neg, "gamma_pos": self.gamma_pos,
                "clip": self.clip, "from_logits": self.from_logits}
