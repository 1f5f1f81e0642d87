"""LOSS_OSCILLATING: the loss goes up about as much as it goes down, by large steps."""

import math
from statistics import linear_regression, pstdev

from kerasdoctor.diagnose.base import Finding, Rule
from kerasdoctor.diagnose.series import (
    chance_accuracy, epoch_losses, is_classification, is_finite, median, metric_name, probe_losses,
    recent_window, trivial_loss,
)


def _in_range(name, value, high):
    if not 0 < value <= high:
        raise ValueError(f"Argument `{name}` must be in (0, {high}]. Received: {name}={value}")


def swings(values, scale):
    """(sum of rises / sum of falls, median change as a share of ``scale``) of a series."""
    changes = [b - a for a, b in zip(values, values[1:])]
    rises = sum(c for c in changes if c > 0)
    falls = -sum(c for c in changes if c < 0)
    ratio = rises / falls if falls > 0 else float("inf")
    return ratio, median([abs(c) for c in changes]) / scale


def trend(window):
    """(how far the least-squares line through ``window``'s (step, value) points falls over the
    window, the standard deviation of the points around that line)."""
    steps, values = [s for s, _ in window], [v for _, v in window]
    if len(set(steps)) < 2:
        return 0.0, pstdev(values)
    slope, intercept = linear_regression(steps, values)
    residuals = [v - (slope * s + intercept) for s, v in window]
    return -slope * (steps[-1] - steps[0]), pstdev(residuals)


def _advice(log):
    """The fix, for the run's own batch size and momentum: momentum only where the optimizer has
    one, a larger batch first where the batch is small."""
    run = next(iter(log.of_type("run")), None) or {}
    batch = (run.get("fit") or {}).get("batch_size")
    config = (((log.model or {}).get("optimizer") or {}).get("config") or {})
    momentum = config.get("momentum") if isinstance(config.get("momentum"), (int, float)) else 0.0
    small = isinstance(batch, int) and batch < 32
    fix = ("Use a larger batch size (32-256) or lower the learning rate" if small or batch is None
           else "Lower the learning rate (or let a schedule decay it)")
    if momentum >= 0.5:
        effect = f"at batch size {batch} amplifies the noise of each batch" if small else "adds up the noisy steps"
        fix += f", or lower the momentum ({momentum:g} {effect})"
    return fix + "."


