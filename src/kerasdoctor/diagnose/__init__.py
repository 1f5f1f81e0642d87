"""Judge: pure rules over a RunLog that produce Findings. Never imports Keras."""

from kerasdoctor.diagnose.base import SEVERITIES, Finding, Rule, severity_rank
from kerasdoctor.diagnose.rules.loss_diverged import LossDiverged
from kerasdoctor.diagnose.rules.nan_or_inf import NanOrInf

RULES = (NanOrInf, LossDiverged)


def default_rules():
    return [rule() for rule in RULES]


def _root_cause_order(finding):
    # Bad data causes everything after it; a divergence causes the NaN that follows it.
    if finding.code == "NAN_OR_INF" and finding.evidence.get("source") == "data":
        return 0
    return {"LOSS_DIVERGED": 1, "NAN_OR_INF": 2}.get(finding.code, 3)


def rank(findings):
    """Most likely root cause first, then most severe, then earliest."""
    return sorted(
        findings,
        key=lambda f: (
            _root_cause_order(f),
            -severity_rank(f.severity),
            f.step if f.step is not None else -1,
        ),
    )


def diagnose(log, rules=None):
    """Runs every rule on ``log`` and returns the findings, root cause first."""
    rules = default_rules() if rules is None else rules
    return rank([f for f in (rule.check(log) for rule in rules) if f is not None])


__all__ = ["Finding", "Rule", "RULES", "SEVERITIES", "diagnose", "rank", "severity_rank"]
