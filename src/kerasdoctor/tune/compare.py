"""Side-by-side comparisons: the same workload under several optimizers, initializers,
learning rates and batch sizes, over several seeds, each run diagnosed by the rules.

A variant's learning rate is the one given, the workload's own (an optimizer swapped in keeps
it), or ``AUTO``: the ``lr_find`` suggestion for its optimizer, one sweep per optimizer.
"""

import dataclasses
import itertools
import math
import statistics
from dataclasses import dataclass, field

import keras

from kerasdoctor.checkup import run_check
from kerasdoctor.diagnose import severity_rank
from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.files import run_folder, write_json
from kerasdoctor.runlog import to_jsonable
from kerasdoctor.tune.lr_find import lr_find
from kerasdoctor.tune.space import recompile, reinitialize
from kerasdoctor.vocabulary import objective
from kerasdoctor.workload.loader import Workload


AUTO = "auto"
SECONDS_NOTE = ("wall-clock seconds of the epochs up to the target, from the first step: compiling the "
                "train and validation steps, validation and the Monitor's probes included")


@dataclass(frozen=True)
class Variant:
    optimizer: str | None = None
    initializer: str | None = None
    learning_rate: float | str | None = None  # a rate, None (the workload's) or AUTO
    batch_size: int | None = None
    found_rate: float | None = None  # AUTO's rate, once lr_find has run

    @property
    def label(self):
        rate = self.learning_rate
        parts = [self.optimizer, self.initializer,
                 None if rate is None else f"lr={rate}" if rate == AUTO else f"lr={rate:g}",
                 None if self.batch_size is None else f"batch={self.batch_size}"]
        return " ".join(p for p in parts if p) or "as written"

    @property
    def rate_source(self):
        return {None: "workload", AUTO: "lr_find"}.get(self.learning_rate, "given")

    def apply(self, model, x_batch, seed):
        if self.initializer:
            reinitialize(model, self.initializer, x_batch=x_batch, seed=seed)
        rate = self.learning_rate
        if rate == AUTO:
            if self.found_rate is None:
                raise KerasDoctorError(f"Variant {self.label!r} has no rate yet: run find_rates() first.")
            rate = self.found_rate
        return recompile(model, optimizer=self.optimizer, learning_rate=rate)


def variants(optimizers=(), initializers=(), learning_rates=(), batch_sizes=()):
    """Every combination of the given values; an empty axis keeps the workload's own."""
    axes = [list(optimizers) or [None], list(initializers) or [None],
            list(learning_rates) or [None], list(batch_sizes) or [None]]
    return [Variant(*combo) for combo in itertools.product(*axes)]


@dataclass
class Row:
    variant: str
    rate_source: str = "workload"
    runs: list = field(default_factory=list)  # per seed: {best, learning_rate, epochs_to_target, ...}

    def summary(self, target, better):
        bests = [r["best"] for r in self.runs if math.isfinite(r["best"])]
        reached = [r for r in self.runs if r["epochs_to_target"] is not None]
        codes = {}
        for run in self.runs:
            for code in run["findings"]:
                codes[code] = codes.get(code, 0) + 1
        return {
            "variant": self.variant,
            "learning_rate": self.runs[0]["learning_rate"] if self.runs else None,
            "learning_rate_source": self.rate_source,
            "best_mean": statistics.fmean(bests) if bests else float("nan"),
            "best_std": statistics.pstdev(bests) if len(bests) > 1 else 0.0,
            "reached_target": f"{len(reached)}/{len(self.runs)}",
            "epochs_to_target": statistics.median(r["epochs_to_target"] for r in reached) if reached else None,
            "seconds_to_target": statistics.median(r["seconds_to_target"] for r in reached) if reached else None,
            "gap_mean": statistics.fmean(r["gap"] for r in self.runs if r["gap"] is not None)
            if any(r["gap"] is not None for r in self.runs) else None,
            "findings": codes,
        }


@dataclass
class CompareResult:
    metric: str
    direction: str
    target: float
    seeds: int
    rows: list
    run_dir: object
    found: dict = field(default_factory=dict)  # optimizer -> LRFindResult, for AUTO rates
    workload: str | None = None

    def _repr_html_(self):
        from kerasdoctor.report.notebook import notebook_html

        return notebook_html(self.run_dir)

    def to_dict(self):
        better = max if self.direction == "maximize" else min
        summaries = [row.summary(self.target, better) for row in self.rows]
        swept = {Variant(optimizer=name).label: {"suggestion": found.suggestion, "low": found.low, "high": found.high,
                                                 "rule": found.rule} for name, found in self.found.items()}
        return to_jsonable({"workload": self.workload, "metric": self.metric, "direction": self.direction, "target": self.target,
                            "seeds": self.seeds, "run_dir": str(self.run_dir), "variants": summaries,
                            "seconds_to_target_note": SECONDS_NOTE, "lr_find": swept,
                            "runs": {row.variant: row.runs for row in self.rows}})


def _metric(log):
    name, direction = objective(log.epochs[-1]["logs"] if log.epochs else [])
    return name, "maximize" if direction == "max" else "minimize"


