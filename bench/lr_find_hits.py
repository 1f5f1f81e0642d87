"""lr_find, settled: is its suggestion as good as the best rate of a grid, beyond seed noise?

The criterion, the grid and the seeds are fixed here, before any run (the speed issue):

- Three workloads with at least 2,000 validation samples: the Fashion-MNIST MLP of
  `examples/fashion_mlp.py` (10,000), an MLP on MNIST-1D generated with 12,000 samples (2,400),
  and an MLP on `make_classification` with 12,000 samples (3,000). Adam, the workload's batch
  size and epochs.
- The grid: 7 rates, 1e-4 to 1e-1 in half decades; each trained with seeds 0, 1, 2; the best
  rate is the one with the highest mean best validation accuracy.
- lr_find at its defaults (the sweep and the suggestion rule of the code it runs; the rule is
  chosen on other workloads, `bench/lr_find_rules.py`) with seeds 0..4 on a fresh model of each
  seed; each suggestion trained with seeds 3, 4, 5.
- A hit: the suggestion's mean is not worse than the best rate's mean by more than one standard
  error of the difference of the two means (sqrt(s1^2/3 + s2^2/3)).
- The bar: at least 4 of 5 seeds are hits on each workload.

    python bench/lr_find_hits.py [--workloads fashion_mlp,mnist1d_mlp,classification_mlp]

Accuracy, not timing: it may share the machine.
"""

import argparse
import math
import statistics
from pathlib import Path

import kerasdoctor  # noqa: F401  (chooses the backend before Keras loads)
import keras
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

from kerasdoctor.tune.lr_find import lr_find
from kerasdoctor.tune.space import recompile
from kerasdoctor.workload import load_workload

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
GRID_SEEDS = (0, 1, 2)
FIND_SEEDS = (0, 1, 2, 3, 4)
CHECK_SEEDS = (3, 4, 5)


def _mlp(inputs, classes, hidden=(128,)):
    def build():
        layers = [keras.Input((inputs,))] + [keras.layers.Dense(h, activation="relu") for h in hidden]
        model = keras.Sequential(layers + [keras.layers.Dense(classes, activation="softmax")])
        model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model
    return build


def _mnist1d():
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples = 12_000
    data = make_dataset(args)
    x, x_val = data["x"].astype("float32"), data["x_test"].astype("float32")
    mean, std = x.mean(), x.std()
    return (((x - mean) / std, data["y"].astype("int32")), ((x_val - mean) / std, data["y_test"].astype("int32")))


def _classification():
    x, y = make_classification(n_samples=12_000, n_features=20, n_informative=10, n_classes=4, random_state=0)
    x_train, x_val, y_train, y_val = train_test_split(x.astype("float32"), y.astype("int32"), test_size=0.25,
                                                      random_state=0, stratify=y)
    return (x_train, y_train), (x_val, y_val)


def workloads():
    """name -> (build, (train, validation), batch size, epochs)."""
    fashion = load_workload(EXAMPLES / "fashion_mlp.py")
    data = fashion.load_data(0)
    return {
        "fashion_mlp": (fashion.build_model, (data.train, data.validation), fashion.fit["batch_size"],
                        fashion.fit["epochs"]),
        "mnist1d_mlp": (_mlp(40, 10, (256, 128)), _mnist1d(), 64, 20),
        "classification_mlp": (_mlp(20, 4, (64, 64)), _classification(), 64, 10),
    }


def best_accuracy(build, data, rate, seed, batch_size, epochs):
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model = recompile(build(), learning_rate=rate)
    (x, y), validation = data
    history = model.fit(x, y, validation_data=validation, batch_size=batch_size, epochs=epochs, verbose=0)
    values = [v for v in history.history["val_accuracy"] if math.isfinite(v)]
    return max(values) if values else 0.0


def _mean_sd(values):
    return statistics.fmean(values), statistics.stdev(values)


def bench(name, build, data, batch_size, epochs):
    grid = {rate: [best_accuracy(build, data, rate, s, batch_size, epochs) for s in GRID_SEEDS] for rate in GRID}
    best_rate = max(GRID, key=lambda r: statistics.fmean(grid[r]))
    best_mean, best_sd = _mean_sd(grid[best_rate])
    print(f"{name}: grid means " + ", ".join(f"{r:g}: {statistics.fmean(v):.4f}" for r, v in grid.items())
          + f"; best {best_rate:g} ({best_mean:.4f} ± {best_sd:.4f} sd)", flush=True)
    hits = 0
    for seed in FIND_SEEDS:
        keras.backend.clear_session()
        keras.utils.set_random_seed(seed)
        (x, y), _ = data
        suggestion = lr_find(build(), x, y, batch_size=batch_size, seed=seed).suggestion
        runs = [best_accuracy(build, data, suggestion, s, batch_size, epochs) for s in CHECK_SEEDS]
        mean, sd = _mean_sd(runs)
        se = math.sqrt(sd**2 / len(runs) + best_sd**2 / len(GRID_SEEDS))
        hit = mean >= best_mean - se
        hits += hit
        print(f"    seed {seed}: suggestion {suggestion:.3g} -> {mean:.4f} ± {sd:.4f} sd; "
              f"difference {mean - best_mean:+.4f}, se {se:.4f}: {'hit' if hit else 'miss'}", flush=True)
    return hits


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="fashion_mlp,mnist1d_mlp,classification_mlp")
    args = parser.parse_args(argv)
    chosen = workloads()
    rows = []
    for name in args.workloads.split(","):
        build, data, batch_size, epochs = chosen[name]
        rows.append((name, bench(name, build, data, batch_size, epochs)))
    print("\n| workload | hits (of 5) | bar (>= 4) |\n|---|---|---|")
    for name, hits in rows:
        print(f"| {name} | {hits} | {'met' if hits >= 4 else 'not met'} |")


if __name__ == "__main__":
    main()
