"""LEARNING_RATE_TOO_HIGH and LEARNING_RATE_TOO_LOW, from how far each step moves the weights."""

from kerasdoctor.diagnose.base import Finding, Rule
from kerasdoctor.diagnose.series import (
    fit_to_trivial, is_finite, median, per_step_updates, probe_losses, trivial_loss,
)

EARLY_INTERVALS = 5


def _early_update(log, intervals=EARLY_INTERVALS, largest=False):
    """(median per-step update ratio over the first probe intervals, their count, first step).

    Per interval the typical kernel counts (median over kernels), or with ``largest`` the
    fastest-moving one.
    """
    updates = per_step_updates(log, largest=largest)[:intervals]
    if not updates:
        return None, 0, None
    return median([u for _, u in updates]), len(updates), updates[0][0]


def _learning_rate(log):
    for epoch in log.epochs:
        if epoch.get("learning_rate") is not None:
            return epoch["learning_rate"]
    optimizer = (log.model or {}).get("optimizer") or {}
    value = (optimizer.get("config") or {}).get("learning_rate")
    return value if isinstance(value, (int, float)) else None


def _optimizer_name(log):
    return ((log.model or {}).get("optimizer") or {}).get("name", "the optimizer")


def _check_fraction(name, value):
    if not 0 < value < 1:
        raise ValueError(f"Argument `{name}` must be in (0, 1). Received: {name}={value}")


class LearningRateTooHigh(Rule):
    """Fires when the first steps change the weights by a large fraction of their size while the
    probe-batch loss does not fall, or the probe-batch loss blows up within the first epoch.

    Both are what the first steps do. When the run then trains well anyway (its fit, the lower
    of its last training and validation losses, below ``trained_well`` of the trivial loss:
    `series.fit_to_trivial`) the evidence says so
    (``recovered_to_trivial``), and `diagnose` reports the finding as information when no other
    training rule found a problem: the rate did not keep the model from fitting.

    Args:
        max_update: the largest per-step update ratio ||dW|| / ||W|| of a typical kernel
            (about 1e-3 is healthy; Karpathy's rule of thumb).
        blowup: the probe-batch loss rising this many times above its start in the first epoch.
        trained_well: the run's fit (`series.fit_to_trivial`), as a share of the trivial loss,
            below which the run counts as recovered.
    """

    code = "LEARNING_RATE_TOO_HIGH"

    def __init__(self, max_update=0.05, blowup=4.0, trained_well=0.5):
        _check_fraction("max_update", max_update)
        if not blowup > 1:
            raise ValueError(f"Argument `blowup` must be greater than 1. Received: blowup={blowup}")
        _check_fraction("trained_well", trained_well)
        self.max_update, self.blowup, self.trained_well = max_update, blowup, trained_well

    def check(self, log):
        finding = self._early(log)
        level = fit_to_trivial(log)
        if finding is not None and level is not None and level < self.trained_well:
            finding.evidence["recovered_to_trivial"] = level
        return finding

    def _early(self, log):
        lr, optimizer = _learning_rate(log), _optimizer_name(log)
        update, count, step = _early_update(log)
        evidence = {"learning_rate": lr, "optimizer": optimizer, "early_update_ratio": update,
                    "intervals": count, "max_update": self.max_update}
        fix = (f"Lower the learning rate (now {lr:.3g}) 10-100x; a learning-rate range test finds the "
               "largest stable one (`keras-doctor lr-find WORKLOAD`, or kerasdoctor.lr_find(model, x, y) "
               "from Python). Add clipnorm=1.0 and a warm-up if large rates are needed."
               if lr is not None else "Lower the learning rate 10-100x and add clipnorm=1.0.")
        if update is not None and update > self.max_update and not self._loss_fell(log):
            evidence["sign"] = "early_update_ratio"
            return Finding(
                self.code, "error", step,
                f"The learning rate is too high: each of the first steps changes a typical kernel by "
                f"{update:.1%} of its norm (healthy training moves about 0.1%); {optimizer} at "
                f"lr={lr if lr is None else f'{lr:.3g}'} throws the weights around.",
                evidence, fix,
            )
        first_epoch = [(p["step"], p["loss"]) for p in log.probes
                       if p.get("epoch") == 0 and p.get("loss") is not None]
        if len(first_epoch) >= 2 and is_finite(first_epoch[0][1]) and first_epoch[0][1] > 0:
            start = first_epoch[0][1]
            for s, value in first_epoch[1:]:
                if not is_finite(value) or value > self.blowup * start:
                    evidence.update(sign="loss_blowup", initial_loss=start, loss=value, blowup=self.blowup)
                    return Finding(
                        self.code, "error", s,
                        f"The learning rate is too high: within the first epoch the probe-batch loss went "
                        f"from {start:.4g} to {value:.4g} at step {s}.",
                        evidence, fix,
                    )
        return None


    @staticmethod
    def _loss_fell(log):
        """True when the probe-batch loss at the end of the early steps is below its start: steps
        that large still find their way down (a high rate with Adam on small weights), so the
        rate is not what holds training back."""
        updates = per_step_updates(log)[:EARLY_INTERVALS]
        losses = dict(probe_losses(log))
        start, end = losses.get(0), losses.get(updates[-1][0]) if updates else None
        return is_finite(start) and is_finite(end) and end < start


class LearningRateTooLow(Rule):
    """Fires when the steps barely move even the fastest-moving kernel and the loss has barely
    moved either.

    Args:
        min_update: the smallest healthy per-step update ratio of the fastest-moving kernel.
        min_progress: the share of its initial value the loss must have fallen by, else
            training counts as stalled.
        min_intervals: how many probe intervals are needed.
    """

    code = "LEARNING_RATE_TOO_LOW"

    def __init__(self, min_update=1e-4, min_progress=0.1, min_intervals=3):
        _check_fraction("min_update", min_update)
        _check_fraction("min_progress", min_progress)
        self.min_update, self.min_progress, self.min_intervals = min_update, min_progress, min_intervals

    def check(self, log):
        # The fastest-moving kernel: when gradients vanish, the early layers barely move under
        # any learning rate, but the output layer still would if the rate were right.
        update, count, step = _early_update(log, largest=True)
        if update is None or count < self.min_intervals or update >= self.min_update or update == 0:
            return None
        losses = [v for _, v in probe_losses(log) if is_finite(v)]
        if len(losses) < 2:
            return None
        start, best = losses[0], min(losses)
        reference = trivial_loss(log) or start
        progress = (start - best) / max(abs(reference), 1e-12)
        if progress >= self.min_progress:
            return None
        lr, optimizer = _learning_rate(log), _optimizer_name(log)
        return Finding(
            self.code, "warning", step,
            f"The learning rate is too low: a step changes even the fastest-moving kernel by only {update:.1e} of its "
            f"norm, and the loss has fallen {progress:.1%} (from {start:.4g} to {best:.4g}). "
            f"{optimizer} at lr={lr if lr is None else f'{lr:.3g}'} would need far more epochs.",
            {"learning_rate": lr, "optimizer": optimizer, "early_update_ratio": update, "progress": progress,
             "initial_loss": start, "best_loss": best, "min_update": self.min_update,
             "min_progress": self.min_progress},
            "Raise the learning rate 10-100x (a learning-rate range test finds a good one; 1e-3 is Adam's "
            "usual start), or use a schedule such as one-cycle.",
        )
