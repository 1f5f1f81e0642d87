"""How the loss moves: NOT_LEARNING, SLOW_CONVERGENCE, OVERFITTING, UNDERFITTING (LOSS_OSCILLATING has
its own module and is imported here, where it was first defined)."""

from kerasdoctor.diagnose.base import Finding, Rule
from kerasdoctor.diagnose.rules.loss_oscillating import LossOscillating  # noqa: F401
from kerasdoctor.diagnose.series import (
    chance_accuracy, epoch_values, fit_to_trivial, hidden_only, is_classification, is_finite, kernel_layers,
    labels, metric_name, output_units, trivial_loss,
)


def _fraction(name, value, high=1.0):
    if not 0 < value <= high:
        raise ValueError(f"Argument `{name}` must be in (0, {high}]. Received: {name}={value}")


def _minimum(name, value, low):
    if not (isinstance(value, int) and value >= low):
        raise ValueError(f"Argument `{name}` must be an integer >= {low}. Received: {name}={value}")


def _finite(values):
    return [v for v in values if is_finite(v)]


def _accuracy(log, prefix=""):
    name = metric_name(log)
    return _finite(epoch_values(log, prefix + name)) if name else []


class NotLearning(Rule):
    """Fires when, after a few epochs, a classifier's accuracy is still at chance (on validation
    when there is one), or a regression's loss is still at the trivial value (a constant prediction).

    Args:
        min_epochs: epochs to wait before judging.
        trivial_fraction: the loss counts as trivial above this share of the trivial loss.
        chance_margin: accuracy counts as chance below chance + margin x (1 - chance).
    """

    code = "NOT_LEARNING"

    def __init__(self, min_epochs=2, trivial_fraction=0.9, chance_margin=0.1):
        _minimum("min_epochs", min_epochs, 1)
        _fraction("trivial_fraction", trivial_fraction)
        _fraction("chance_margin", chance_margin)
        self.min_epochs, self.trivial_fraction, self.chance_margin = min_epochs, trivial_fraction, chance_margin

    def check(self, log):
        if len(log.epochs) < self.min_epochs:
            return None
        trivial = trivial_loss(log)
        evidence = {"epochs": len(log.epochs), "trivial_loss": trivial}
        losses = _finite(epoch_values(log, "loss"))
        if losses:
            evidence["best_loss"] = min(losses)
        chance = chance_accuracy(log) if is_classification(log) else None
        val_accuracy, accuracy = _accuracy(log, "val_"), _accuracy(log)
        if chance is not None and (val_accuracy or accuracy):
            # Classification: judged by accuracy, on validation when there is one. A training
            # loss that falls while validation stays at chance is memorization, not learning.
            best = max(val_accuracy or accuracy)
            evidence.update(chance_accuracy=chance, best_accuracy=best,
                            judged_on="validation" if val_accuracy else "training")
            if best > chance + self.chance_margin * (1 - chance):
                return None
            where = "below" if best < chance else "at"
            what = (f"the best {evidence['judged_on']} accuracy {best:.3f} is {where} chance ({chance:.3f}, "
                    "always predicting the most common class)")
            if trivial and losses:
                what += f"; the training loss is {min(losses) / trivial:.0%} of the trivial loss {trivial:.4g}"
        else:
            values = _finite(epoch_values(log, "val_loss")) or losses
            if values is not losses:  # judged on validation: its own labels' trivial loss
                trivial = trivial_loss(log, "val")
                evidence["trivial_loss"] = trivial
            if not trivial or not values:
                return None
            best = min(values)
            evidence.update(best_judged_loss=best, judged_on="validation" if epoch_values(log, "val_loss") else "training")
            if best < self.trivial_fraction * trivial:
                return None
            what = (f"the best {evidence['judged_on']} loss {best:.4g} is {best / trivial:.0%} of the trivial "
                    f"loss {trivial:.4g} (what the best constant prediction gives)")
        return Finding(
            self.code, "error", log.epochs[-1]["step"],
            f"The model is not learning after {len(log.epochs)} epochs: {what}.",
            evidence,
            "Check that the labels match the inputs (shuffle x and y together), then the learning rate "
            "(a range test), the output activation and loss, and the input scaling; overfit 10 samples "
            "first to prove the model can learn at all.",
        )


