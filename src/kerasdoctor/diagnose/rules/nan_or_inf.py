"""NAN_OR_INF: a NaN or infinite value in the data, the loss, the gradients or the weights."""

from kerasdoctor.diagnose.base import Finding, Rule
from kerasdoctor.diagnose.series import is_finite

DATA_FIX = (
    "Clean the data before training: find the rows with np.isnan(x).any(axis=1), then drop "
    "them or impute (sklearn.impute.SimpleImputer); np.nan_to_num replaces Inf."
)
TRAINING_FIX = (
    "Lower the learning rate about 10x (a learning-rate range test finds one), clip gradients with "
    "clipnorm=1.0 in the optimizer, and look for log(0) or division by zero in a custom loss."
)


def _data_nonfinite(log):
    for split in ("train", "val", "probe"):
        record = log.data(split)
        if record is None:
            continue
        for part in ("x", "y"):
            stats = record.get(part) or {}
            arrays = stats.values() if part == "x" and "shape" not in stats else [stats]
            nan = sum(s.get("nan", 0) for s in arrays if isinstance(s, dict))
            inf = sum(s.get("inf", 0) for s in arrays if isinstance(s, dict))
            if nan or inf:
                return {"source": "data", "split": split, "array": part, "nan": nan, "inf": inf}
    return None


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
    """Fires on the first NaN/Inf seen: in the inputs or labels, else during training."""

    code = "NAN_OR_INF"

    def check(self, log):
        found = _data_nonfinite(log)
        if found is not None:
            return Finding(
                self.code, "error", None,
                f"The {found['split']} {'inputs' if found['array'] == 'x' else 'labels'} contain "
                f"{found['nan']} NaN and {found['inf']} infinite values; every loss computed on "
                "them becomes NaN.",
                found, DATA_FIX,
            )
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
