"""Monitor overhead: model.fit with and without the Monitor at default settings.

Runs alternate (with/without, then without/with, ...) so that drift on a shared
machine hits both sides alike; each pair gives one ratio and the median over
pairs is reported. Each run builds a fresh model with the same seed and pays
its own compilation, as a user's fit does.

    python bench/monitor_overhead.py [--pairs 15] [--workloads digits_cnn,fashion_mlp]
    python bench/monitor_overhead.py --breakdown --pairs 10 --workloads digits_cnn
    python bench/monitor_overhead.py --fresh-process --pairs 7
    python bench/monitor_overhead.py --no-collect --pairs 15

With ``--fresh-process``, every fit runs in a new Python process of its own, as one training
script does: the data is loaded and the model built before the clock starts, and the process
pays for everything a first fit compiles (Keras's steps, and every small operation run eagerly
for the first time), with and without the Monitor. In one process the fits after the first
reuse those compilations, so the default mode does not see them.

With ``--breakdown``, both sides of every pair also carry a callback that only notes the time at
the start of training and at each epoch's end (it has no per-step hook), and the median seconds
with and without the Monitor are printed per phase: before the first epoch ends is split into
the time to the clock's ``on_train_begin`` (the Monitor's own, listed first, falls in it) and the
first epoch; then the second epoch, the other epochs, and what follows the last epoch's end.

Beside the ratio it prints the Monitor's own CPU seconds per fit: the CPU time of its hooks on
the training thread and of the thread that compiles its probe step (the backend's own worker
threads that run a probe's kernels, or that XLA compiles on, are not counted); and the wall
seconds that compilation took in the background (tracing the probe step, then XLA). It also
counts Python's full garbage collections (generation 2) inside each fit and the seconds they took,
with and without the Monitor: with TensorFlow, JAX and Keras loaded one takes a sizeable share of a
fit of a few seconds (0.3-0.5 s against fits of 2.5-3.5 s on the 2-core machine), and whether one
falls inside a fit depends on what every earlier fit allocated. So each fit starts after a full
collection (``gc.collect()``, outside the clock, on both sides), as ``timeit`` keeps the collector
out of its timings; the counts show whether a fit of its own still sets one off. ``--no-collect``
leaves the collector as it is, as the runs before 2026-12-04 did.
"""

import argparse
import gc
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import kerasdoctor  # noqa: F401  (chooses the backend before Keras loads)
import keras
import numpy as np

from kerasdoctor import Monitor
from kerasdoctor.workload import load_workload

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PROBE_SIZE = 128


class EpochClock(keras.callbacks.Callback):
    """Notes the time at the start of training and at each epoch's end (no per-step hook)."""

    def __init__(self, started):
        super().__init__()
        self.started, self.times = started, []

    def on_train_begin(self, logs=None):
        self.times = [time.perf_counter()]

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter())

    def phases(self, ended):
        """Seconds: to on_train_begin, first epoch, second epoch, the other epochs, after the last."""
        begin, ends = self.times[0], self.times[1:]
        return (begin - self.started, ends[0] - begin, ends[1] - ends[0] if len(ends) > 1 else 0.0,
                ends[-1] - ends[min(1, len(ends) - 1)], ended - ends[-1])


PHASES = ("to_train_begin", "epoch_1", "epoch_2", "other_epochs", "after_last_epoch")


def probe_batch(data, seed=0):
    """The probe batch of the benchmark's fits: ``PROBE_SIZE`` training rows (all of them when
    there are fewer), drawn with ``seed``."""
    count = len(data.y_train)
    rows = np.random.default_rng(seed).choice(count, min(PROBE_SIZE, count), replace=False)
    return data.x_train[rows], data.y_train[rows]


class FullCollections:
    """Python's full (generation 2) garbage collections while it is active: [seconds, ...]."""

    def __init__(self):
        self.seconds, self._started = [], None

    def __call__(self, phase, info):
        if info["generation"] != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        elif self._started is not None:
            self.seconds.append(time.perf_counter() - self._started)
            self._started = None

    def __enter__(self):
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc):
        gc.callbacks.remove(self)


def timed_fit(workload, data, with_monitor, seed=0, breakdown=False, collect=True):
    """(seconds, (Monitor CPU s, probe compile s) or None, phases or None, full collections' seconds)."""
    keras.utils.set_random_seed(seed)
    model = workload.build_model()
    callbacks = []
    if with_monitor:
        callbacks.append(Monitor(probe_batch(data, seed)))
    if collect:
        gc.collect()  # what earlier fits left is not collected inside this one (see the module's docstring)
    with FullCollections() as collections:
        started = time.perf_counter()
        clock = EpochClock(started) if breakdown else None
        model.fit(*data.train, validation_data=data.validation, verbose=0,
                  callbacks=callbacks + ([clock] if clock else []), **workload.fit)
        ended = time.perf_counter()
    cpu = (callbacks[0].log.end["monitor_cpu_seconds"], callbacks[0].log.end.get("probe_compile_seconds")) \
        if callbacks else None
    return ended - started, cpu, (clock.phases(ended) if clock else None), collections.seconds


