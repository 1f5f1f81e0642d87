"""Judge: pure rules over a RunLog that produce Findings. Never imports Keras."""

from dataclasses import replace

from kerasdoctor.diagnose.base import SEVERITIES, Finding, Rule, severity_rank
from kerasdoctor.diagnose.causes import CAUSES, crash_explanation, link
from kerasdoctor.diagnose.rules.activations import DyingRelu, FrozenOrDeadLayer, SaturatedActivations
from kerasdoctor.diagnose.rules.data import BadInputs, BadLabels, InputNotNormalized
from kerasdoctor.diagnose.rules.gradients import ExplodingGradients, VanishingGradients
from kerasdoctor.diagnose.rules.initialization import PoorInitialization
from kerasdoctor.diagnose.rules.learning_rate import LearningRateTooHigh, LearningRateTooLow
from kerasdoctor.diagnose.rules.loss_diverged import LossDiverged
from kerasdoctor.diagnose.rules.nan_or_inf import NanOrInf
from kerasdoctor.diagnose.rules.output_loss import OutputLossMismatch
from kerasdoctor.diagnose.rules.progress import (
    LossOscillating, NotLearning, Overfitting, SlowConvergence, Underfitting,
)
from kerasdoctor.diagnose.series import epoch_values, is_finite, trivial_loss

RULES = (
    BadInputs, BadLabels, OutputLossMismatch, InputNotNormalized, PoorInitialization,
    LearningRateTooHigh, LearningRateTooLow, LossOscillating,
    DyingRelu, VanishingGradients, ExplodingGradients, SaturatedActivations, FrozenOrDeadLayer,
    LossDiverged, NanOrInf, NotLearning, SlowConvergence, Overfitting, Underfitting,
)

# Causes before effects: bad data breaks everything after it; a mismatched output, unscaled
# inputs or a bad initializer break the gradients; a learning rate that is off makes the loss
# diverge or stall; the per-layer symptoms come next, then what the loss curve shows.
CAUSE_ORDER = {
    "BAD_INPUTS": 0, "BAD_LABELS": 0,
    "OUTPUT_LOSS_MISMATCH": 1,
    "INPUT_NOT_NORMALIZED": 2,
    "POOR_INITIALIZATION": 3,
    "LEARNING_RATE_TOO_HIGH": 4, "LEARNING_RATE_TOO_LOW": 4,
    "LOSS_OSCILLATING": 5,
    "DYING_RELU": 6, "VANISHING_GRADIENTS": 6, "EXPLODING_GRADIENTS": 6, "SATURATED_ACTIVATIONS": 6,
    "FROZEN_OR_DEAD_LAYER": 7,
    "LOSS_DIVERGED": 8,
    "NAN_OR_INF": 9,
    "NOT_LEARNING": 10, "SLOW_CONVERGENCE": 10,
    "OVERFITTING": 11, "UNDERFITTING": 11,
}


def default_rules():
    return [rule() for rule in RULES]


def _order(finding):
    return CAUSE_ORDER.get(finding.code, len(CAUSE_ORDER))


def rank(findings):
    """Warnings and errors before information; within them the most likely root cause first,
    then the most severe, then the earliest."""
    return sorted(
        findings,
        key=lambda f: (
            f.severity == "info",
            _order(f),
            -severity_rank(f.severity),
            f.step if f.step is not None else -1,
        ),
    )


# Codes of the rules that read the model and the data before training: what they say is true
# of the configuration whether or not the run goes well.
STATIC_CODES = ("BAD_INPUTS", "BAD_LABELS", "OUTPUT_LOSS_MISMATCH", "INPUT_NOT_NORMALIZED", "POOR_INITIALIZATION")
TRAINED_WELL = 0.5  # the training loss fell below this share of the trivial loss


def trained_despite(findings, log):
    """Static findings of a run that trained well (no finding from the training rules, the loss
    far below the trivial one) become warnings that say so: the defect is real, but this model
    copes with it."""
    if len(log.epochs) < 2 or any(f.code not in STATIC_CODES and f.severity != "info" for f in findings):
        return findings
    losses = [v for v in epoch_values(log, "loss") if is_finite(v)]
    trivial = trivial_loss(log)
    if not losses or not trivial or min(losses) > TRAINED_WELL * trivial:
        return findings
    note = (f" This model trained despite it: the training loss fell to {min(losses) / trivial:.0%} of the "
            "trivial loss, and no training rule found a problem.")
    return [replace(f, severity="warning", message=f.message + note,
                    evidence={**(f.evidence or {}), "trained_despite": True}) if f.code in STATIC_CODES else f
            for f in findings]


def recovered(findings):
    """Findings about the first steps or a spike (evidence ``recovered_to_trivial``) of a run that
    came back and trained well become information, when they are its only training problems:
    the run did not suffer from what they describe. Beside any other training finding they keep
    their severity (they may be its cause)."""
    if not any((f.evidence or {}).get("recovered_to_trivial") is not None for f in findings):
        return findings
    if any(f.code not in STATIC_CODES and f.severity != "info" and (f.evidence or {}).get("recovered_to_trivial") is None
           for f in findings):
        return findings
    return [replace(f, severity="info", message=f.message + (
                f" The run recovered: its loss at the end is {f.evidence['recovered_to_trivial']:.0%} "
                "of the trivial loss, and no other training rule found a problem."))
            if (f.evidence or {}).get("recovered_to_trivial") is not None and f.severity != "info" else f
            for f in findings]


def blocking(findings):
    """The findings that say a run is not healthy: warnings and errors, except static findings
    of a run that trained despite them."""
    return [f for f in findings if f.severity != "info" and not (f.evidence or {}).get("trained_despite")]


def diagnose(log, rules=None):
    """Runs every rule on ``log`` and returns the findings, root cause first."""
    rules = default_rules() if rules is None else rules
    findings = trained_despite(recovered([f for f in (rule.check(log) for rule in rules) if f is not None]), log)
    return link(rank(findings))


__all__ = ["CAUSES", "CAUSE_ORDER", "Finding", "Rule", "RULES", "SEVERITIES", "STATIC_CODES", "crash_explanation",
           "diagnose", "blocking", "rank", "recovered", "severity_rank", "trained_despite"]
