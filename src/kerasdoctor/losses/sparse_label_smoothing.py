"""Cross-entropy with label smoothing for integer class labels."""

import keras
from keras import ops

from kerasdoctor.losses.base import check_range, log_probabilities, target_distribution
from kerasdoctor.losses.registry import register


@register
class SparseCategoricalCrossentropyWithSmoothing(keras.losses.Loss):
    """`SparseCategoricalCrossentropy` with the `label_smoothing` it lacks.

    The integer label ``k`` becomes the distribution ``(1 - s) * onehot(k) + s / C``
    over the ``C`` classes, as `keras.losses.CategoricalCrossentropy(label_smoothing=s)`
    does for one-hot labels, so the labels need not be one-hot encoded (which
    costs ``C`` floats per sample in the input pipeline). One-hot or soft labels
    are accepted too and smoothed the same way.

    Args:
        label_smoothing: ``s`` in [0, 1]. Defaults to `0.1`.
        from_logits: whether ``y_pred`` are logits. Defaults to `False`.
        reduction, name, dtype: as for any `keras.losses.Loss`.

    Reference: C. Szegedy et al., "Rethinking the Inception Architecture for
    Computer Vision", CVPR 2016 (section 7), https://arxiv.org/abs/1512.00567
    """

    def __init__(self, label_smoothing=0.1, from_logits=False, reduction="sum_over_batch_size",
                 name="sparse_categorical_crossentropy_with_smoothing", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        check_range("label_smoothing", label_smoothing, 0.0, 1.0, closed_high=True)
        self.label_smoothing = float(label_smoothing)
        self.from_logits = from_logits

    def call(self, y_true, y_pred):
        target = target_distribution(y_true, y_pred)
        num_classes = y_pred.shape[-1]
        target = target * (1.0 - self.label_smoothing) + self.label_smoothing / num_classes
        return -ops.sum(target * log_probabilities(y_pred, self.from_logits), axis=-1)

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing, "from_logits": self.from_logits}
