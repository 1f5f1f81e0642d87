"""Bi-tempered logistic loss for noisy labels (Amid et al., 2019)."""

import keras
from keras import ops

from kerasdoctor.losses.base import target_distribution
from kerasdoctor.losses.registry import register


def log_t(x, t):
    """The tempered logarithm ``(x^(1-t) - 1) / (1 - t)``; ``log`` at t = 1."""
    if t == 1.0:
        return ops.log(x)
    return (ops.power(x, 1.0 - t) - 1.0) / (1.0 - t)


def exp_t(x, t):
    """The tempered exponential ``[1 + (1-t) x]_+^(1/(1-t))``; ``exp`` at t = 1."""
    if t == 1.0:
        return ops.exp(x)
    return ops.power(ops.maximum(1.0 + (1.0 - t) * x, 0.0), 1.0 / (1.0 - t))


def tempered_softmax(activations, t, num_iters):
    """``exp_t(a - lambda(a))`` with ``lambda`` found by the paper's fixed-point iteration (t >= 1)."""
    if t == 1.0:
        return ops.softmax(activations, axis=-1)
    top = ops.max(activations, axis=-1, keepdims=True)
    start = activations - top
    normalized = start
    for _ in range(num_iters):
        total = ops.sum(exp_t(normalized, t), axis=-1, keepdims=True)
        normalized = start * ops.power(total, 1.0 - t)
    total = ops.sum(exp_t(normalized, t), axis=-1, keepdims=True)
    normalizer = -log_t(1.0 / total, t) + top
    return exp_t(activations - normalizer, t)


@register
class BiTemperedLogistic(keras.losses.Loss):
    """The logistic loss with two temperatures: a bounded loss and a heavy-tailed softmax.

    ``t1 < 1`` (the temperature of the tempered logarithm in the loss) bounds
    the loss, so a far-off mislabelled sample cannot dominate; ``t2 > 1`` (the
    temperature of the tempered softmax) gives the probabilities a heavy tail,
    so labels flipped near the decision boundary are less trusted. ``t1 = t2 = 1``
    is softmax cross-entropy. For label distribution ``y`` and tempered softmax
    ``p``, the loss is
    ``sum_i y_i (log_t1 y_i - log_t1 p_i) - (y_i^(2-t1) - p_i^(2-t1)) / (2 - t1)``.

    ``y_pred`` are the last layer's activations (logits): the tempered softmax
    takes the place of softmax, so the model has no softmax of its own; to
    predict, apply ``tempered_softmax(logits, t2, num_iters)`` or simply argmax.

    Args:
        t1: in [0, 1]. The paper's noisy-label experiments use 0.2-0.8. Defaults to `0.8`.
        t2: >= 1 (finite support, t2 < 1, is not supported). Defaults to `1.2`.
        num_iters: fixed-point iterations of the softmax normaliser. Defaults to `5`.
        label_smoothing: in [0, 1); mixes the labels with the uniform distribution.
        reduction, name, dtype: as for any `keras.losses.Loss`.

    Reference: E. Amid et al., "Robust Bi-Tempered Logistic Loss Based on
    Bregman Divergences", NeurIPS 2019, https://arxiv.org/abs/1906.03361
    """

    def __init__(self, t1=0.8, t2=1.2, num_iters=5, label_smoothing=0.0, reduction="sum_over_batch_size",
                 name="bi_tempered_logistic", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if not (0.0 <= t1 <= 1.0 <= t2):
            raise ValueError(
                "Arguments `t1` and `t2` must satisfy 0 <= t1 <= 1 <= t2: t1 below 1 bounds the loss, t2 "
                "above 1 gives the softmax a heavy tail (t1 = t2 = 1 is cross-entropy). "
                f"Received: t1={t1}, t2={t2}."
            )
        if int(num_iters) != num_iters or num_iters < 1:
            raise ValueError(f"Argument `num_iters` must be a positive integer. Received: num_iters={num_iters}.")
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError("Argument `label_smoothing` must be in the [0, 1) range. "
                             f"Received: label_smoothing={label_smoothing}.")
        self.t1, self.t2, self.num_iters = float(t1), float(t2), int(num_iters)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        target = target_distribution(y_true, y_pred)
        if self.label_smoothing:
            num_classes = y_pred.shape[-1]
            target = target * (1.0 - self.label_smoothing) + self.label_smoothing / num_classes
        t1 = self.t1
        if t1 == 1.0 and self.t2 == 1.0:
            return -ops.sum(target * ops.log_softmax(y_pred, axis=-1), axis=-1)
        p = tempered_softmax(y_pred, self.t2, self.num_iters)
        # y log_t1(y) is 0 at y = 0; the where keeps log_t1(0) out of the gradient when t1 = 1.
        present = target > 0
        safe_target = ops.where(present, target, 1.0)
        label_term = ops.where(present, target * log_t(safe_target, t1), 0.0)
        loss = (label_term - target * log_t(p, t1)
                - (ops.power(target, 2.0 - t1) - ops.power(p, 2.0 - t1)) / (2.0 - t1))
        return ops.sum(loss, axis=-1)

    def get_config(self):
        return {**super().get_config(), "t1": self.t1, "t2": self.t2, "num_iters": self.num_iters,
                "label_smoothing": self.label_smoothing}
