"""The tuning objective: which metric fit logs, and whether higher or lower is better.

``--objective NAME[:min|max]`` names it; by default the vocabulary's rule picks it from
the compiled metrics (the validation accuracy under any of its names, else val_loss).
"""

from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.vocabulary import direction as metric_direction
from kerasdoctor.vocabulary import objective as default_objective

OPTUNA_DIRECTIONS = {"max": "maximize", "min": "minimize"}


def parse_objective(spec):
    """'NAME[:min|max]' -> (NAME, 'minimize' | 'maximize'); without a direction, the metric's own."""
    name, _, wanted = spec.strip().partition(":")
    name, wanted = name.strip(), wanted.strip().lower()
    if not name or (wanted and wanted not in OPTUNA_DIRECTIONS):
        raise KerasDoctorError(
            "Argument `objective` must be NAME, NAME:min or NAME:max, with NAME a metric that fit "
            f"logs (such as val_loss or val_accuracy). Received: objective={spec!r}")
    wanted = wanted or metric_direction(name)
    if wanted is None:
        raise KerasDoctorError(
            f"keras-doctor cannot tell whether a higher or a lower {name} is better: add :max or :min. "
            f"Received: objective={spec!r}")
    return name, OPTUNA_DIRECTIONS[wanted]


def _compiled_metric_names(model):
    """The names the compiled metrics log under: 'acc' logs as 'acc', a Metric under its name."""
    config = model.get_compile_config() if hasattr(model, "get_compile_config") else None
    names = []

    def walk(item):
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, dict) and "class_name" in item:
            names.append((item.get("config") or {}).get("name") or item["class_name"])
        elif isinstance(item, dict):
            for value in item.values():
                walk(value)
        elif isinstance(item, (list, tuple)):
            for value in item:
                walk(value)

    walk((config or {}).get("metrics"))
    return names


def objective_metric(model, objective=None):
    """(metric, 'maximize' | 'minimize'): ``objective`` ('NAME[:min|max]') when given, else the
    vocabulary's choice among the compiled metrics (the validation accuracy, else val_loss)."""
    if objective:
        return parse_objective(objective)
    name, direction = default_objective([f"val_{n}" for n in _compiled_metric_names(model)] + ["val_loss"])
    return name, OPTUNA_DIRECTIONS[direction]


def logged_as(metric, logs):
    """The logged name of ``metric``: itself, or one output's metric of a multi-output model
    ('val_accuracy' -> 'val_out_accuracy'); None when fit does not log it."""
    if metric in logs:
        return metric
    prefix = "val_" if metric.startswith("val_") else ""
    base = metric.removeprefix("val_")
    found = [k for k in logs if k.startswith(prefix) and k.endswith("_" + base)
             and k.startswith("val_") == bool(prefix)]
    return found[0] if found else None
