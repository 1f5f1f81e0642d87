"""LDAM: cross-entropy with label-distribution-aware margins (Cao et al., 2019)."""

import keras
import numpy as np
from keras import ops

from kerasdoctor.losses.base import (
    check_counts,
    check_num_classes,
    check_positive,
    log_probabilities,
    target_distribution,
)
from kerasdoctor.losses.registry import register


def ldam_margins(samples_per_class, max_margin):
    """``C / n_j^(1/4)``, with ``C`` set so that the rarest class gets ``max_margin``."""
    margins = np.power(np.asarray(samples_per_class, dtype=np.float64), -0.25)
    return margins * (max_margin / margins.max())


@register
class LDAM(keras.losses.Loss):
    """Label-distribution-aware margin loss.

    Cross-entropy on logits whose true-class entry is lowered by a margin
    ``Delta_j = C / n_j^(1/4)`` before the softmax, so rare classes must be
    won by a wider margin: the bound the paper derives for the balanced
    error is smallest with margins in that proportion. The logits are then
    multiplied by ``scale``.

    Deferred re-weighting (the paper's LDAM-DRW): train with LDAM alone, then,
    for the last part of training (the paper: after 160 of 200 epochs, when
    the learning rate decays), recompile with
    ``ClassBalanced(LDAM(...), samples_per_class, beta=0.9999)`` and continue
    ``fit``. Weighting early hurts the features; weighting late fixes the
    classifier's bias toward frequent classes.

    Labels may be class indices or one-hot rows (soft rows move each class's
    logit by its label mass times its margin).

    Args:
        samples_per_class: the training count of each class, in class order.
        max_margin: the margin of the rarest class. The paper tunes it; its
            code uses 0.5. Defaults to `0.5`.
        scale: multiplies the logits after the margin. The authors' code uses
            30 with a cosine (normalised) last layer; 1 suits a plain `Dense`
            layer. Defaults to `1.0`.
        from_logits: whether ``y_pred`` are logits. Probabilities are turned
            into log-probabilities, which are logits of the same softmax.
            Defaults to `False`.
        reduction, name, dtype: as for any `keras.losses.Loss`.

    Reference: K. Cao et al., "Learning Imbalanced Datasets with
    Label-Distribution-Aware Margin Loss", NeurIPS 2019, https://arxiv.org/abs/1906.07413
    """

    def __init__(self, samples_per_class, max_margin=0.5, scale=1.0, from_logits=False,
                 reduction="sum_over_batch_size", name="ldam", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.samples_per_class = check_counts("samples_per_class", samples_per_class)
        check_positive("max_margin", max_margin, why="A margin is a gap the true class must win by.")
        check_positive("scale", scale)
        self.max_margin, self.scale = float(max_margin), float(scale)
        self.from_logits = from_logits
        self.margins = ldam_margins(self.samples_per_class, self.max_margin)

    def call(self, y_true, y_pred):
        check_num_classes(self.samples_per_class, y_pred)
        target = target_distribution(y_true, y_pred)
        logits = y_pred if self.from_logits else log_probabilities(y_pred, from_logits=False)
        margins = ops.convert_to_tensor(self.margins, dtype=logits.dtype)
        shifted = self.scale * (logits - target * margins)
        return -ops.sum(target * ops.log_softmax(shifted, axis=-1), axis=-1)

    def get_config(self):
        return {**super().get_config(), "samples_per_class": self.samples_per_class,
                "max_margin": self.max_margin, "scale": self.scale, "from_logits": self.from_logits}