class LossOscillating(Rule):
    """Fires when, over the second half of the run, the probe-batch loss goes up about as much
    as it goes down (rises / falls between ``min_rise_ratio`` and its inverse), by steps that
    are large next to the trivial loss; and, when that window holds at least ``min_epochs``
    epoch ends, the epoch-end validation loss (the training loss without validation) swings the
    same way; and the loss's trend over the window does not fall by more than the band its swings
    span around it (``band`` standard deviations of the points around the line).

    The probe batch is fixed, so its loss is free of batch-to-batch noise. Both statistics are
    per probe (a ratio of sums, a median of changes) over a window that is a share of the run,
    so they do not grow with the number of probes or the length of the run: a long plateau's
    small wobbles never add up to an oscillation.

    The probe runs the model in training mode, so with Dropout (a new mask at every probe) or
    other noise layers its loss swings even when the weights have settled. What the rule claims,
    that the weights never settle, shows in the validation loss, which inference mode computes
    free of those layers: where the run has the epochs to tell, the epoch curve must agree. A
    short run has only the probes to judge by.

    A loss that falls steadily and wobbles on the way is converging: rises and falls are then
    both large, yet the trend's fall over the window is larger than the band the wobbles span
    (the loss leaves the band it started in). An oscillation has no such trend, or one smaller
    than its own swings.

    A classifier's loss can swing while its predictions hold still: a few confident mistakes
    that come and go move the cross-entropy, not the accuracy. Where the window holds
    ``min_epochs`` epoch ends with a validation accuracy (the training accuracy without
    validation), that accuracy must swing too: its median change from one epoch to the next at
    least ``min_metric_swing`` of the room above chance (1 - chance). Weights that never settle
    move the predictions; a loss that wobbles around predictions that stay put is not costing
    the model anything the user reads. Nor does a change smaller than the accuracy's standard
    error on that split, sqrt(p (1 - p) / n): on a small validation set a median change of one
    or two samples an epoch is below what the set can resolve.

    Args:
        min_rise_ratio: the smallest (sum of rises / sum of falls) in the window.
        min_swing: the smallest median change between consecutive points in the window, as a
            share of the trivial loss.
        min_probes: how many probes the window needs.
        band: the width, in standard deviations around the trend, of the band the trend's fall
            over the window must not exceed (4: plus and minus two).
        min_epochs: how many epoch ends the window needs before the epoch curve must agree
            (4: three changes, enough to tell a curve that only falls from one that swings).
        min_metric_swing: the smallest median change of the epoch-end accuracy in the window, as
            a share of (1 - chance accuracy), for a classifier whose window has ``min_epochs``
            epoch ends.
    """

    code = "LOSS_OSCILLATING"

    def __init__(self, min_rise_ratio=0.4, min_swing=0.03, min_probes=6, band=4.0, min_epochs=4,
                 min_metric_swing=0.03):
        _in_range("min_rise_ratio", min_rise_ratio, 10.0)
        _in_range("min_swing", min_swing, 10.0)
        _in_range("min_metric_swing", min_metric_swing, 1.0)
        if not (isinstance(min_probes, int) and min_probes >= 3):
            raise ValueError(f"Argument `min_probes` must be an integer >= 3. Received: min_probes={min_probes}")
        if not band > 0:
            raise ValueError(f"Argument `band` must be positive. Received: band={band}")
        if not (isinstance(min_epochs, int) and min_epochs >= 3):
            raise ValueError(f"Argument `min_epochs` must be an integer >= 3. Received: min_epochs={min_epochs}")
        self.min_rise_ratio, self.min_swing, self.min_probes = min_rise_ratio, min_swing, min_probes
        self.band, self.min_epochs, self.min_metric_swing = band, min_epochs, min_metric_swing

    def _oscillates(self, ratio, swing):
        # Both ways: rises far beyond the falls are a divergence (LOSS_DIVERGED), not a swing.
        return self.min_rise_ratio <= ratio <= 1 / self.min_rise_ratio and swing >= self.min_swing

    def _epoch_curve(self, log, half):
        """(name, values, trivial loss) of the epoch-end curve in the window, or None when the
        window has fewer than ``min_epochs`` epoch ends."""
        for key, split in (("val_loss", "val"), ("loss", "train")):
            points = [v for step, v in epoch_losses(log, key) if step >= half]
            if points:
                if len(points) < self.min_epochs or not all(is_finite(v) for v in points):
                    return None
                return key, points, trivial_loss(log, split)
        return None

    def _metric_swing(self, log, half):
        """(name, median change of the epoch-end accuracy in the window over 1 - chance, the
        accuracy's standard error on its split over 1 - chance (0 when the split's size is unknown))
        of a classifier whose window has ``min_epochs`` epoch ends with an accuracy, else None."""
        name = metric_name(log)
        chance = chance_accuracy(log) if is_classification(log) else None
        if not name or chance is None or chance >= 1:
            return None
        for key, split in (("val_" + name, "val"), (name, "train")):
            points = [v for step, v in epoch_losses(log, key) if step >= half]
            if points:
                if len(points) < self.min_epochs or not all(is_finite(v) for v in points):
                    return None
                level, samples = min(max(median(points), 0.0), 1.0), (log.data(split) or {}).get("samples")
                error = math.sqrt(level * (1 - level) / samples) if samples else 0.0
                swing = median([abs(b - a) for a, b in zip(points, points[1:])])
                return key, swing / (1 - chance), error / (1 - chance)
        return None

    def check(self, log):
        series = probe_losses(log)
        window = recent_window(series, self.min_probes)
        if len(window) < self.min_probes or not all(is_finite(v) for _, v in window):
            return None
        values = [v for _, v in window]
        scale = trivial_loss(log) or abs(series[0][1]) or 1.0
        ratio, swing = swings(values, scale)
        if not self._oscillates(ratio, swing):
            return None
        fall, spread = trend(window)
        if fall > self.band * spread:
            return None  # converging: the trend leaves the band its wobbles span
        evidence = {"rise_to_fall_ratio": ratio, "median_swing_to_trivial": swing, "probes": len(values),
                    "window_steps": [window[0][0], window[-1][0]],
                    "trend_fall_to_trivial": fall / scale, "spread_to_trivial": spread / scale,
                    "min_rise_ratio": self.min_rise_ratio, "min_swing": self.min_swing, "band": self.band}
        epoch_curve, also = self._epoch_curve(log, window[0][0]), ""
        if epoch_curve is not None:
            key, points, trivial = epoch_curve
            epoch_ratio, epoch_swing = swings(points, trivial or scale)
            if not self._oscillates(epoch_ratio, epoch_swing):
                return None
            evidence.update(epoch_curve=key, epoch_rise_to_fall_ratio=epoch_ratio,
                            epoch_median_swing_to_trivial=epoch_swing, epochs=len(points))
            metric = self._metric_swing(log, window[0][0])
            if metric is not None:
                if metric[1] < max(self.min_metric_swing, metric[2]):
                    return None  # the loss swings, the predictions hold still
                evidence.update(metric=metric[0], metric_median_swing_to_room=metric[1],
                                metric_standard_error_to_room=metric[2])
            also = (f" The epoch-end {'validation' if key == 'val_loss' else 'training'} loss swings too "
                    f"(rises {epoch_ratio:.0%} of its falls, by a typical {epoch_swing:.0%} of the trivial loss).")
        first_rise = next(s for (s, a), (_, b) in zip(window, window[1:]) if b > a)
        return Finding(
            self.code, "warning", first_rise,
            f"The loss oscillates: over the second half of the run (steps {window[0][0]}-{window[-1][0]}, "
            f"{len(values)} probes) the fixed probe batch's loss rose {ratio:.0%} as much as it fell, "
            f"by a typical {swing:.0%} of the trivial loss from one probe to the next; the steps are "
            "too noisy or too large to settle." + also,
            evidence,
            _advice(log),
        )
