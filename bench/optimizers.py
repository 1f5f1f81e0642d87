"""Every optimizer, Keras's and keras-doctor's, at its recommended default, side by side.

For each workload x optimizer x seed: train the example's model with its own
FIT, record the best validation accuracy, the epoch and seconds at which the
target accuracy is first reached, and the final train/validation gap.
Results go to a JSON file; `--table` prints the Markdown tables of
docs/optimizers.md from it. Per-step time relative to Adam is measured
separately and more carefully by bench/optimizer_step_time.py.

    python bench/optimizers.py --out bench-results/optimizers.json
    python bench/optimizers.py --table bench-results/optimizers.json
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import kerasdoctor  # noqa: F401  (chooses the backend before Keras loads)
import keras
import numpy as np

from kerasdoctor.optimizers import SAM, AdaBelief, AdaptiveGradientClipping, Lookahead, Prodigy, RAdam, ScheduleFreeSGD
from kerasdoctor.workload import load_workload

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
WORKLOADS = {"digits_cnn": 0.95, "fashion_mlp": 0.85, "breast_cancer_mlp": 0.95, "imdb_bow": 0.85}

# name -> (optimizer factory, wrap the model in SAM). Learning rates are each
# optimizer's documented default.
OPTIMIZERS = {
    "SGD": (lambda: keras.optimizers.SGD(), False),
    "SGD+momentum": (lambda: keras.optimizers.SGD(momentum=0.9), False),
    "Adam": (lambda: keras.optimizers.Adam(), False),
    "AdamW": (lambda: keras.optimizers.AdamW(), False),
    "Nadam": (lambda: keras.optimizers.Nadam(), False),
    "RMSprop": (lambda: keras.optimizers.RMSprop(), False),
    "Lion": (lambda: keras.optimizers.Lion(), False),
    "Lamb": (lambda: keras.optimizers.Lamb(), False),
    "Adafactor": (lambda: keras.optimizers.Adafactor(), False),
    "Muon": (lambda: keras.optimizers.Muon(), False),
    "ScheduleFreeAdamW": (lambda: keras.optimizers.ScheduleFreeAdamW(), False),
    "RAdam*": (lambda: RAdam(), False),
    "AdaBelief*": (lambda: AdaBelief(), False),
    "Prodigy*": (lambda: Prodigy(), False),
    "ScheduleFreeSGD*": (lambda: ScheduleFreeSGD(), False),
    "Lookahead(Adam)*": (lambda: Lookahead(keras.optimizers.Adam()), False),
    "AGC(SGD+momentum)*": (lambda: AdaptiveGradientClipping(keras.optimizers.SGD(momentum=0.9), clip_factor=0.01), False),
    "SAM(Adam)*": (lambda: keras.optimizers.Adam(), True),
}


def _model(workload, optimizer_name, seed):
    keras.utils.set_random_seed(seed)
    base = workload.build_model()
    make, sam = OPTIMIZERS[optimizer_name]
    model = SAM(base) if sam else base
    model.compile(optimizer=make(), loss=base.loss, metrics=["accuracy"])
    return model


class EpochClock(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.started, self.ends = time.perf_counter(), []

    def on_epoch_end(self, epoch, logs=None):
        self.ends.append(time.perf_counter() - self.started)


def quality_run(workload, data, optimizer_name, seed, target):
    model = _model(workload, optimizer_name, seed)
    clock = EpochClock()
    history = model.fit(*data.train, validation_data=data.validation, verbose=0, callbacks=[clock], **workload.fit)
    val, train = history.history["val_accuracy"], history.history["accuracy"]
    reached = next((i for i, v in enumerate(val) if v >= target), None)
    return {
        "best_val": float(np.nanmax(val)) if np.isfinite(val).any() else float("nan"),
        "epochs_to_target": None if reached is None else reached + 1,
        "seconds_to_target": None if reached is None else clock.ends[reached],
        "gap": float(train[-1] - val[-1]),
        "diverged": not np.isfinite(history.history["loss"]).all(),
    }


def run(args):
    results = {"backend": keras.backend.backend(), "seeds": args.seeds, "runs": []}
    names = args.optimizers.split(",") if args.optimizers else list(OPTIMIZERS)
    for workload_name in args.workloads.split(","):
        workload = load_workload(EXAMPLES / f"{workload_name}.py")
        data = workload.load_data()
        for seed in range(args.seeds):
            for name in names:
                row = quality_run(workload, data, name, seed, WORKLOADS[workload_name])
                results["runs"].append({"workload": workload_name, "optimizer": name, "seed": seed, **row})
                print(f"{workload_name}.{name}.seed{seed}: best_val={row['best_val']:.4f} epochs_to_target={row['epochs_to_target']}", flush=True)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=1))
    print(f"summary: {len(results['runs'])} training runs written to {args.out}")


def _fmt(values, digits=3):
    values = [v for v in values if v is not None]
    return "-" if not values else f"{statistics.median(values):.{digits}g}"


def table(path):
    results = json.loads(Path(path).read_text())
    runs = results["runs"]
    names = list(dict.fromkeys(r["optimizer"] for r in runs))
    for workload in dict.fromkeys(r["workload"] for r in runs):
        print(f"\n#### {workload} (target val accuracy {WORKLOADS[workload]})\n")
        print("| optimizer | best val acc, mean ± sd | reached target | epochs to target | seconds to target | train-val gap |")
        print("|---|---|---|---|---|---|")
        for name in names:
            rows = [r for r in runs if r["workload"] == workload and r["optimizer"] == name]
            best = np.array([r["best_val"] for r in rows])
            reached = sum(r["epochs_to_target"] is not None for r in rows)
            print(f"| {name} | {np.nanmean(best):.4f} ± {np.nanstd(best):.4f} | {reached}/{len(rows)} | "
                  f"{_fmt([r['epochs_to_target'] for r in rows])} | {_fmt([r['seconds_to_target'] for r in rows])} | "
                  f"{_fmt([r['gap'] for r in rows], 2)} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="bench-results/optimizers.json")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--optimizers", default=None, help="comma-separated subset of the names")
    parser.add_argument("--table", default=None, help="print the Markdown table of a results file")
    args = parser.parse_args(argv)
    if args.table:
        table(args.table)
    else:
        run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
