"""The Python part of bench/gpu.sh: a workload's throughput under `speed`'s knobs, and the Monitor's overhead.

Throughput only: one seed, no accuracy runs. Each knob that `speed` would try gets a timing run
(`speed`'s own: a first epoch that holds the compilation, then steady epochs), alternating with
the baseline over ``--repeats`` rounds; its line is the ratio of the medians of samples per second.
On a GPU both mixed precisions are timed (`speed` itself offers mixed_float16 there); elsewhere
each is a `skipped (no GPU)` line. A knob that fails is a `name: error ...` line. Then
``--pairs`` fits of the workload's own FIT with and without the Monitor, alternating, as in
bench/monitor_overhead.py.

    python bench/gpu_bench.py [--workload examples/fashion_cnn.py] [--steps 200] [--repeats 1]
        [--budget 120] [--pairs 3]

``--budget`` bounds the timing runs (no knob's run starts after it; the slow knobs come last),
so that the whole of bench/gpu.sh stays within 4 minutes on a GPU.

On the GPU host run it through bench/gpu.sh, which installs keras-doctor offline first.
"""

import argparse
import importlib.metadata
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import kerasdoctor  # noqa: F401  (chooses the backend before Keras loads)
import keras

import monitor_overhead
from kerasdoctor.speedup import knobs, time_settings
from kerasdoctor.speedup.knobs import Knob, Settings
from kerasdoctor.speedup.measure import TIMING_STEPS, timing_plan
from kerasdoctor.workload import load_workload
from kerasdoctor.workload.data import count_rows
from kerasdoctor.workload.source import describe_error

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
GPU_ONLY = ("mixed_float16", "mixed_bfloat16")
# Another backend (a process of its own) and XLA off are the knobs that take many times the
# baseline's time; they run last, where the time budget cuts.
SLOW_GROUPS = ("backend", "jit")
# The settings whose knobs this script times as `speed` does (in this process, or another
# backend's); a knob that changes anything else is a skipped line, not a wrong ratio.
TIMED_FIELDS = {"backend", "jit_compile", "batch_size", "learning_rate_scale", "steps_per_execution",
                "dtype_policy", "data_parallel"}
BFLOAT16 = Knob("mixed_bfloat16", True, (("dtype_policy", "mixed_bfloat16"),),
                "mixed_bfloat16 compute, float32 variables", "precision")


@dataclass
class Timed:
    name: str
    settings: Settings
    timings: list = field(default_factory=list)
    error: str | None = None
    skipped: str | None = None

    def median(self, key):
        values = [timing[key] for timing in self.timings if key in timing]
        return statistics.median(values) if values else None


def knob_list(found, baseline, *, samples, optimizer, python_workload=True):
    """`speed`'s knobs for ``found`` facts, with mixed_bfloat16 beside mixed_float16 on a GPU;
    (knobs, the slow ones last; [(name, why), ...] of those that do not apply, each mixed precision
    by name)."""
    chosen, skipped = knobs.candidates(found, baseline, samples=samples, optimizer=optimizer,
                                       python_workload=python_workload)
    if found["accelerator"] == "gpu" and BFLOAT16.name not in {knob.name for knob in chosen}:
        chosen.append(BFLOAT16)
    skipped = [(name, why) for name, why in skipped if name != "mixed precision"]
    skipped += [(knob.name, "not a knob this script times") for knob in chosen
                if not {setting for setting, _ in knob.changes} <= TIMED_FIELDS]
    chosen = [knob for knob in chosen if {setting for setting, _ in knob.changes} <= TIMED_FIELDS]
    names = {knob.name for knob in chosen}
    skipped += [(name, "no GPU") for name in GPU_ONLY if name not in names]
    return sorted(chosen, key=lambda knob: knob.group in SLOW_GROUPS), skipped


def time_knobs(workload, data, baseline, chosen, *, steps=TIMING_STEPS, repeats=1, budget=None, report=print):
    """A ``Timed`` for the baseline and each knob: ``repeats`` rounds of alternating timing runs
    (none more once the baseline fails); a knob that fails keeps its error. No run starts after
    ``budget`` seconds but the baseline's first; a knob left without one is skipped."""
    rows = [Timed("baseline", baseline), *(Timed(knob.name, knob.apply(baseline)) for knob in chosen)]
    plan = None if baseline.batch_size is None else timing_plan(count_rows(data.y_train), baseline.batch_size, steps)
    deadline = None if budget is None else time.perf_counter() + budget
    for repeat in range(repeats):
        for row in rows:
            if row.error is not None or row.skipped is not None:
                continue
            late = deadline is not None and time.perf_counter() > deadline
            if late and row.timings:
                continue  # measured in an earlier round
            if late and row is not rows[0]:
                row.skipped = f"over the {budget:g} s budget of the timing runs"
                continue
            try:
                row.timings.append(time_settings(workload, data, row.settings, plan, steps))
            except Exception as error:  # noqa: BLE001 - a knob the model or backend cannot take: its line says why
                row.error = describe_error(error)
                report(f"{row.name}.run{repeat + 1}: error {row.error}")
                if row is rows[0]:
                    return rows
                continue
            last = row.timings[-1]
            report(f"{row.name}.run{repeat + 1}: {number(last.get('samples_per_second', last['steps_per_second']))}/s, "
                   f"compile {last['compile_seconds']:.1f} s")
    return rows


def number(value):
    return f"{value:.0f}" if value >= 1000 else f"{value:.3g}"


def throughput_key(baseline):
    return "samples_per_second" if baseline.median("samples_per_second") else "steps_per_second"


