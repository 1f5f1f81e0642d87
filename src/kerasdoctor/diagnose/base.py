"""Findings and the Rule contract: a rule is a pure function of a frozen RunLog."""

from dataclasses import asdict, dataclass, field

SEVERITIES = ("info", "warning", "error")


def severity_rank(severity):
    """0 for info, 1 for warning, 2 for error."""
    if severity not in SEVERITIES:
        raise ValueError(f"Severity must be one of {SEVERITIES}. Received: severity={severity!r}")
    return SEVERITIES.index(severity)


@dataclass(frozen=True)
class Finding:
    """What is wrong, where it was first seen, the numbers behind it and the fix."""

    code: str
    severity: str
    step: int | None
    message: str
    evidence: dict = field(default_factory=dict)
    fix: str = ""
    caused_by: str | None = None  # the code of the root-cause finding this one is a symptom of

    def __post_init__(self):
        severity_rank(self.severity)

    def to_dict(self):
        return asdict(self)


class Rule:
    """Base class: subclasses set ``code`` and implement ``check``.

    ``check`` reads the log and returns a Finding or None. It never trains,
    never imports Keras and never changes the log. Thresholds are arguments of
    ``__init__`` and are validated there.
    """

    code = ""

    def check(self, log):
        raise NotImplementedError
