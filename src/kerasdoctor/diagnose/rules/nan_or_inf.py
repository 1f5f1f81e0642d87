"""NAN_OR_INF: a NaN or infinite value in the loss, the gradients, the weights or the activations."""

from kerasdoctor.diagnose.base import Finding, Rule
from kerasdoctor.diagnose.series import is_finite

TRAINING_FIX = (
    "Lower the learning rate about 10x (a learning-rate range test finds one), clip gradients with "
    "clipnorm=1.0 in the optimizer, and look for log(0) or division by zero in a custom loss."
)


def _first_nonfinite_probe(log):
    for probe in log.probes:
        if probe.get("loss") is not None and not is_finite(probe["loss"]):
            return {"source": "loss", "step": probe["step"], "epoch": probe["epoch"]}
        for name, row in probe.get("variables", {}).items():
            for key, where in (("nonfinite_grad", "gradient"), ("nonfinite_weight", "weight")):
                if row.get(key):
                    return {"source": where, "variable": name, "step": probe["step"],
                            "epoch": probe["epoch"], "count": int(row[key])}
        for name, row in probe.get("layers", {}).items():
            if row.get("nonfinite"):
                return {"source": "activation", "layer": name, "step": probe["step"],
                        "epoch": probe["epoch"], "count": int(row["nonfinite"])}
    return None


def _first_nonfinite_epoch(log):
    for epoch in log.epochs:
        bad = sorted(k for k, v in epoch.get("logs", {}).items() if not is_finite(v))
        if bad:
            return {"source": "epoch_logs", "metrics": bad, "step": epoch["step"], "epoch": epoch["epoch"]}
    return None


class NanOrInf(Rule):
    """Fires on the first NaN/Inf produced during training (NaN in the data itself is BAD_INPUTS
    or BAD_LABELS, reported as the cause)."""

    code = "NAN_OR_INF"

    def check(self, log):
        candidates = [c for c in (_first_nonfinite_probe(log), _first_nonfinite_epoch(log)) if c]
        if not candidates:
            return None
        found = min(candidates, key=lambda c: c["step"])
        where = found.get("variable") or found.get("layer") or ", ".join(found.get("metrics", ["loss"]))
        return Finding(
            self.code, "error", found["step"],
            f"Training produced NaN/Inf ({found['source']}: {where}) at step {found['step']} "
            f"(epoch {found['epoch'] + 1}); from there on the weights are garbage.",
            found, TRAINING_FIX,
        )