def ratio_lines(rows):
    """`name: value` lines: the baseline's throughput, then each knob's ratio to it (or its error)."""
    baseline, key = rows[0], throughput_key(rows[0])
    lines = [f"baseline.{name}: {number(baseline.median(name))}"
             for name in ("steps_per_second", "samples_per_second", "compile_seconds") if baseline.median(name)]
    for row in rows[1:]:
        if row.error is not None:
            lines.append(f"{row.name}: error {row.error}")
        elif row.skipped is not None:
            lines.append(f"{row.name}: skipped ({row.skipped})")
        else:
            lines.append(f"{row.name}: {row.median(key) / baseline.median(key):.3f} "
                         f"({number(row.median(key))} {key.replace('_per_second', '')}/s, "
                         f"compile {row.median('compile_seconds'):.1f} s)")
    return lines


def best_knob(rows):
    """(name, ratio) of the knob with the highest throughput ratio, or None."""
    key = throughput_key(rows[0])
    ratios = [(row.name, row.median(key) / rows[0].median(key)) for row in rows[1:] if row.timings]
    return max(ratios, key=lambda pair: pair[1], default=None)


def machine_lines():
    import jax

    devices = jax.devices()
    kind = devices[0].platform
    gpu = f"{devices[0].device_kind} ({len(devices)} device(s))" if kind == "gpu" else f"none (JAX runs on {kind})"
    lines = [f"gpu: {gpu}", f"backend: {keras.backend.backend()}", f"python: {platform.python_version()}",
             f"cpus: {os.cpu_count()}"]
    for name in ("jax", "jaxlib", "keras", "torch", "numpy", "keras-doctor"):
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            version = "not installed"
        lines.append(f"{name}: {version}")
    return lines


def monitor_lines(workload, data, pairs, report=print):
    """``pairs`` fits with and without the Monitor, alternating; the median ratio and the
    Monitor's CPU seconds (bench/monitor_overhead.py's fit)."""
    ratios, cpu = [], []
    for pair in range(pairs):
        order = (False, True) if pair % 2 == 0 else (True, False)
        runs = {flag: monitor_overhead.timed_fit(workload, data, flag) for flag in order}
        ratios.append(runs[True][0] / runs[False][0])
        cpu.append(runs[True][1][0])  # (the Monitor's CPU seconds, its probe step's compile seconds)
        report(f"monitor.pair{pair + 1}: {ratios[-1]:.4f} ({runs[True][0]:.2f} s / {runs[False][0]:.2f} s)")
    return [f"monitor.overhead_ratio_median: {statistics.median(ratios):.4f}",
            f"monitor.cpu_seconds_median: {statistics.median(cpu):.2f}"], statistics.median(ratios)


def summary_line(rows, overhead, pairs, seconds):
    key, best = throughput_key(rows[0]), best_knob(rows)
    return (f"summary: baseline {number(rows[0].median(key))} {key.replace('_per_second', '')}/s; "
            + (f"best knob {best[0]} at {best[1]:.2f}x; " if best else "no knob ran; ")
            + (f"Monitor overhead {overhead:.3f}x over {pairs} pair(s); " if overhead else "")
            + f"{seconds:.0f} s")


def say(line):
    print(line, flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default=str(EXAMPLES / "fashion_cnn.py"))
    parser.add_argument("--steps", type=int, default=TIMING_STEPS, help="steps of each timing run's steady epochs")
    parser.add_argument("--repeats", type=int, default=1, help="rounds of alternating timing runs")
    parser.add_argument("--budget", type=float, default=120, help="seconds after which no knob's timing run starts")
    parser.add_argument("--pairs", type=int, default=3, help="Monitor overhead pairs (0: none)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    for line in machine_lines():
        say(line)
    try:
        workload = load_workload(args.workload)
        data = workload.load_data(0)
    except Exception as error:  # noqa: BLE001 - one line, as gpu.sh reports a missing prerequisite
        say(f"summary: the workload {args.workload} cannot be loaded ({describe_error(error)})")
        return 1
    found = knobs.facts()
    keras.utils.set_random_seed(0)
    optimizer = type(workload.build_model().optimizer).__name__
    baseline = Settings(batch_size=None if data.is_pipeline else workload.fit["batch_size"])
    samples = 0 if data.is_pipeline else count_rows(data.y_train)
    chosen, skipped = knob_list(found, baseline, samples=samples, optimizer=optimizer,
                                python_workload=Path(workload.path).suffix == ".py")
    say(f"workload: {workload.name} (batch size {baseline.batch_size}, {samples} samples, {args.steps} timing steps, "
        f"{args.repeats} round(s), {len(chosen)} knobs)")
    for name, why in skipped:
        say(f"{name}: skipped ({why})")
    rows = time_knobs(workload, data, baseline, chosen, steps=args.steps, repeats=args.repeats,
                      budget=args.budget, report=say)
    if rows[0].error is not None:
        say(f"summary: the baseline's timing run failed ({rows[0].error})")
        return 1
    for line in ratio_lines(rows):
        say(line)
    overhead = None
    if args.pairs > 0:
        try:
            lines, overhead = monitor_lines(workload, data, args.pairs, report=say)
        except Exception as error:  # noqa: BLE001 - the throughput lines stand without it
            lines = [f"monitor: error {describe_error(error)}"]
        for line in lines:
            say(line)
    seconds = time.perf_counter() - started
    say(f"seconds: {seconds:.0f}")
    say(summary_line(rows, overhead, args.pairs, seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
