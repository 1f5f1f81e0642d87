"""Scores a diagnosis against ground truth, and finds when a finding first appeared."""

from kerasdoctor.diagnose import diagnose, severity_rank

WARNING = severity_rank("warning")


def serious(findings):
    """Codes of the findings of severity warning or above, in ranked order."""
    return [f.code for f in findings if severity_rank(f.severity) >= WARNING]


def prefixes(log):
    """(completed epochs, seconds, prefix log): before the first epoch ends, then after each epoch.

    The first prefix holds what is known before training (model, data) and the
    probe of the initial weights.
    """
    yield 0, 0.0, log.until(step=0)
    seconds = 0.0
    for epoch in log.epochs:
        seconds += epoch["seconds"]
        yield epoch["epoch"] + 1, seconds, log.until(epoch=epoch["epoch"])


def first_seen(log, codes, rules=None):
    """(epochs, seconds) of the first prefix whose diagnosis holds every code in ``codes``; else None."""
    for epochs, seconds, prefix in prefixes(log):
        found = set(serious(diagnose(prefix, rules)))
        if set(codes) <= found:
            return epochs, seconds
    return None


def score(codes, findings):
    """Detected (every expected code at warning or above) and root cause right (the first finding)."""
    found = serious(findings)
    if not codes:
        return {"detected": None, "root_cause": None, "false_positive": bool(found)}
    return {
        "detected": set(codes) <= set(found),
        "root_cause": bool(findings) and findings[0].code == codes[0],
        "false_positive": None,
    }
