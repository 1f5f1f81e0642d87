"""``keras-doctor speed``: where a training run spends its time, and a measured faster setup.

(The package is not named ``speed``: a submodule of that name would shadow the function
``kerasdoctor.speed`` once imported, as with ``autologging``.)

Each knob that applies (``knobs.candidates``) trains in a fresh short timing run, alternating
with the baseline, ``repeats`` times; its throughput ratio is the ratio of the medians. A knob
that changes the math (batch size, precision) and pays is then trained to the workload's epochs
over ``seeds`` seeds beside the baseline: the mean difference of the best validation metric,
with its standard error, decides whether it may be recommended. The recommended combination
(the best knob of each group that passed) is measured again as a whole, since knobs do not
multiply; when it does not pay, the single knob that paid most stands.

A knob many times slower than the baseline is stopped after one run (``SLOW_STOP``). The JAX
compilation cache is judged on what it is for: a new process's compile seconds, cold then warm;
it changes no step, so combinations are timed without it and it is added afterwards.
"""

import dataclasses
import math
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras

from kerasdoctor._backends.devices import use_compilation_cache
from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.files import run_folder, write_atomic, write_json
from kerasdoctor.monitor.datastats import summarize
from kerasdoctor.speedup import knobs as knob_module
from kerasdoctor.speedup.knobs import Knob, Settings
from kerasdoctor.speedup.fast_copy import fast_workload_source
from kerasdoctor.speedup.measure import (
    TIMING_STEPS, accuracy_run, learning_rate_is_number, profile, timing_plan, timing_run,
)
from kerasdoctor.speedup.worker import run_elsewhere
from kerasdoctor.vocabulary import is_accuracy
from kerasdoctor.workload.data import count_rows
from kerasdoctor.workload.source import describe_error

# A knob must beat the baseline's throughput by this much to count as paying.
PAYS = 1.05
# A knob's timing run that takes this many times the baseline's is stopped: it cannot pay, and
# measuring it out (XLA off on a convolution, say) would take longer than the rest together.
SLOW_STOP = 5.0
SLOW_STOP_FLOOR = 30.0  # seconds: short runs are measured out (compilation weighs most there)
# The compilation cache is recommended when a warm cache cuts a run's compilation by this factor
# and by at least this many seconds (a new process that compiles the step reads it from disk).
CACHE_PAYS, CACHE_SAVES_SECONDS = 1.5, 0.2
# The accuracy a knob may cost beyond one standard error: 0.3 points of accuracy, or 2% relative
# for any other metric (a regression loss or error).
POINTS_ALLOWED = 0.3
RELATIVE_ALLOWED = 0.02
BASELINE = "baseline"


@dataclass
class Row:
    name: str
    description: str
    changes_math: bool
    settings: Settings
    timings: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)  # accuracy runs, one per seed
    error: str | None = None
    stopped: float | None = None  # the throughput ratio's upper bound when its timing run was stopped
    cold: dict | None = None  # the compilation cache's first (cold) timing run; ``timings`` are warm
    note: str = ""  # what the verdict rests on, where the columns do not show it
    throughput_ratio: float | None = None
    accuracy_delta: dict | None = None
    time_to_target_ratio: float | None = None
    verdict: str = ""
    knob: Knob | None = None

    def median(self, key):
        values = [t[key] for t in self.timings if key in t]
        return statistics.median(values) if values else None

    def to_dict(self):
        return {
            "name": self.name, "description": self.description, "changes_math": self.changes_math,
            "settings": self.settings.to_dict(), "throughput_ratio": self.throughput_ratio,
            "throughput_ratio_below": self.stopped,
            "steps_per_second": self.median("steps_per_second"),
            "samples_per_second": self.median("samples_per_second"),
            "compile_seconds": self.median("compile_seconds"),
            "cold_compile_seconds": None if self.cold is None else self.cold.get("compile_seconds"),
            "accuracy_delta_points": None if self.accuracy_delta is None else self.accuracy_delta.get("points"),
            "accuracy_delta": self.accuracy_delta, "time_to_target_ratio": self.time_to_target_ratio,
            "verdict": self.verdict, "note": self.note, "error": self.error,
        }


