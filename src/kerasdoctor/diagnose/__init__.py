"""Judge: pure rules over a RunLog that produce Findings. Never imports Keras."""

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


def diagnose(log, rules=None):
    """Runs every rule on ``log`` and returns the findings, root cause first."""
    rules = default_rules() if rules is None else rules
    return link(rank([f for f in (rule.check(log) for rule in rules) if f is not None]))


__all__ = ["CAUSES", "CAUSE_ORDER", "Finding", "Rule", "RULES", "SEVERITIES", "crash_explanation", "diagnose",
           "rank", "severity_rank"]