def _run_facts(result, metric, direction):
    log = result.log
    values = [e["logs"].get(metric, float("nan")) for e in log.epochs]
    finite = [v for v in values if math.isfinite(v)]
    best = (max if direction == "maximize" else min)(finite) if finite else float("nan")
    train_name = metric.removeprefix("val_")
    last = log.epochs[-1]["logs"] if log.epochs else {}
    gap = None
    if train_name in last and metric in last:
        gap = last[train_name] - last[metric]
    optimizer = (log.model or {}).get("optimizer") or {}
    rate = optimizer.get("config", {}).get("learning_rate")  # a schedule is a dict here
    return {
        "best": best, "learning_rate": float(rate) if isinstance(rate, (int, float)) else None, "values": values, "seconds": [e["seconds"] for e in log.epochs], "gap": gap,
        "findings": [f.code for f in result.findings if severity_rank(f.severity) >= 1],
        "run_dir": str(result.run_dir),
    }


def _to_target(facts, target, direction):
    seconds = 0.0
    for epoch, (value, spent) in enumerate(zip(facts["values"], facts["seconds"])):
        seconds += spent
        if math.isfinite(value) and (value >= target if direction == "maximize" else value <= target):
            return epoch + 1, seconds
    return None, None


def find_rates(workload, chosen, *, seed=0, progress=None):
    """The variants with their ``AUTO`` rates filled in, and {optimizer: LRFindResult}.

    One range test per optimizer, on a fresh model compiled with it (the workload's own for
    None), at the workload's batch size. ``progress``: called with the optimizer's label after each.
    """
    names = list(dict.fromkeys(v.optimizer for v in chosen if v.learning_rate == AUTO))
    found = {}
    if names:
        data = workload.load_data(seed)
    for name in names:
        keras.utils.set_random_seed(seed)
        model = recompile(workload.build_model(), optimizer=name)
        found[name] = lr_find(model, *data.training_inputs, batch_size=workload.fit["batch_size"], seed=seed)
        if progress is not None:
            progress(Variant(optimizer=name).label)
    return [dataclasses.replace(v, found_rate=found[v.optimizer].suggestion) if v.learning_rate == AUTO else v
            for v in chosen], found


def _train(workload, chosen, seeds, epochs, run_dir, step):
    rows, metric, direction = [], None, None
    for index, variant in enumerate(chosen):
        row = Row(variant.label, variant.rate_source)
        for seed in range(seeds):
            data = workload.load_data(seed)
            if data.is_pipeline and variant.batch_size is not None:
                raise KerasDoctorError("--batch-sizes needs arrays: load_data() returns a pipeline, "
                                       "which makes its own batches.")
            x_batch = data.input_head(seed=seed)

            def build(variant=variant, x_batch=x_batch, seed=seed):
                return variant.apply(workload.build_model(), x_batch, seed)

            wrapped = Workload(workload.path, name=workload.name, build=build,
                               load=lambda data=data: (data.train, data.validation),
                               fit=dict(workload.fit), accepts_hp=False)
            result = run_check(wrapped, epochs=epochs, batch_size=variant.batch_size, seed=seed,
                               out=run_dir / f"variant-{index}" / f"seed-{seed}")
            if metric is None:
                metric, direction = _metric(result.log)
            row.runs.append(_run_facts(result, metric, direction))
            step(variant.label)
        rows.append(row)
    return rows, metric, direction


def run_compare(workload, chosen, *, seeds=1, epochs=None, target=None, out=None, progress=None):
    """Trains ``workload`` under every variant in ``chosen`` for ``seeds`` seeds each.

    ``progress``: an optional callable ``(done, total, label)``, called after each lr_find sweep
    and each training run.
    """
    if not chosen:
        raise KerasDoctorError("Nothing to compare: give at least one of --optimizers, --initializers, "
                               "--learning-rates, --batch-sizes.")
    if seeds < 1:
        raise KerasDoctorError(f"--seeds must be a positive integer. Received: seeds={seeds}")
    done, total = 0, len({v.optimizer for v in chosen if v.learning_rate == AUTO}) + len(chosen) * seeds

    def step(label):
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total, label)

    chosen, found = find_rates(workload, chosen, progress=lambda label: step(f"lr_find {label}"))
    with run_folder(f"compare-{workload.name}", out) as run_dir:  # an error before any file leaves none
        rows, metric, direction = _train(workload, chosen, seeds, epochs, run_dir, step)
    if target is None:
        # Default: 95% of the best variant's mean best value (105% of it for a loss).
        means = [statistics.fmean(r["best"] for r in row.runs) for row in rows]
        finite = [m for m in means if math.isfinite(m)]
        best = (max if direction == "maximize" else min)(finite) if finite else float("nan")
        target = best * (0.95 if direction == "maximize" else 1.05)
    for row in rows:
        for run in row.runs:
            run["epochs_to_target"], run["seconds_to_target"] = _to_target(run, target, direction)
    result = CompareResult(metric, direction, target, seeds, rows, run_dir, found, workload=str(workload.path))
    write_json(run_dir / "compare.json", result.to_dict())
    return result
