"""Monitor overhead: model.fit with and without the Monitor at default settings.

Runs alternate (with/without, then without/with, ...) so that drift on a shared
machine hits both sides alike; each pair gives one ratio and the median over
pairs is reported. Each run builds a fresh model with the same seed and pays
its own compilation, as a user's fit does.

    python bench/monitor_overhead.py [--pairs 15] [--workloads digits_cnn,fashion_mlp]

Beside the ratio it prints the Monitor's own CPU seconds per fit: the CPU time of its hooks on
the training thread and of the thread that compiles its probe step (the backend's own worker
threads that run a probe's kernels are not counted).
"""

import argparse
import statistics
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


def timed_fit(workload, data, with_monitor, seed=0):
    keras.utils.set_random_seed(seed)
    model = workload.build_model()
    callbacks = []
    if with_monitor:
        rows = np.random.default_rng(seed).choice(len(data.y_train), PROBE_SIZE, replace=False)
        callbacks.append(Monitor((data.x_train[rows], data.y_train[rows])))
    started = time.perf_counter()
    model.fit(*data.train, validation_data=data.validation, verbose=0, callbacks=callbacks, **workload.fit)
    seconds = time.perf_counter() - started
    return seconds, (callbacks[0].log.end["monitor_cpu_seconds"] if callbacks else None)


def measure(name, pairs):
    workload = load_workload(EXAMPLES / f"{name}.py")
    data = workload.load_data()
    ratios, plain, monitored, cpu = [], [], [], []
    for pair in range(pairs):
        order = (False, True) if pair % 2 == 0 else (True, False)
        runs = {flag: timed_fit(workload, data, flag) for flag in order}
        plain.append(runs[False][0])
        monitored.append(runs[True][0])
        cpu.append(runs[True][1])
        ratios.append(runs[True][0] / runs[False][0])
        print(f"{name}.pair{pair}: {ratios[-1]:.4f}  ({runs[True][0]:.2f}s / {runs[False][0]:.2f}s, "
              f"Monitor CPU {cpu[-1]:.2f}s)", flush=True)
    median = statistics.median(ratios)
    print(f"{name}.seconds_without_median: {statistics.median(plain):.2f}")
    print(f"{name}.seconds_with_median: {statistics.median(monitored):.2f}")
    print(f"{name}.monitor_cpu_seconds_median: {statistics.median(cpu):.2f}")
    print(f"{name}.overhead_ratio_median: {median:.4f}")
    return median


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=15)
    parser.add_argument("--workloads", default="digits_cnn,fashion_mlp")
    args = parser.parse_args(argv)
    print(f"backend: {keras.backend.backend()}")
    medians = {name: measure(name, args.pairs) for name in args.workloads.split(",")}
    worst = max(medians.values())
    print(f"summary: worst median overhead ratio {worst:.4f} over {len(medians)} workloads, {args.pairs} pairs each")
    return 0


if __name__ == "__main__":
    sys.exit(main())
