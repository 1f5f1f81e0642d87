"""Class-balanced weighting by the effective number of samples (Cui et al., 2019)."""

import keras
import numpy as np
from keras import ops

from kerasdoctor.losses.base import check_counts, check_num_classes, check_range, class_indices, is_sparse
from kerasdoctor.losses.registry import register


def effective_number_weights(samples_per_class, beta):
    """``(1 - beta) / (1 - beta^n_c)``, scaled to sum to the number of classes.

    ``(1 - beta^n) / (1 - beta)`` is the paper's effective number of ``n``
    samples; beta = 0 gives equal weights and beta -> 1 inverse frequencies.
    """
    counts = np.asarray(samples_per_class, dtype=np.float64)
    weights = (1.0 - beta) / (1.0 - np.power(beta, counts))
    return weights * len(counts) / weights.sum()


@register
class ClassBalanced(keras.losses.Loss):
    """Weights each sample's loss by the class-balanced weight of its class.

    Wraps any Keras loss that returns one value per sample (its ``call``):
    cross-entropy, focal, `PolyLoss`, `LDAM`, ... The weight of class ``c`` is
    ``(1 - beta) / (1 - beta^n_c)`` for ``n_c`` training samples, normalised so
    that the weights sum to the number of classes. Class indices pick their
    class's weight; one-hot or soft labels weight by ``sum(y_true * w)``.

    Build it from the training labels with ``ClassBalanced.from_labels(y_train)``.

    Args:
        loss: a `keras.losses.Loss` instance; its labels are passed through
            unchanged, so its encoding (sparse or one-hot) must match them.
        samples_per_class: the training count of each class, in class order.
        beta: in [0, 1). The paper suggests 0.9, 0.99, 0.999 or 0.9999, larger
            for larger data sets. Defaults to `0.999`.
        reduction, name, dtype: as for any `keras.losses.Loss`.

    Reference: Y. Cui et al., "Class-Balanced Loss Based on Effective Number
    of Samples", CVPR 2019, https://arxiv.org/abs/1901.05555
    """

    def __init__(self, loss, samples_per_class, beta=0.999, reduction="sum_over_batch_size",
                 name="class_balanced", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if not isinstance(loss, keras.losses.Loss):
            raise ValueError(
                "Argument `loss` must be a keras.losses.Loss instance (its per-sample values are "
                f"weighted), for example keras.losses.SparseCategoricalCrossentropy(). Received: loss={loss!r}."
            )
        check_range("beta", beta, 0.0, 1.0, why="At 1 every effective number is infinite.")
        self.loss = loss
        self.samples_per_class = check_counts("samples_per_class", samples_per_class)
        self.beta = float(beta)
        self.class_weights = effective_number_weights(self.samples_per_class, self.beta)

    @classmethod
    def from_labels(cls, y, beta=0.999, loss=None, num_classes=None, **kwargs):
        """A ClassBalanced loss with the class counts of the labels ``y``.

        ``y`` holds class indices (``(n,)`` or ``(n, 1)``) or one-hot rows.
        Without ``loss``, the cross-entropy that matches the encoding is used
        (on probabilities); for one sigmoid unit pass
        ``loss=keras.losses.BinaryCrossentropy()`` with 0/1 labels. ``num_classes`` counts classes absent from ``y``
        (they are then refused, since they have no weight).
        """
        y = np.asarray(y)
        sparse = y.ndim == 1 or y.shape[-1] == 1
        if sparse:
            counts = np.bincount(y.reshape(-1).astype(np.int64), minlength=num_classes or 0)
        else:
            counts = y.reshape(-1, y.shape[-1]).sum(axis=0)
        if loss is None:
            loss = (keras.losses.SparseCategoricalCrossentropy() if sparse
                    else keras.losses.CategoricalCrossentropy())
        return cls(loss, counts.tolist(), beta=beta, **kwargs)

    def call(self, y_true, y_pred):
        per_sample = self.loss.call(y_true, y_pred)
        weights = ops.convert_to_tensor(self.class_weights, dtype=per_sample.dtype)
        if len(self.samples_per_class) == 2 and y_pred.shape[-1] == 1:
            # One sigmoid unit (binary cross-entropy): the label is the probability of class 1.
            y = ops.reshape(ops.cast(y_true, per_sample.dtype), ops.shape(per_sample))
            return per_sample * (weights[0] + (weights[1] - weights[0]) * y)
        check_num_classes(self.samples_per_class, y_pred)
        if is_sparse(y_true, y_pred):
            sample_weight = ops.take(weights, class_indices(y_true, y_pred))
        else:
            sample_weight = ops.sum(ops.cast(y_true, per_sample.dtype) * weights, axis=-1)
        return per_sample * sample_weight

    def get_config(self):
        return {**super().get_config(), "loss": keras.losses.serialize(self.loss),
                "samples_per_class": self.samples_per_class, "beta": self.beta}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["loss"] = keras.losses.deserialize(config["loss"])
        return cls(**config)