# A training loss that fell by at least this share of the trivial loss over the last third of the
# epochs is still falling (SLOW_CONVERGENCE says so; UNDERFITTING then says it improves slowly, not
# that it stopped).
STILL_FALLING = 0.02


class SlowConvergence(Rule):
    """Reports a loss that is still falling steadily at the end but has covered little ground.

    Args:
        max_progress: the loss counts as far from done above this share of the trivial loss.
        min_epochs: epochs to wait before judging.
    """

    code = "SLOW_CONVERGENCE"

    def __init__(self, max_progress=0.5, min_epochs=4):
        _fraction("max_progress", max_progress)
        _minimum("min_epochs", min_epochs, 2)
        self.max_progress, self.min_epochs = max_progress, min_epochs

    def check(self, log):
        losses = _finite(epoch_values(log, "loss"))
        trivial = trivial_loss(log)
        if len(losses) < self.min_epochs or not trivial:
            return None
        third = max(len(losses) // 3, 1)
        recent_drop = (losses[-third - 1] - losses[-1]) / trivial
        level = losses[-1] / trivial
        if level < self.max_progress or level >= 0.9 or recent_drop < STILL_FALLING:
            return None
        return Finding(
            self.code, "info", log.epochs[-1]["step"],
            f"Training converges slowly: after {len(losses)} epochs the loss is {level:.0%} of the trivial "
            f"loss and still falling ({recent_drop:.1%} of it over the last {third} epoch(s)).",
            {"loss_to_trivial": level, "recent_drop": recent_drop, "epochs": len(losses)},
            "Train longer, or raise the learning rate / use one-cycle; Adam usually converges faster than "
            "plain SGD at its defaults.",
        )


def _longest_wait(values):
    """The most epochs in a row without a new best, in a series that ends at its best: how long
    the validation loss waited between improvements while it was still improving."""
    best, wait, longest = float("inf"), 0, 0
    for value in values:
        if is_finite(value) and value < best:
            best, wait = value, 0
        else:
            wait += 1
            longest = max(longest, wait)
    return longest


class Overfitting(Rule):
    """Fires when the validation loss ends far above the training loss, with a real accuracy gap,
    and has stopped improving.

    How much it matters is read on the score the user watches. A warning when the validation
    score trails the training score by ``warn_score_gap`` or more (accuracy points for a
    classifier; for a regression the loss gap as a share of the trivial loss, which for MSE is
    the difference of the two R^2), or when the training set has fewer than
    ``min_samples_per_class`` examples per class (the data, not the schedule, limits what the
    model can learn). Otherwise information: the validation loss rises because the model grows
    over-confident on the validation examples it gets wrong, while it gets about as many of them
    right as it did at its best (Guo et al., 2017, "On Calibration of Modern Neural Networks",
    saw the same split between loss and accuracy).

    A validation loss that is still at its best in the last epochs is not made worse by the
    training: the gap is the model's, and stopping earlier would not help. That is judged over
    the last ``recent_share`` of the epochs (at least the last one).

    When a callback restored an earlier epoch's weights at the end of training (the Monitor
    records ``restored_epoch``: ``EarlyStopping(restore_best_weights=True)``), the model the
    run returns is that epoch's, and the run is judged as it stood then: what the epochs after
    it did to the validation loss did not reach the returned model.

    Args:
        min_ratio: the smallest (validation loss / training loss) at the end.
        min_gap: the smallest (validation - training loss), as a share of the trivial loss.
        min_accuracy_gap: the smallest (training - validation accuracy), when accuracy is logged.
        min_epochs: epochs to wait before judging.
        recent_share: the share of the last epochs in which a best validation loss counts as
            still improving.
        warn_score_gap: the smallest gap between the training and validation scores that makes
            the finding a warning.
        min_samples_per_class: below this many training samples per class, the finding is a
            warning whatever the gap.
    """

    code = "OVERFITTING"

    def __init__(self, min_ratio=2.0, min_gap=0.15, min_accuracy_gap=0.05, min_epochs=3, recent_share=0.1,
                 warn_score_gap=0.1, min_samples_per_class=30):
        if not min_ratio > 1:
            raise ValueError(f"Argument `min_ratio` must be greater than 1. Received: min_ratio={min_ratio}")
        _fraction("min_gap", min_gap, high=10.0)
        _fraction("min_accuracy_gap", min_accuracy_gap)
        _minimum("min_epochs", min_epochs, 2)
        if not 0 <= recent_share < 1:
            raise ValueError(f"Argument `recent_share` must be in [0, 1). Received: recent_share={recent_share}")
        _fraction("warn_score_gap", warn_score_gap)
        _minimum("min_samples_per_class", min_samples_per_class, 1)
        self.min_ratio, self.min_gap = min_ratio, min_gap
        self.min_accuracy_gap, self.min_epochs, self.recent_share = min_accuracy_gap, min_epochs, recent_share
        self.warn_score_gap, self.min_samples_per_class = warn_score_gap, min_samples_per_class

    def check(self, log):
        restored = (log.end or {}).get("restored_epoch")
        if restored is not None:
            log = log.until(epoch=restored)
        train, val = epoch_values(log, "loss"), epoch_values(log, "val_loss")
        if len(val) < self.min_epochs or not (_finite(train[-1:]) and _finite(val[-1:])):
            return None
        recent = max(1, int(self.recent_share * len(val)))
        if min(_finite(val[-recent:]) or [float("inf")]) <= min(_finite(val)):
            return None  # the validation loss is still at its best: training has not hurt it yet
        scale = trivial_loss(log) or max(abs(train[0]), 1e-12)
        ratio = val[-1] / max(train[-1], 1e-12)
        gap = (val[-1] - train[-1]) / scale
        if ratio < self.min_ratio or gap < self.min_gap:
            return None
        evidence = {"train_loss": train[-1], "val_loss": val[-1], "ratio": ratio, "gap_to_trivial": gap,
                    "best_val_loss": min(_finite(val)), "best_val_epoch": val.index(min(_finite(val))) + 1,
                    "longest_wait_before_best": _longest_wait(val[:val.index(min(_finite(val))) + 1])}
        accuracy, val_accuracy = _accuracy(log), _accuracy(log, "val_")
        if accuracy and val_accuracy:
            evidence["accuracy_gap"] = accuracy_gap = accuracy[-1] - val_accuracy[-1]
            if accuracy_gap < self.min_accuracy_gap:
                return None
        samples = (log.data("train") or {}).get("samples")
        params = (log.model or {}).get("trainable_params")
        evidence.update(train_samples=samples, trainable_params=params)
        if restored is not None:
            evidence["restored_epoch"] = restored + 1
        severity, note = self._severity(log, evidence)
        return Finding(
            self.code, severity, log.epochs[-1]["step"],
            f"The model overfits: the validation loss {val[-1]:.4g} is {ratio:.1f}x the training loss "
            f"{train[-1]:.4g} (best validation loss {evidence['best_val_loss']:.4g} at epoch "
            f"{evidence['best_val_epoch']})"
            + (f"; training accuracy is {evidence['accuracy_gap']:.1%} above validation" if "accuracy_gap" in evidence else "")
            + (f". {params} weights for {samples} training samples." if samples and params else ".")
            + (f" These are the weights of epoch {restored + 1}, restored at the end of training; the "
               "validation loss had stopped improving by then." if restored is not None else "")
            + note,
            evidence,
            "Get more data or augment it, add regularization (Dropout, weight_decay in AdamW, L2), use a "
            "smaller model, and stop at the best epoch (keras.callbacks.EarlyStopping(restore_best_weights=True)).",
        )

    def _severity(self, log, evidence):
        """("warning" or "info", a sentence for the message) from the score gap and the data."""
        if "accuracy_gap" in evidence:
            score_gap = evidence["accuracy_gap"]
            holds = f"The validation accuracy stays within {100 * score_gap:.1f} points of the training accuracy"
        elif not is_classification(log):
            score_gap = evidence["gap_to_trivial"]
            holds = f"The validation loss stays within {score_gap:.0%} of the trivial loss of the training loss"
        else:
            return "warning", ""  # a classifier without an accuracy metric: nothing to weigh it by
        evidence["score_gap"] = score_gap
        classes = labels(log).get("num_classes") if is_classification(log) else None
        samples = evidence.get("train_samples")
        if classes and samples:
            evidence["samples_per_class"] = per_class = samples / classes
            if per_class < self.min_samples_per_class:
                return "warning", (f" With {per_class:.0f} training samples per class, the data limits what "
                                   "the model can learn.")
        if score_gap >= self.warn_score_gap:
            return "warning", ""
        return "info", (f" {holds}: the model grows over-confident on the validation examples it gets "
                        "wrong rather than getting more of them wrong, so this is information; stopping at the "
                        "best epoch gives back the lower validation loss.")


class Underfitting(Rule):
    """Fires when the model fits its own training data poorly, with no generalization gap, and
    either has a layer narrower than its output or has stopped improving far from a fit.

    The fit is the lower of the last training loss and the last validation loss (each as a share
    of its own labels' trivial loss): with Dropout the training loss is computed on a thinned
    network, and the validation loss shows how the same weights fit in inference mode.

    Args:
        min_loss: with a bottleneck, the training loss counts as high above this share of the
            trivial loss.
        min_plateau_loss: without one, the share of the trivial loss a stalled loss must stay
            above (a noisy task also stalls at a moderate loss: that is the data's limit).
        max_ratio: the largest (validation loss / training loss) for "no gap".
        plateau: the largest improvement over the last third of the epochs, as a share of the
            trivial loss, for "stopped improving".
        min_epochs: epochs to wait before judging.
    """

    code = "UNDERFITTING"

    def __init__(self, min_loss=0.3, min_plateau_loss=0.6, max_ratio=1.3, plateau=0.05, min_epochs=3):
        _fraction("min_loss", min_loss)
        _fraction("min_plateau_loss", min_plateau_loss)
        _fraction("plateau", plateau)
        _minimum("min_epochs", min_epochs, 2)
        self.min_loss, self.min_plateau_loss, self.max_ratio = min_loss, min_plateau_loss, max_ratio
        self.plateau, self.min_epochs = plateau, min_epochs

    def check(self, log):
        train, val = _finite(epoch_values(log, "loss")), _finite(epoch_values(log, "val_loss"))
        trivial = trivial_loss(log)
        if len(train) < self.min_epochs or not trivial:
            return None
        level = train[-1] / trivial
        if not level < 0.9:  # higher is NOT_LEARNING
            return None
        if val and val[-1] > self.max_ratio * train[-1]:
            return None
        # How well the model fits, read where it fits best (`series.fit_to_trivial`).
        fit = fit_to_trivial(log)
        if fit < self.min_loss:
            return None
        third = max(len(train) // 3, 1)
        recent = (train[-third - 1] - train[-1]) / trivial
        units = output_units(log) or 1
        # Only Dense layers: a conv layer's width is multiplied by its spatial positions.
        hidden = [l for l in hidden_only([l for l, _ in kernel_layers(log)], log)
                  if l.get("units") and l.get("class_name") == "Dense"]
        narrowest = min(hidden, key=lambda l: l["units"]) if hidden else None
        bottleneck = narrowest is not None and units > 1 and narrowest["units"] < units
        stalled = recent < self.plateau and fit >= self.min_plateau_loss
        if not (bottleneck or stalled):
            return None
        evidence = {"loss_to_trivial": level, "fit_to_trivial": fit, "train_loss": train[-1], "trivial_loss": trivial,
                    "recent_improvement": recent, "epochs": len(train),
                    "trainable_params": (log.model or {}).get("trainable_params")}
        why = f"the training loss is still {level:.0%} of the trivial loss {trivial:.4g}"
        if bottleneck:
            evidence["bottleneck"] = [narrowest["name"], narrowest["units"], units]
            why += (f", and layer {narrowest['name']} has {narrowest['units']} units for {units} outputs, "
                    "a bottleneck no training can get past")
        else:
            epochs = f"the last {third} epoch{'s' if third != 1 else ''}"
            if recent < 0:
                why += f" and rose by {-recent:.1%} of it over {epochs}"
            elif recent < STILL_FALLING:
                why += f" and stopped improving ({recent:.1%} of it over {epochs})"
            else:
                why += f" and improves only slowly ({recent:.1%} of it over {epochs})"
        return Finding(
            self.code, "warning", log.epochs[-1]["step"],
            f"The model underfits: {why}; validation is no worse than training, so more capacity "
            "or more training is what helps.",
            evidence,
            "Make the model wider or deeper (no hidden layer narrower than the output), train longer or "
            "with a higher learning rate, and reduce regularization.",
        )
