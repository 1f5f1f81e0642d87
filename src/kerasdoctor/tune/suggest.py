"""Suggestion rules for a learning-rate range test: pure functions of (rates, smoothed losses).

Each takes the swept learning rates and the smoothed losses (same length, rates increasing)
and returns one learning rate. ``zero_lag`` smooths a raw loss series for them. They are interchangeable; ``SUGGESTIONS`` names them.
"""

import numpy as np


def _arrays(rates, losses):
    rates, losses = np.asarray(rates, dtype="float64"), np.asarray(losses, dtype="float64")
    if rates.shape != losses.shape or rates.size < 3:
        raise ValueError(
            "A suggestion needs at least 3 (learning rate, loss) points of the same length. "
            f"Received: {rates.size} rates and {losses.size} losses"
        )
    keep = np.isfinite(losses)
    return rates[keep], losses[keep]


def zero_lag(values, smoothing):
    """An exponential moving average run forward then backward: smooth, without the lag
    a one-way average has (which shifts every suggestion toward larger rates)."""
    values = np.asarray(values, dtype="float64")

    def one_way(series):
        out, average = np.empty_like(series), series[0]
        for index, value in enumerate(series):
            average = smoothing * average + (1 - smoothing) * value
            out[index] = average
        return out

    return one_way(one_way(values)[::-1])[::-1]


def minimum_over_10(rates, losses):
    """A tenth of the rate at the lowest loss (fastai's ``minimum`` / 10)."""
    rates, losses = _arrays(rates, losses)
    return float(rates[int(np.argmin(losses))] / 10.0)


def steep(rates, losses):
    """The rate where the loss falls fastest per decade of learning rate (fastai's ``steep``)."""
    rates, losses = _arrays(rates, losses)
    slopes = np.gradient(losses, np.log10(rates))
    best = int(np.argmin(slopes[: int(np.argmin(losses)) + 1]))
    return float(rates[best])


def valley(rates, losses):
    """The middle (in log scale) of the valley: from where the loss has fallen by a tenth of
    its total drop to where it is lowest.

    The idea of fastai's ``valley`` (the region where the loss falls is where learning
    works; a rate inside it, well before the minimum, is fast and stable), written here as
    the geometric mean of the valley's two ends.
    """
    rates, losses = _arrays(rates, losses)
    bottom = int(np.argmin(losses))
    drop = losses[0] - losses[bottom]
    if bottom == 0 or drop <= 0:
        return minimum_over_10(rates, losses)
    start = int(np.argmax(losses[: bottom + 1] <= losses[0] - 0.1 * drop))
    return float(np.sqrt(rates[start] * rates[bottom]))


def midway(rates, losses):
    """Halfway, in log scale, from where the loss falls fastest (``steep``) to where it is lowest.

    ``steep`` is the safe end of the useful range and the lowest loss its bold end: on a
    development set of workloads (``bench/lr_find_rules.py``), where the best rate of a grid was
    clear, it lay between the two, and ``steep`` alone landed 0.1-0.7x of it.
    """
    rates, losses = _arrays(rates, losses)
    bottom = int(np.argmin(losses))
    return float(np.sqrt(steep(rates, losses) * rates[bottom]))


SUGGESTIONS = {"midway": midway, "steep": steep, "valley": valley, "minimum/10": minimum_over_10}