@dataclass
class SpeedResult:
    workload: str
    run_dir: Path
    facts: dict
    baseline: Row
    rows: list
    skipped: list
    recommended: Row | None
    metric: str | None
    seconds: float
    profile: dict = field(default_factory=dict)
    combination: Row | None = None  # knobs measured together that did not pay together
    warnings: list = field(default_factory=list)  # what the figures must be read with

    def to_dict(self):
        return {
            "workload": self.workload, "run_dir": str(self.run_dir), "facts": self.facts,
            "metric": self.metric, "profile": self.profile,
            "baseline": self.baseline.to_dict(),
            "knobs": [row.to_dict() for row in self.rows],
            "skipped": [{"name": name, "why": why} for name, why in self.skipped],
            "recommended": None if self.recommended is None else {
                "knobs": self.recommended.name.split(" + ") if self.recommended.name != BASELINE else [],
                **{k: v for k, v in self.recommended.to_dict().items() if k != "name"}},
            "combination_not_kept": None if self.combination is None else self.combination.to_dict(),
            "warnings": self.warnings, "seconds": self.seconds,
        }


def _best(values, direction):
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return None
    return max(finite) if direction == "max" else min(finite)


def _mean_se(values):
    mean = statistics.fmean(values)
    se = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else 0.0
    return mean, se


def accuracy_delta(baseline_runs, knob_runs):
    """The knob's mean best metric minus the baseline's, with the standard error of that
    difference, in points (x100) for accuracies; ``ok`` when the cost stays within the allowance."""
    metric, direction = baseline_runs[0]["metric"], baseline_runs[0]["direction"]
    base = [_best(run["values"], direction) for run in baseline_runs]
    knob = [_best(run["values"], direction) for run in knob_runs]
    if None in base or None in knob:
        return {"metric": metric, "ok": False, "why": "a run ended without a finite metric"}
    scale = 100.0 if is_accuracy(metric) else 1.0
    (mean_b, se_b), (mean_k, se_k) = _mean_se(base), _mean_se(knob)
    delta = (mean_k - mean_b) * scale
    se = math.sqrt(se_b**2 + se_k**2) * scale
    better = delta if direction == "max" else -delta  # > 0: the knob is better
    allowed = POINTS_ALLOWED if scale == 100.0 else RELATIVE_ALLOWED * abs(mean_b)
    return {"metric": metric, "direction": direction, "delta": delta, "se": se,
            "points": delta if scale == 100.0 else None, "baseline_mean": mean_b * scale,
            "ok": better >= -(allowed + se)}


def time_to_target(runs, target, direction):
    """The median wall seconds (compilation included) at which the runs first reach ``target``;
    a run that never does counts as its full time, and None when none reaches it."""
    times, reached = [], False
    for run in runs:
        hit = next((s for v, s in zip(run["values"], run["seconds"])
                    if v is not None and (v >= target if direction == "max" else v <= target)), None)
        reached = reached or hit is not None
        times.append(hit if hit is not None else run["seconds"][-1])
    return statistics.median(times) if reached else None


class _Progress:
    def __init__(self, callback, total):
        self.callback, self.total, self.done = callback, total, 0

    def step(self, label):
        self.done += 1
        if self.callback is not None:
            self.callback(self.done, self.total, label)

    def grow(self, extra):
        self.total += extra


def _elsewhere(settings):
    """Settings that need a process of their own: another backend, or the compilation cache."""
    return bool(settings.backend or settings.compilation_cache)


def time_settings(workload, data, settings, plan=None, steps=TIMING_STEPS, time_limit=None, cache_dir=None):
    """One timing run of ``workload`` trained with ``settings``, as ``speed`` times each knob: in
    this process, or in a process of its own for another backend or the compilation cache
    (``cache_dir``). Arrays take ``plan`` from ``measure.timing_plan``. The result is
    ``measure.timing_run``'s."""
    if _elsewhere(settings):
        return run_elsewhere(workload, settings, "timing", "--steps", steps,
                             *(("--plan", f"{plan[0]},{plan[1]}") if plan else ()),
                             *(("--time-limit", time_limit) if time_limit else ()), cache_dir=cache_dir)
    return timing_run(workload, data, settings, plan=plan, steps=steps, time_limit=time_limit)


