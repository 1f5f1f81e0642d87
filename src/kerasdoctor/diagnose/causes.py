"""Which findings can cause which: the table behind "symptom of", and what explains a crash.

A finding is marked as the symptom of an earlier-ranked one only when the table says that
cause can produce it; every other finding keeps its own fix. Data findings name their
problem (``evidence["problem"]``) because their problems cause different things: NaN
inputs poison everything, an imbalance only keeps accuracy at chance.
"""

from dataclasses import replace

from kerasdoctor.diagnose.rules.output_loss import CRASHING

_TRAINING = frozenset({
    "LEARNING_RATE_TOO_HIGH", "LOSS_OSCILLATING", "DYING_RELU", "VANISHING_GRADIENTS", "EXPLODING_GRADIENTS",
    "SATURATED_ACTIVATIONS", "FROZEN_OR_DEAD_LAYER", "LOSS_DIVERGED", "NAN_OR_INF", "NOT_LEARNING",
    "SLOW_CONVERGENCE", "UNDERFITTING",
})
_STALLED = frozenset({"NOT_LEARNING", "SLOW_CONVERGENCE", "UNDERFITTING"})

# cause (a code, or "CODE:problem") -> the codes it can produce.
CAUSES = {
    "BAD_INPUTS:non_finite": _TRAINING,
    "BAD_INPUTS:train_val_overlap": frozenset(),
    "BAD_LABELS:non_finite": frozenset({"NAN_OR_INF", "LOSS_DIVERGED", "EXPLODING_GRADIENTS", "NOT_LEARNING"}),
    "BAD_LABELS:constant": frozenset({"NOT_LEARNING", "DYING_RELU", "FROZEN_OR_DEAD_LAYER", "SLOW_CONVERGENCE"}),
    "BAD_LABELS:imbalance": _STALLED,
    "BAD_LABELS:unseen_classes": frozenset({"OVERFITTING"}),
    # A validation set missing classes judges accuracy and loss on the others only.
    "BAD_LABELS:missing_in_validation": frozenset({"NOT_LEARNING", "OVERFITTING", "UNDERFITTING"}),
    "OUTPUT_LOSS_MISMATCH": _TRAINING | {"LEARNING_RATE_TOO_LOW"},
    "INPUT_NOT_NORMALIZED": _TRAINING,
    "POOR_INITIALIZATION": _TRAINING | {"LEARNING_RATE_TOO_LOW"},
    "LEARNING_RATE_TOO_HIGH": _TRAINING - {"LEARNING_RATE_TOO_HIGH", "VANISHING_GRADIENTS", "SLOW_CONVERGENCE"},
    "LEARNING_RATE_TOO_LOW": _STALLED,
    "LOSS_OSCILLATING": _STALLED | {"LOSS_DIVERGED"},
    "DYING_RELU": _STALLED | {"FROZEN_OR_DEAD_LAYER", "VANISHING_GRADIENTS"},
    "SATURATED_ACTIVATIONS": _STALLED | {"VANISHING_GRADIENTS", "FROZEN_OR_DEAD_LAYER"},
    "VANISHING_GRADIENTS": _STALLED | {"FROZEN_OR_DEAD_LAYER", "LEARNING_RATE_TOO_LOW"},
    "EXPLODING_GRADIENTS": frozenset({"LOSS_DIVERGED", "NAN_OR_INF", "LOSS_OSCILLATING", "NOT_LEARNING"}),
    "FROZEN_OR_DEAD_LAYER": _STALLED,
    "LOSS_DIVERGED": frozenset({"NAN_OR_INF", "NOT_LEARNING"}),
    "NAN_OR_INF": frozenset({"NOT_LEARNING", "LOSS_DIVERGED"}),
}

# Static findings (read before training) whose problem makes Keras fail at the first step.
CRASHES = {"OUTPUT_LOSS_MISMATCH": CRASHING}


def _key(finding):
    problem = (finding.evidence or {}).get("problem")
    keyed = f"{finding.code}:{problem}"
    return keyed if keyed in CAUSES else finding.code


def can_cause(cause, symptom):
    """Whether the finding ``cause`` can produce the finding ``symptom``."""
    if cause.severity == "info" or symptom.severity == "info" or cause.code == symptom.code:
        return False
    if (symptom.evidence or {}).get("bottleneck"):  # an architecture limit, whatever else is wrong
        return False
    return symptom.code in CAUSES.get(_key(cause), frozenset())


def link(findings):
    """Marks each finding that an earlier-ranked one can cause with ``caused_by``: the first such
    cause, followed to its own cause (``findings`` are ranked, root causes first)."""
    linked = []
    for finding in findings:
        cause = next((c for c in linked if can_cause(c, finding)), None)
        if cause is not None:
            finding = replace(finding, caused_by=cause.caused_by or cause.code)
        linked.append(finding)
    return linked


def predicts_crash(finding):
    """Whether ``finding`` is a static error that makes training fail before it starts."""
    problems = set((finding.evidence or {}).get("problems") or [(finding.evidence or {}).get("problem")])
    return finding.severity == "error" and bool(problems & CRASHES.get(finding.code, frozenset()))


def crash_explanation(findings):
    """The findings that explain a crash of training (empty when none does)."""
    return [f for f in findings if predicts_crash(f)]
