"""LOSS_DIVERGED: the training loss rose far above its best value, or blew up to NaN/Inf."""

from kerasdoctor.diagnose.base import Finding, Rule
from kerasdoctor.diagnose.series import epoch_losses, fit_to_trivial, is_finite, probe_losses

FIX = (
    "Lower the learning rate about 10x (a learning-rate range test finds one), add gradient "
    "clipping (clipnorm=1.0), and check that the inputs are scaled."
)


def _divergence(series, factor):
    """The first point where the loss exceeds ``factor`` x its best and its start and stays there
    at the next point (or the run ends there), or turns non-finite.

    One spike that the next point has recovered from is noise, not divergence: a long run's
    loss can touch zero on its fixed probe batch, and then any wobble is "many times its best".
    """
    finite = [(s, v) for s, v in series if is_finite(v)]
    if not finite:
        return None
    start = finite[0][1]
    best_step, best = finite[0]
    for index, (step, value) in enumerate(series):
        if not is_finite(value):
            return {"step": step, "loss": value, "best_loss": best, "best_step": best_step,
                    "initial_loss": start, "became": "non-finite"}
        above = lambda v: not is_finite(v) or (v > factor * best and v > start)
        following = series[index + 1][1] if index + 1 < len(series) else None
        if above(value) and (following is None or above(following)):
            ratio = f"{value / best:.1f}x its best" if best > 0 else f"{value:.4g} from a best of 0"
            return {"step": step, "loss": value, "best_loss": best, "best_step": best_step,
                    "initial_loss": start, "became": ratio}
        if value < best:
            best_step, best = step, value
    return None


def _recovered(series, divergence, factor):
    """True when the series ends back within ``factor`` x the best it had before diverging."""
    if divergence["became"] == "non-finite" or not series or not is_finite(series[-1][1]):
        return False
    return series[-1][1] <= factor * divergence["best_loss"]


class LossDiverged(Rule):
    """Fires when a loss series exceeds ``factor`` x its best value (and its start) at two
    consecutive points, or at its last one, or turns non-finite.

    Both the probe-batch loss (same batch every time, so comparable) and the
    epoch training loss are checked; the earliest divergence is reported.

    A divergence the run came back from (every diverged series ends within ``factor`` x the
    best it had before, and the run's fit, the lower of its last training and validation
    losses, is below ``trained_well`` of the trivial loss: `series.fit_to_trivial`) is marked
    in the evidence (``recovered_to_trivial``); `diagnose` reports it as information when no
    other training rule found a problem: a spike, not a lost run.

    Args:
        factor: how many times its best the loss must grow to count as diverged.
        trained_well: the run's fit (`series.fit_to_trivial`), as a share of the trivial loss,
            below which a run whose loss came back counts as recovered.
    """

    code = "LOSS_DIVERGED"

    def __init__(self, factor=4.0, trained_well=0.5):
        if not factor > 1:
            raise ValueError(
                "Argument `factor` must be greater than 1: the loss must grow to factor x "
                f"its best value to count as diverged. Received: factor={factor}"
            )
        if not 0 < trained_well <= 1:
            raise ValueError(f"Argument `trained_well` must be in (0, 1]. Received: trained_well={trained_well}")
        self.factor, self.trained_well = factor, trained_well

    def check(self, log):
        series = {"probe": probe_losses(log), "epoch": epoch_losses(log)}
        found = [
            dict(d, series=name)
            for name, values in series.items()
            if (d := _divergence(values, self.factor)) is not None
        ]
        if not found:
            return None
        level = fit_to_trivial(log)
        recovered = (level is not None and level < self.trained_well
                     and all(_recovered(series[d["series"]], d, self.factor) for d in found))
        first = min(found, key=lambda d: d["step"])
        first["factor"] = self.factor
        rates = [e.get("learning_rate") for e in log.epochs if e.get("learning_rate") is not None]
        if rates:
            first["learning_rate"] = rates[0]
        loss = f"{first['loss']:.4g}" if is_finite(first["loss"]) else str(first["loss"])
        message = (f"The training loss diverged at step {first['step']}: it went from a best of "
                   f"{first['best_loss']:.4g} (step {first['best_step']}) to {loss} ({first['became']}).")
        if recovered:
            first["recovered_to_trivial"] = level
        return Finding(self.code, "error", first["step"], message, first, FIX)