def fit_in_new_process(name, with_monitor, breakdown=False, collect=True):
    """``timed_fit`` of workload ``name`` in a Python process of its own."""
    command = [sys.executable, __file__, "--one-fit", name] + (["--with-monitor"] if with_monitor else []) + \
        (["--breakdown"] if breakdown else []) + ([] if collect else ["--no-collect"])
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"a fit in its own process failed ({name}, Monitor: {with_monitor}):\n{done.stderr[-2000:]}")
    seconds, cpu, phases, collections = json.loads(lines[-1])["run"]
    return seconds, cpu, phases, collections


def measure(name, pairs, breakdown=False, fresh_process=False, collect=True):
    if fresh_process:
        workload = data = None
    else:
        workload = load_workload(EXAMPLES / f"{name}.py")
        data = workload.load_data()
    ratios, plain, monitored, cpu, compiling = [], [], [], [], []
    collections = {False: [], True: []}
    phases = {False: [], True: []}
    for pair in range(pairs):
        order = (False, True) if pair % 2 == 0 else (True, False)
        if fresh_process:
            runs = {flag: fit_in_new_process(name, flag, breakdown, collect) for flag in order}
        else:
            runs = {flag: timed_fit(workload, data, flag, breakdown=breakdown, collect=collect) for flag in order}
        for flag in order:
            phases[flag].append(runs[flag][2])
            collections[flag].append(runs[flag][3])
        plain.append(runs[False][0])
        monitored.append(runs[True][0])
        cpu.append(runs[True][1][0])
        compiling.append(runs[True][1][1] or 0.0)
        ratios.append(runs[True][0] / runs[False][0])
        print(f"{name}.pair{pair}: {ratios[-1]:.4f}  ({runs[True][0]:.2f}s / {runs[False][0]:.2f}s, "
              f"Monitor CPU {cpu[-1]:.2f}s, full collections {len(runs[True][3])} / {len(runs[False][3])})",
              flush=True)
    median = statistics.median(ratios)
    if breakdown:
        for index, phase in enumerate(PHASES):
            without, with_ = (statistics.median(p[index] for p in phases[flag]) for flag in (False, True))
            print(f"{name}.{phase}_seconds_median: {without:.3f} without, {with_:.3f} with, "
                  f"{with_ - without:+.3f}")
    print(f"{name}.seconds_without_median: {statistics.median(plain):.2f}")
    print(f"{name}.seconds_with_median: {statistics.median(monitored):.2f}")
    print(f"{name}.monitor_cpu_seconds_median: {statistics.median(cpu):.2f}")
    print(f"{name}.probe_compile_seconds_median: {statistics.median(compiling):.3f} (wall, in the background)")
    for flag, side in ((True, "with"), (False, "without")):
        print(f"{name}.full_collections_{side}: {sum(map(len, collections[flag]))} in {pairs} fits, "
              f"{sum(map(sum, collections[flag])):.2f} s in all")
    print(f"{name}.overhead_ratio_median: {median:.4f}")
    return median


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=15)
    parser.add_argument("--workloads", default="digits_cnn,fashion_mlp")
    parser.add_argument("--breakdown", action="store_true",
                        help="also time the phases of each fit (an epoch clock on both sides of every pair)")
    parser.add_argument("--fresh-process", action="store_true",
                        help="every fit in a new Python process of its own (a user's first fit)")
    parser.add_argument("--no-collect", action="store_true",
                        help="no full garbage collection before each fit (a fit may then pay for earlier ones)")
    parser.add_argument("--one-fit", help=argparse.SUPPRESS)  # the child process of --fresh-process
    parser.add_argument("--with-monitor", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one_fit:
        workload = load_workload(EXAMPLES / f"{args.one_fit}.py")
        print(json.dumps({"run": timed_fit(workload, workload.load_data(), args.with_monitor,
                                           breakdown=args.breakdown, collect=not args.no_collect)}))
        return 0
    names = args.workloads.split(",")
    missing = [name for name in names if not (EXAMPLES / f"{name}.py").is_file()]
    if missing or args.pairs < 1:
        known = ", ".join(sorted(path.stem for path in EXAMPLES.glob("*.py")))
        raise SystemExit(f"bench/monitor_overhead.py: no example named {', '.join(missing)} (examples: {known})"
                         if missing else f"bench/monitor_overhead.py: --pairs must be at least 1, not {args.pairs}")
    print(f"backend: {keras.backend.backend()}" + (", every fit in a new process" if args.fresh_process else "")
          + (", no collection before each fit" if args.no_collect else ", a full collection before each fit"))
    medians = {name: measure(name, args.pairs, args.breakdown, args.fresh_process, not args.no_collect)
               for name in names}
    worst = max(medians.values())
    print(f"summary: worst median overhead ratio {worst:.4f} over {len(medians)} workloads, {args.pairs} pairs each"
          + (", every fit in a new process" if args.fresh_process else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