def _accuracy_one(workload, data, settings, epochs, seed, cache_dir=None):
    if _elsewhere(settings):
        return run_elsewhere(workload, settings, "accuracy", "--epochs", epochs, "--seed", seed, cache_dir=cache_dir)
    return accuracy_run(workload, data, settings, epochs=epochs, seed=seed)


def _time(rows, workload, data, repeats, steps, progress, cache_dir=None):
    """Alternating timing runs: baseline, each knob, baseline, each knob, ... (none once the
    baseline itself fails). A row with the compilation cache first runs once more to fill it
    (``cold``)."""
    baseline = rows[0].settings
    plan = None if baseline.batch_size is None else timing_plan(count_rows(data.y_train), baseline.batch_size, steps)
    for _ in range(repeats):
        for index, row in enumerate(rows):
            if row.error is None and row.stopped is None:
                seconds = [t["seconds"] for t in rows[0].timings if "seconds" in t]
                limit = max(SLOW_STOP * statistics.median(seconds), SLOW_STOP_FLOOR) if index and seconds else None
                try:
                    if row.settings.compilation_cache and row.cold is None:
                        row.cold = time_settings(workload, data, row.settings, plan, steps, limit, cache_dir)
                    timing = time_settings(workload, data, row.settings, plan, steps, limit, cache_dir)
                    if "stopped_after_seconds" in timing:
                        row.stopped = statistics.median(seconds) / timing["stopped_after_seconds"]
                    else:
                        row.timings.append(timing)
                except KerasDoctorError as error:
                    row.error = str(error)
                except Exception as error:  # noqa: BLE001 - a knob the model or backend cannot take
                    row.error = describe_error(error)
            progress.step(f"timing {row.name}")
            if rows[0].error is not None:
                return


def _ratio(row, baseline):
    key = "samples_per_second" if baseline.median("samples_per_second") else "steps_per_second"
    if row.median(key) and baseline.median(key):
        return row.median(key) / baseline.median(key)
    return None


def _accuracy(row, workload, data, seeds, epochs, progress, cache_dir=None):
    for seed in range(seeds):
        try:
            row.accuracy.append(_accuracy_one(workload, data, row.settings, epochs, seed, cache_dir))
        except Exception as error:  # noqa: BLE001 - reported in the row, never a crash
            row.error = describe_error(error)
            row.accuracy = []
            return
        finally:
            progress.step(f"accuracy {row.name} seed {seed}")


def _judge(row, baseline, target, direction):
    if row.error is not None:
        row.verdict = f"failed: {row.error}"
        return False
    if row.stopped is not None:
        row.verdict = f"slower: stopped at {1 / row.stopped:.3g}x the baseline's time (throughput below {row.stopped:.2g}x)"
        return False
    if row.knob is not None and row.knob.group == "cache":
        return _judge_cache(row)
    if row.throughput_ratio is None or row.throughput_ratio < PAYS:
        row.verdict = "slower" if row.throughput_ratio is not None and row.throughput_ratio < 1 / PAYS else "no gain"
        return False
    if row.changes_math:
        if not row.accuracy:
            row.verdict = "not checked"
            return False
        row.accuracy_delta = accuracy_delta(baseline.accuracy, row.accuracy)
        base_time = time_to_target(baseline.accuracy, target, direction)
        knob_time = time_to_target(row.accuracy, target, direction)
        row.time_to_target_ratio = knob_time / base_time if base_time and knob_time else None
        if not row.accuracy_delta["ok"]:
            row.verdict = "costs accuracy: reported, not recommended"
            return False
        if row.time_to_target_ratio is None or row.time_to_target_ratio > 1.0:
            row.verdict = "not sooner to the target"
            return False
    row.verdict = "recommended"
    return True


