"""Per-step training time of every optimizer relative to Keras Adam.

Each optimizer gets one compiled model per workload, warmed up by one epoch.
Then, in each of `--rounds` rounds (optimizers in alternating order), every
model trains `--steps` steps without validation; the ratio to Adam's time in
the same round is taken, and the median over rounds reported.

    python bench/optimizer_step_time.py [--rounds 5] [--steps 300]
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import kerasdoctor  # noqa: F401  (chooses the backend before Keras loads)
import keras
import numpy as np

from kerasdoctor.workload import load_workload

sys.path.insert(0, str(Path(__file__).resolve().parent))
from optimizers import EXAMPLES, OPTIMIZERS, _model  # noqa: E402


def _timed_fit(model, x, y, batch_size, steps):
    per_epoch = int(np.ceil(len(y) / batch_size))
    epochs = max(1, round(steps / per_epoch))
    started = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0)
    return (time.perf_counter() - started) / (epochs * per_epoch)


def measure(workload_name, rounds, steps, names):
    workload = load_workload(EXAMPLES / f"{workload_name}.py")
    data = workload.load_data()
    batch = workload.fit["batch_size"]
    models = {}
    for name in names:
        models[name] = _model(workload, name, seed=0)
        models[name].fit(*data.train, batch_size=batch, epochs=1, verbose=0)  # compile, warm up
    ratios = {name: [] for name in names}
    for round_index in range(rounds):
        order = names if round_index % 2 == 0 else names[::-1]
        seconds = {name: _timed_fit(models[name], *data.train, batch, steps) for name in order}
        for name in names:
            ratios[name].append(seconds[name] / seconds["Adam"])
    for name in names:
        print(f"{workload_name}.{name}.step_time_vs_adam: {statistics.median(ratios[name]):.3f}", flush=True)
    return {name: statistics.median(values) for name, values in ratios.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--workloads", default="digits_cnn,fashion_mlp")
    parser.add_argument("--optimizers", default=None, help="comma-separated subset (Adam is always added)")
    args = parser.parse_args(argv)
    names = list(OPTIMIZERS) if not args.optimizers else ["Adam"] + [n for n in args.optimizers.split(",") if n != "Adam"]
    print(f"backend: {keras.backend.backend()}")
    medians = [measure(name, args.rounds, args.steps, names) for name in args.workloads.split(",")]
    ours = [name for name in names if name.endswith("*") and not name.startswith("SAM")]
    worst = max(m[name] for m in medians for name in ours)
    print(f"summary: slowest keras-doctor optimizer (SAM aside) at {worst:.3f}x Adam per step")
    return 0


if __name__ == "__main__":
    sys.exit(main())
