"""The trivial loss: what a model that ignores its input scores, for each built-in loss that has one.

For a classification loss the constant prediction is the label prior (with the loss's
label smoothing); for a regression loss it is the best constant: the mean for squared
error, the median for absolute error, and a numerical minimum for Huber, log-cosh and
MAPE over the label quantiles the data summary records. Losses without a floor at zero
(Poisson, cosine similarity) have no trivial value that a share of it could be judged by.
"""

import math


def _entropy(probabilities):
    return -sum(p * math.log(p) for p in probabilities if p > 0)


def _binary_entropy(p):
    return _entropy((p, 1 - p))


def _prior(y):
    counts = y.get("counts")
    if not counts or not sum(counts):
        return None
    return [c / sum(counts) for c in counts]


def _positive_rates(y):
    """Per label, the share of positive values, for binary targets (one or several per sample)."""
    if y.get("encoding") == "multi_hot" and y.get("positive_rates"):
        return y["positive_rates"]
    if y.get("encoding") in ("one_hot", "distribution"):
        return _prior(y)
    if y.get("encoding") in ("index", "continuous") and "mean" in y and y.get("min", 0) >= 0 and y.get("max", 1) <= 1:
        return [y["mean"]]
    return None


def _categorical(y, config):
    prior = _prior(y)
    if not prior:
        return None
    smoothing = config.get("label_smoothing") or 0.0
    return _entropy([(1 - smoothing) * p + smoothing / len(prior) for p in prior])


def _categorical_focal(y, config):
    prior = _prior(y)
    if not prior:
        return None
    alpha, gamma = config.get("alpha", 0.25), config.get("gamma", 2.0)
    return sum(alpha * p * (1 - p) ** gamma * -math.log(p) for p in prior if p > 0)


def _binary(y, config):
    rates = _positive_rates(y)
    if not rates:
        return None
    smoothing = config.get("label_smoothing") or 0.0
    return sum(_binary_entropy(p * (1 - smoothing) + smoothing / 2) for p in rates) / len(rates)


def _binary_focal(y, config):
    rates = _positive_rates(y)
    if not rates:
        return None
    gamma = config.get("gamma", 2.0)
    alpha = config.get("alpha", 0.25)
    positive, negative = (alpha, 1 - alpha) if config.get("apply_class_balancing") else (1.0, 1.0)

    def loss(p):
        if not 0 < p < 1:
            return 0.0
        return (positive * p * (1 - p) ** gamma * -math.log(p)
                + negative * (1 - p) * p ** gamma * -math.log(1 - p))

    return sum(loss(p) for p in rates) / len(rates)


def _hinge(y, squared):
    rates = _positive_rates(y)
    if rates is None and y.get("min") == -1 and y.get("max") == 1 and "mean" in y:  # labels in {-1, 1}
        rates = [(y["mean"] + 1) / 2]
    if not rates or y.get("encoding") not in ("index", "continuous", "multi_hot"):
        return None
    per_label = [4 * p * (1 - p) if squared else 2 * min(p, 1 - p) for p in rates]
    return sum(per_label) / len(per_label)


def _mse(y, config):
    stds = y.get("target_std") or ([y["std"]] if "std" in y else None)  # older logs: std only
    return sum(s * s for s in stds) / len(stds) if stds else None


def _mae(y, config):
    deviations = y.get("target_mad")
    return sum(deviations) / len(deviations) if deviations else None


def _best_constant(points, loss, iterations=80):
    """min over constants c of the mean of loss(point, c): a ternary search (the losses are convex in c)."""
    low, high = min(points), max(points)
    value = lambda c: sum(loss(p, c) for p in points) / len(points)
    for _ in range(iterations):
        left, right = low + (high - low) / 3, high - (high - low) / 3
        if value(left) <= value(right):
            high = right
        else:
            low = left
    return value((low + high) / 2)


def _from_quantiles(y, loss):
    quantiles = y.get("target_quantiles")
    if not quantiles:
        return None
    return sum(_best_constant(points, loss) for points in quantiles) / len(quantiles)


def _huber(y, config):
    delta = config.get("delta", 1.0)

    def loss(target, c):
        error = abs(target - c)
        return 0.5 * error * error if error <= delta else delta * (error - 0.5 * delta)

    return _from_quantiles(y, loss)


def _log_cosh(y, config):
    def loss(target, c):
        x = abs(target - c)
        return x + math.log1p(math.exp(-2 * x)) - math.log(2)

    return _from_quantiles(y, loss)


def _mape(y, config):
    return _from_quantiles(y, lambda target, c: 100 * abs(target - c) / max(abs(target), 1e-7))


def _msle(y, config):
    quantiles = y.get("target_quantiles")
    if not quantiles:
        return None
    variances = []
    for points in quantiles:
        logs = [math.log1p(max(p, 0.0)) for p in points]
        mean = sum(logs) / len(logs)
        variances.append(sum((v - mean) ** 2 for v in logs) / len(logs))
    return sum(variances) / len(variances)


BASELINES = {
    "sparse_categorical_crossentropy": _categorical,
    "categorical_crossentropy": _categorical,
    "kl_divergence": _categorical,
    "sparse_categorical_focal_crossentropy": _categorical_focal,
    "categorical_focal_crossentropy": _categorical_focal,
    "binary_crossentropy": _binary,
    "binary_focal_crossentropy": _binary_focal,
    "hinge": lambda y, config: _hinge(y, squared=False),
    "squared_hinge": lambda y, config: _hinge(y, squared=True),
    "mean_squared_error": _mse,
    "mean_absolute_error": _mae,
    "huber": _huber,
    "log_cosh": _log_cosh,
    "mean_absolute_percentage_error": _mape,
    "mean_squared_logarithmic_error": _msle,
}


def trivial_loss(loss, config, y):
    """The trivial value of the loss named ``loss`` (snake case) with its ``config`` on labels
    summarized as ``y``; None when the loss has none or the summary lacks what it needs."""
    baseline = BASELINES.get(loss)
    value = baseline(y or {}, config or {}) if baseline else None
    return value if value is not None and value > 0 else None
