"""Float64 NumPy versions of each loss, written from the papers' equations.

Each returns the per-sample loss for labels given as rows (one-hot or soft)
and predictions given as logits or probabilities, as the loss under test
receives them. Nothing here is taken from the package code.
"""

import numpy as np

EPSILON = 1e-7  # keras.config.epsilon(): the clip Keras applies to probabilities


def log_softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def log_probabilities(y_pred, from_logits):
    y_pred = np.asarray(y_pred, np.float64)
    if from_logits:
        return log_softmax(y_pred)
    y_pred = y_pred / y_pred.sum(axis=-1, keepdims=True)
    return np.log(np.clip(y_pred, EPSILON, 1 - EPSILON))


def poly1(y, y_pred, epsilon=1.0, from_logits=False):
    """Leng et al. 2022, eq. 3: L = -log(p_t) + epsilon (1 - p_t)."""
    log_p = log_probabilities(y_pred, from_logits)
    return -(y * log_p).sum(-1) + epsilon * (1 - (y * np.exp(log_p)).sum(-1))


def smoothed_cross_entropy(y, y_pred, label_smoothing=0.1, from_logits=False):
    """Szegedy et al. 2016, section 7: q' = (1 - s) q + s / K."""
    target = (1 - label_smoothing) * y + label_smoothing / y.shape[-1]
    return -(target * log_probabilities(y_pred, from_logits)).sum(-1)


def class_balanced_weights(samples_per_class, beta):
    """Cui et al. 2019, eq. 4-5: w_c proportional to (1 - beta) / (1 - beta^n_c), summing to C."""
    n = np.asarray(samples_per_class, np.float64)
    effective_number = (1 - beta**n) / (1 - beta)
    weights = 1.0 / effective_number
    return weights / weights.sum() * len(n)


def class_balanced(y, y_pred, samples_per_class, beta, per_sample):
    return (y @ class_balanced_weights(samples_per_class, beta)) * per_sample(y, y_pred)


def cross_entropy(y, y_pred, from_logits=False):
    return -(y * log_probabilities(y_pred, from_logits)).sum(-1)


def ldam(y, y_pred, samples_per_class, max_margin=0.5, scale=1.0, from_logits=False):
    """Cao et al. 2019, eq. 12-13: Delta_j = C / n_j^(1/4); CE on z - Delta_y at the true class."""
    logits = np.asarray(y_pred, np.float64) if from_logits else log_probabilities(y_pred, False)
    delta = np.asarray(samples_per_class, np.float64) ** -0.25
    delta *= max_margin / delta.max()
    return -(y * log_softmax(scale * (logits - y * delta))).sum(-1)


def symmetric_cross_entropy(y, y_pred, alpha=0.1, beta=1.0, log_zero=-4.0, from_logits=False):
    """Wang et al. 2019, eq. 5-6: alpha CE + beta RCE, with log 0 := A."""
    log_p = log_probabilities(y_pred, from_logits)
    with np.errstate(divide="ignore"):
        log_q = np.where(y > 0, np.log(np.maximum(y, 1e-300)), log_zero)
    log_q = np.maximum(log_q, log_zero)
    return alpha * -(y * log_p).sum(-1) + beta * -(np.exp(log_p) * log_q).sum(-1)


def _log_t(x, t):
    return np.log(x) if t == 1 else (x ** (1 - t) - 1) / (1 - t)


def _exp_t(x, t):
    return np.exp(x) if t == 1 else np.maximum(1 + (1 - t) * x, 0) ** (1 / (1 - t))


def tempered_softmax(activations, t):
    """Amid et al. 2019, eq. 7: exp_t(a - lambda), lambda solved by bisection to float64 precision."""
    a = np.asarray(activations, np.float64)
    if t == 1:
        return np.exp(log_softmax(a))
    low = a.max(-1, keepdims=True)  # the sum is >= 1 here (the top class alone gives 1)
    high = low + 1e4
    for _ in range(200):
        middle = (low + high) / 2
        too_big = _exp_t(a - middle, t).sum(-1, keepdims=True) > 1
        low, high = np.where(too_big, middle, low), np.where(too_big, high, middle)
    return _exp_t(a - (low + high) / 2, t)


def bi_tempered(y, activations, t1=0.8, t2=1.2):
    """Amid et al. 2019, eq. 11: sum y (log_t1 y - log_t1 p) - (y^(2-t1) - p^(2-t1)) / (2-t1)."""
    p = tempered_softmax(activations, t2)
    with np.errstate(divide="ignore", invalid="ignore"):
        label_term = np.where(y > 0, y * _log_t(np.where(y > 0, y, 1.0), t1), 0.0)
    return (label_term - y * _log_t(p, t1) - (y ** (2 - t1) - p ** (2 - t1)) / (2 - t1)).sum(-1)


def asymmetric(y, y_pred, gamma_neg=4.0, gamma_pos=0.0, clip=0.05, from_logits=False):
    """Ridnik et al. 2021, eq. 7 and 9: L+ = (1-p)^g+ log p, L- = p_m^g- log(1 - p_m), p_m = max(p - m, 0)."""
    y_pred = np.asarray(y_pred, np.float64)
    p = 1 / (1 + np.exp(-y_pred)) if from_logits else np.clip(y_pred, EPSILON, 1 - EPSILON)
    p_m = np.maximum(p - clip, 0)
    positive = (1 - p) ** gamma_pos * np.log(p)
    negative = p_m**gamma_neg * np.log(np.maximum(1 - p_m, EPSILON))
    return -(y * positive + (1 - y) * negative).sum(-1)
