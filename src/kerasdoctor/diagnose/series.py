"""Loss series read from a RunLog, shared by the rules."""

import math


def is_finite(value):
    return isinstance(value, (int, float)) and math.isfinite(value)


def probe_losses(log):
    """[(step, loss)] measured on the fixed probe batch, in step order."""
    return [(p["step"], p["loss"]) for p in log.probes if p.get("loss") is not None]


def epoch_losses(log, key="loss"):
    """[(step, loss)] of the training loss at each epoch end."""
    return [(e["step"], e["logs"][key]) for e in log.epochs if key in e.get("logs", {})]