def _judge_cache(row):
    """The compilation cache pays in compile seconds, not throughput: a warm cache's compilation
    against the cold run's, both in new processes."""
    cold = (row.cold or {}).get("compile_seconds")
    warm = row.median("compile_seconds")
    if cold is None or warm is None:
        row.verdict = "not measured"
        return False
    row.note = f"compiling {cold:.2f} s -> {warm:.2f} s in a new process"
    if warm * CACHE_PAYS > cold or cold - warm < CACHE_SAVES_SECONDS:
        row.verdict = "no gain"
        return False
    row.verdict = "recommended"
    return True


def _combine(rows, baseline):
    """The best paying knob of each group, as one set of settings."""
    chosen = {}
    for row in rows:
        if row.verdict == "recommended":
            group = row.knob.group
            if group not in chosen or row.throughput_ratio > chosen[group].throughput_ratio:
                chosen[group] = row
    settings = baseline.settings
    for row in chosen.values():
        settings = row.knob.apply(settings)
    return list(chosen.values()), settings


def _target(baseline):
    """The baseline's 3-seed mean best metric less one standard error (plus, for a loss)."""
    direction, metric = baseline.accuracy[0]["direction"], baseline.accuracy[0]["metric"]
    bests = [_best(run["values"], direction) for run in baseline.accuracy]
    if None in bests:
        raise KerasDoctorError(f"The workload's own training ended without a finite {metric}, so there is no "
                               "accuracy to keep; run keras-doctor check on it first.")
    mean, se = _mean_se(bests)
    return (mean - se if direction == "max" else mean + se), direction


def at_chance(data, baseline):
    """A warning when the workload's own training ends with a validation accuracy at chance (the
    most common class's share, within NOT_LEARNING's margin): the knobs' accuracy checks and
    times to target then compare runs that learn nothing. None otherwise, or when it cannot tell."""
    from kerasdoctor.diagnose.rules.progress import NotLearning
    from kerasdoctor.monitor.datastats import summarize_labels

    metric, direction = baseline.accuracy[0]["metric"], baseline.accuracy[0]["direction"]
    validation = data.validation if isinstance(data.validation, tuple) else None
    if not is_accuracy(metric) or validation is None or not hasattr(validation[1], "shape"):
        return None
    counts = summarize_labels(validation[1])["y"].get("counts")
    if not counts:
        return None
    chance = max(counts) / sum(counts)
    best, _ = _mean_se([_best(run["values"], direction) for run in baseline.accuracy])
    if best > chance + NotLearning().chance_margin * (1 - chance):
        return None
    return (f"The workload's own training does not learn: its best {metric} averages {best:.3g}, where always "
            f"predicting the most common class scores {chance:.3g}. The accuracy checks below compare runs "
            "that learn nothing; run keras-doctor check (or repair) on it first.")


def _check_scaling(candidates, workload, data, baseline):
    """Each batch-size knob's learning-rate scale, checked by a short lr_find at both batch sizes:
    the rule (sqrt or linear) nearer to the ratio of the two suggestions. Left as it was when a
    range test fails."""
    from kerasdoctor.tune.lr_find import lr_find

    def suggestion(batch_size):
        keras.backend.clear_session()
        keras.utils.set_random_seed(0)
        return lr_find(workload.build_model(), data.x_train, data.y_train, batch_size=batch_size,
                       num_steps=60, seed=0).suggestion

    try:
        base = suggestion(baseline.batch_size)
    except Exception:  # noqa: BLE001 - the default rule stands
        return candidates
    checked = []
    for knob in candidates:
        if knob.group != "batch":
            checked.append(knob)
            continue
        size = dict(knob.changes)["batch_size"]
        try:
            ratio = suggestion(size) / base
        except Exception:  # noqa: BLE001 - the default rule stands for this knob
            checked.append(knob)
            continue
        scale, rule = knob_module.checked_scale(size // baseline.batch_size, ratio)
        checked.append(Knob(knob.name, True, (("batch_size", size), ("learning_rate_scale", scale)),
                            f"batch size {size}, learning rate x{scale:.3g} ({rule} scaling: lr_find's "
                            f"suggestion moved x{ratio:.2g})", "batch"))
    return checked


def _non_finite(stats):
    """How many NaN and Inf values a ``summarize`` result counts, over every input and label."""
    if isinstance(stats, dict):
        return sum(int(v) for k, v in stats.items() if k in ("nan", "inf") and isinstance(v, (int, float))) + sum(
            _non_finite(v) for v in stats.values() if isinstance(v, dict))
    return 0


def refuse_non_finite(data):
    """One clear error when the training or validation data (a sample of it, for a pipeline)
    holds NaN or Inf: such a run measures the failure, not the speed of training."""
    parts = []
    if data.is_pipeline:
        sample = data.sample("train")
        parts.append(("training (a sample of the pipeline)", sample.x, sample.y))
        if isinstance(data.validation, tuple):
            parts.append(("validation", *data.validation[:2]))
    else:
        parts += [("training", *data.train), ("validation", *data.validation[:2])]
    for name, x, y in parts:
        count = _non_finite(summarize(x, y))
        if count:
            raise KerasDoctorError(
                f"The {name} data holds {count} NaN or Inf value{'' if count == 1 else 's'}: a run on it "
                "measures a failing training, "
                "not its speed. Fix the data first (keras-doctor check shows where).")


def run_speed(workload, *, repeats=3, seeds=3, epochs=None, steps=TIMING_STEPS, out=None, progress=None):
    """Profiles ``workload``, measures each knob that applies and returns a ``SpeedResult``."""
    if repeats < 1 or seeds < 2:
        raise KerasDoctorError(f"speed needs repeats >= 1 and seeds >= 2 (a standard error). "
                               f"Received: repeats={repeats}, seeds={seeds}")
    # The compilation cache knob fills a cache of its own, cold at the start and gone at the end.
    with tempfile.TemporaryDirectory(prefix="keras-doctor-compilation-cache-") as cache_dir:
        return _run_speed(workload, repeats, seeds, epochs, steps, out, progress, cache_dir)


def _run_speed(workload, repeats, seeds, epochs, steps, out, progress, cache_dir):
    started = time.perf_counter()
    epochs = epochs or workload.fit["epochs"]
    data = workload.load_data(0)
    refuse_non_finite(data)
    found = knob_module.facts()
    keras.utils.set_random_seed(0)
    probe_model = workload.build_model()
    optimizer = type(probe_model.optimizer).__name__
    if data.is_pipeline:
        baseline_settings = Settings(batch_size=None)
        samples = None
    else:
        baseline_settings = Settings(batch_size=workload.fit["batch_size"])
        samples = count_rows(data.y_train)
    candidates, skipped = knob_module.candidates(found, baseline_settings, samples=samples or 0, optimizer=optimizer,
                                                 python_workload=Path(workload.path).suffix == ".py",
                                                 pipeline=data.train if data.is_pipeline else None,
                                                 rate_is_number=learning_rate_is_number(probe_model))
    if any(k.group == "batch" for k in candidates):
        candidates = _check_scaling(candidates, workload, data, baseline_settings)
    baseline = Row(BASELINE, "the workload as it is", False, baseline_settings)
    rows = [Row(k.name, k.description, k.changes_math, k.apply(baseline_settings), knob=k) for k in candidates]
    if data.is_pipeline:  # the two timing epochs stay within one pass of the pipeline
        batches = data.sample("train").batches
        steps = min(steps, max(1, batches // 2)) if batches else steps
    ticks = _Progress(progress, repeats * (1 + len(rows)) + seeds)
    _time([baseline, *rows], workload, data, repeats, steps, ticks, cache_dir)
    if baseline.error is not None:
        raise KerasDoctorError(f"The workload's own timing run failed: {baseline.error}")
    for row in rows:
        # The cache's runs are new processes, whose steady steps do not compare with this warm
        # one's; the cache changes no step, so it has no throughput ratio.
        row.throughput_ratio = None if row.settings.compilation_cache else _ratio(row, baseline)
    try:
        found_profile = profile(workload, data, baseline.settings, baseline.timings[0])
    except Exception as error:  # noqa: BLE001 - the profile is extra: a failure is a note in it
        found_profile = {"error": describe_error(error)}
    _accuracy(baseline, workload, data, seeds, epochs, ticks)
    if baseline.error is not None:
        raise KerasDoctorError(f"The workload's own training failed: {baseline.error}")
    target, direction = _target(baseline)
    warnings = [w for w in (at_chance(data, baseline),) if w]
    checking = [r for r in rows if r.changes_math and r.error is None and (r.throughput_ratio or 0) >= PAYS]
    ticks.grow(seeds * len(checking))
    for row in checking:
        _accuracy(row, workload, data, seeds, epochs, ticks, cache_dir)
    for row in rows:
        _judge(row, baseline, target, direction)
    chosen, settings = _combine(rows, baseline)
    # The compilation cache changes no step (only how a new process gets it), so the combination
    # is timed without it, in this process; a recommended cache is added to it afterwards.
    cached = [r for r in chosen if r.knob.group == "cache"]
    timed = [r for r in chosen if r.knob.group != "cache"]
    if cached and any(r.settings.backend for r in timed):
        cached = []  # the cache was measured on this backend; another backend's process has none
    if cached:
        settings = settings.changed(compilation_cache=False)
    recommended = combination = None
    if len(timed) == 1:
        recommended = timed[0]
    elif len(timed) > 1:
        name = " + ".join(r.name for r in timed)
        changes_math = any(r.changes_math for r in timed)
        recommended = Row(name, "the recommended knobs together", changes_math, settings,
                          knob=Knob(name, changes_math, (), "the recommended knobs together", "all"))
        ticks.grow(2 * repeats + (seeds if recommended.changes_math else 0))
        baseline_again = Row(BASELINE, baseline.description, False, baseline.settings)
        _time([baseline_again, recommended], workload, data, repeats, steps, ticks, cache_dir)
        recommended.throughput_ratio = _ratio(recommended, baseline_again)
        if recommended.changes_math:
            _accuracy(recommended, workload, data, seeds, epochs, ticks, cache_dir)
        _judge(recommended, baseline, target, direction)
        if recommended.verdict != "recommended":
            # The knobs did not pay together; each was measured and recommended alone, so the
            # one that paid most stands (the combination stays in the result).
            combination, recommended = recommended, max(timed, key=lambda r: r.throughput_ratio or 0)
            timed = [recommended]
    names = [] if recommended is None or recommended.verdict != "recommended" else [r.name for r in timed]
    if cached and recommended is not None and recommended.verdict == "recommended":
        names.append(cached[0].name)
        recommended = dataclasses.replace(recommended, name=" + ".join(names),
                                          settings=recommended.settings.changed(compilation_cache=True))
    elif cached:
        recommended, names = cached[0], [cached[0].name]
    with run_folder(f"speed-{workload.name}", out) as run_dir:
        result = SpeedResult(str(workload.path), run_dir, found, baseline, rows, skipped,
                             recommended, baseline.accuracy[0]["metric"], time.perf_counter() - started,
                             found_profile, combination, warnings)
        write_json(run_dir / "speed.json", result.to_dict())
        final = recommended.settings if names else baseline.settings
        write_atomic(run_dir / "fast_workload.py", fast_workload_source(workload, final, names))
    return result


def speed(workload, *, data=None, unsafe=False, repeats=3, seeds=3, epochs=None, out=None):
    """The `speed` verb in Python: ``kerasdoctor.speed("workload.py")`` returns a SpeedResult."""
    from kerasdoctor.workload import load_workload

    loaded = load_workload(workload, data=data, unsafe=unsafe)
    return run_speed(loaded, repeats=repeats, seeds=seeds, epochs=epochs, out=out)


__all__ = ["SpeedResult", "run_speed", "speed", "time_settings", "use_compilation_cache"]
