"""Losses for class imbalance and noisy labels against cross-entropy, on long-tailed and noisy tasks.

Everything below is fixed before the run: tasks, ratios, noise rates, seeds,
epochs, optimizer, loss settings and the two primary comparisons.

- Tasks: scikit-learn digits (50 validation samples per class held out, the
  rest the training pool) and MNIST-1D (its generated training split is the
  pool; its test split cut to the rarest class's count is the validation set).
  Features standardised with the pool's statistics. Validation is balanced.
- Imbalance: class c keeps floor(n_max * ratio^(-c / 9)) training samples
  (the exponential profile of Cui et al. 2019), ratio 10 and 100; metrics:
  balanced accuracy and macro-F1 on the balanced validation set.
- Noisy labels: the whole pool with 20% or 40% of training labels moved to
  another class chosen uniformly (symmetric noise); validation labels clean.
- Model: Dense(128, relu) x 2 -> Dense(10) logits; Adam(1e-3), batch 64,
  40 epochs on digits, 30 on MNIST-1D, the same for every loss; scores after
  the last epoch (no early stopping).
- Seeds 0-2 for the tables (a seed fixes the subsample, the noise and the
  initial weights); seeds 0-4 for the two primary comparisons, reported as the
  mean paired difference and its standard error (per task, and over both tasks):
  class-balanced CE vs CCE, balanced accuracy at ratio 100; SCE vs CCE, clean
  accuracy at 40% noise.
- Step cost: each loss's model (and the sparse label smoothing's) on the MNIST-1D pool, warmed up by one epoch,
  then `--rounds` rounds of two epochs in alternating order; the median over
  rounds of the time ratio to CCE's model in the same round.

    KERAS_BACKEND=jax python bench/losses.py [--quick]
    KERAS_BACKEND=jax python bench/losses.py --step-cost-only --rounds 9   # alone, on a quiet machine
"""

import argparse
import statistics
import time

import kerasdoctor  # noqa: F401  (chooses the backend before Keras loads)
import keras
import numpy as np
from keras import ops
from sklearn.datasets import load_digits
from sklearn.metrics import balanced_accuracy_score, f1_score

from kerasdoctor.losses import (
    LDAM,
    BiTemperedLogistic,
    ClassBalanced,
    PolyLoss,
    SparseCategoricalCrossentropyWithSmoothing,
    SymmetricCrossEntropy,
)

NUM_CLASSES = 10
SEEDS = (0, 1, 2)
PRIMARY_SEEDS = (0, 1, 2, 3, 4)
RATIOS = (10, 100)
NOISE_RATES = (0.2, 0.4)
EPOCHS = {"digits": 40, "mnist1d": 30}
BATCH_SIZE = 64
LEARNING_RATE = 1e-3
BETA = 0.999  # class-balanced weighting, Cui et al.'s value for data sets of this size
DRW_BETA = 0.9999  # LDAM-DRW, Cao et al.'s value
PRIMARY = {("imbalance", 100): ("cce", "cb_ce", "balanced_accuracy"), ("noise", 0.4): ("cce", "sce", "accuracy")}


class Adapted(keras.losses.Loss):
    """Feeds a Keras loss one-hot labels or softmax probabilities (the models output logits)."""

    def __init__(self, inner, one_hot=False, softmax=False):
        super().__init__(name=f"adapted_{inner.name}")
        self.inner, self.one_hot, self.softmax = inner, one_hot, softmax

    def call(self, y_true, y_pred):
        if self.one_hot:
            y_true = ops.one_hot(ops.cast(ops.reshape(y_true, (-1,)), "int32"), NUM_CLASSES)
        return self.inner.call(y_true, ops.softmax(y_pred) if self.softmax else y_pred)


def _cce():
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def _focal():
    return Adapted(keras.losses.CategoricalFocalCrossentropy(alpha=1.0, gamma=2.0, from_logits=True), one_hot=True)


IMBALANCE_LOSSES = {
    "cce": lambda counts: _cce(),
    "focal": lambda counts: _focal(),
    "cb_ce": lambda counts: ClassBalanced(_cce(), counts, beta=BETA),
    "cb_focal": lambda counts: ClassBalanced(_focal(), counts, beta=BETA),
    "ldam": lambda counts: LDAM(counts, from_logits=True),
    "ldam_drw": lambda counts: LDAM(counts, from_logits=True),  # re-weighted for the last quarter
    "poly": lambda counts: PolyLoss(1.0, from_logits=True),
}
NOISE_LOSSES = {
    "cce": _cce,
    "gce": lambda: Adapted(keras.losses.CategoricalGeneralizedCrossEntropy(q=0.7), softmax=True),
    "sce": lambda: SymmetricCrossEntropy(alpha=0.1, beta=1.0, from_logits=True),
    "bi_tempered": lambda: BiTemperedLogistic(t1=0.8, t2=1.2),
    "poly": lambda: PolyLoss(1.0, from_logits=True),
}


def _standardised(pool_x, val_x):
    mean, std = pool_x.mean(axis=0), pool_x.std(axis=0) + 1e-6
    return [((x - mean) / std).astype("float32") for x in (pool_x, val_x)]


def load_tasks():
    """{name: (pool_x, pool_y, val_x, val_y)}, validation balanced."""
    digits = load_digits()
    order = np.random.default_rng(1234).permutation(len(digits.target))
    x, y = digits.data[order], digits.target[order]
    held = np.concatenate([np.flatnonzero(y == c)[:50] for c in range(NUM_CLASSES)])
    pool = np.setdiff1d(np.arange(len(y)), held)
    tasks = {"digits": (x[pool], y[pool], x[held], y[held])}
    from mnist1d.data import get_dataset_args, make_dataset

    data = make_dataset(get_dataset_args())
    per_class = np.bincount(data["y_test"]).min()
    held = np.concatenate([np.flatnonzero(data["y_test"] == c)[:per_class] for c in range(NUM_CLASSES)])
    tasks["mnist1d"] = (data["x"], data["y"], data["x_test"][held], data["y_test"][held])
    return {name: (*_standardised(pool_x, val_x), pool_y, val_y) for name, (pool_x, pool_y, val_x, val_y)
            in tasks.items()}


def long_tailed(pool_y, ratio, seed):
    """Indices of a long-tailed subsample of the pool, and its class counts."""
    rng = np.random.default_rng(seed)
    n_max = np.bincount(pool_y).min()
    counts = [max(1, int(n_max * ratio ** (-c / (NUM_CLASSES - 1)))) for c in range(NUM_CLASSES)]
    chosen = [rng.choice(np.flatnonzero(pool_y == c), counts[c], replace=False) for c in range(NUM_CLASSES)]
    return np.concatenate(chosen), counts


def noisy(pool_y, rate, seed):
    """Labels with a share ``rate`` moved to a different class drawn uniformly."""
    rng = np.random.default_rng(seed)
    labels = pool_y.copy()
    flip = rng.random(len(labels)) < rate
    labels[flip] = (labels[flip] + rng.integers(1, NUM_CLASSES, flip.sum())) % NUM_CLASSES
    return labels


def _model(num_features):
    return keras.Sequential([keras.Input((num_features,)), keras.layers.Dense(128, activation="relu"),
                             keras.layers.Dense(128, activation="relu"), keras.layers.Dense(NUM_CLASSES)])


def train(x, y, loss, seed, epochs, late_loss=None):
    """Trains a fresh model; ``late_loss`` replaces ``loss`` for the last quarter of the epochs."""
    keras.utils.set_random_seed(seed)
    model = _model(x.shape[1])
    optimizer = keras.optimizers.Adam(LEARNING_RATE)
    model.compile(optimizer=optimizer, loss=loss)
    early = epochs - epochs // 4 if late_loss is not None else epochs
    model.fit(x, y, batch_size=BATCH_SIZE, epochs=early, verbose=0)
    if late_loss is not None:
        model.compile(optimizer=optimizer, loss=late_loss)
        model.fit(x, y, batch_size=BATCH_SIZE, epochs=epochs - early, verbose=0)
    return model


def _scores(model, x_val, y_val):
    predicted = np.argmax(model.predict(x_val, batch_size=1024, verbose=0), axis=-1)
    return {"accuracy": float(np.mean(predicted == y_val)),
            "balanced_accuracy": float(balanced_accuracy_score(y_val, predicted)),
            "macro_f1": float(f1_score(y_val, predicted, average="macro"))}


def _seeds(setting, loss_name, quick):
    if quick:
        return (0,)
    primary = PRIMARY.get(setting)
    return PRIMARY_SEEDS if primary and loss_name in primary[:2] else SEEDS


def run_imbalance(tasks, quick):
    results = {}
    for task, (pool_x, val_x, pool_y, val_y) in tasks.items():
        for ratio in RATIOS:
            for name, make in IMBALANCE_LOSSES.items():
                for seed in _seeds(("imbalance", ratio), name, quick):
                    chosen, counts = long_tailed(pool_y, ratio, seed)
                    late = ClassBalanced(make(counts), counts, beta=DRW_BETA) if name == "ldam_drw" else None
                    model = train(pool_x[chosen], pool_y[chosen], make(counts), seed, _epochs(task, quick), late)
                    results[task, ratio, name, seed] = _scores(model, val_x, val_y)
    return results


def run_noise(tasks, quick):
    results = {}
    for task, (pool_x, val_x, pool_y, val_y) in tasks.items():
        for rate in NOISE_RATES:
            for name, make in NOISE_LOSSES.items():
                for seed in _seeds(("noise", rate), name, quick):
                    model = train(pool_x, noisy(pool_y, rate, seed), make(), seed, _epochs(task, quick))
                    results[task, rate, name, seed] = _scores(model, val_x, val_y)
    return results


def _epochs(task, quick):
    return 2 if quick else EPOCHS[task]


def report(kind, results, metrics, quick):
    """One `name: value` line per task, setting, loss and metric: mean and SD over the table's seeds."""
    table_seeds = (0,) if quick else SEEDS
    for (task, setting, name) in sorted({key[:3] for key in results}, key=str):
        for metric in metrics:
            values = [results[task, setting, name, s][metric] for s in table_seeds]
            print(f"{kind}.{task}.{setting}.{name}.{metric}: {np.mean(values):.3f} +- {np.std(values, ddof=0):.3f}")


def primary(kind, setting, results, quick):
    """Paired differences new - baseline over PRIMARY_SEEDS, per task and over both tasks."""
    baseline, new, metric = PRIMARY[kind, setting]
    seeds = (0,) if quick else PRIMARY_SEEDS
    pooled = []
    for task in sorted({key[0] for key in results}):
        diffs = [results[task, setting, new, s][metric] - results[task, setting, baseline, s][metric] for s in seeds]
        pooled += diffs
        print(f"primary.{kind}.{setting}.{task}.{new}_minus_{baseline}.{metric}: {_mean_se(diffs)}")
    summary = _mean_se(pooled)
    print(f"primary.{kind}.{setting}.both_tasks.{new}_minus_{baseline}.{metric}: {summary}")
    return f"{new} - {baseline} {metric} at {kind} {setting}: {summary}"


def _mean_se(values):
    se = np.std(values, ddof=1) / np.sqrt(len(values)) if len(values) > 1 else float("nan")
    return f"{np.mean(values):+.4f} (SE {se:.4f}, n={len(values)})"


def step_cost(tasks, rounds):
    pool_x, _, pool_y, _ = tasks["mnist1d"]
    counts = np.bincount(pool_y).tolist()
    makers = {name: (lambda name=name: IMBALANCE_LOSSES[name](counts)) for name in IMBALANCE_LOSSES}
    del makers["ldam_drw"]  # the same step as ldam until the switch
    makers.update({name: NOISE_LOSSES[name] for name in ("gce", "sce", "bi_tempered")})
    makers["sparse_smoothing"] = lambda: SparseCategoricalCrossentropyWithSmoothing(0.1, from_logits=True)
    models = {}
    for name, make in makers.items():
        models[name] = _model(pool_x.shape[1])
        models[name].compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss=make())
        models[name].fit(pool_x, pool_y, batch_size=BATCH_SIZE, epochs=1, verbose=0)
    names, ratios = list(models), {name: [] for name in models}
    for round_index in range(rounds):
        seconds = {}
        for name in names if round_index % 2 == 0 else names[::-1]:
            started = time.perf_counter()
            models[name].fit(pool_x, pool_y, batch_size=BATCH_SIZE, epochs=2, verbose=0)
            seconds[name] = time.perf_counter() - started
        for name in names:
            ratios[name].append(seconds[name] / seconds["cce"])
    for name in names:
        print(f"step_cost.{name}.vs_cce: {statistics.median(ratios[name]):.3f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed, two epochs: checks that the script runs")
    parser.add_argument("--rounds", type=int, default=7, help="rounds of the step-cost measurement")
    parser.add_argument("--step-cost-only", action="store_true",
                        help="only the step-cost measurement (run it alone on a quiet machine)")
    args = parser.parse_args(argv)
    print(f"backend: {keras.backend.backend()}")
    started = time.perf_counter()
    tasks = load_tasks()
    if args.step_cost_only:
        step_cost(tasks, args.rounds)
        print(f"wall_seconds: {time.perf_counter() - started:.0f}")
        print(f"summary: step cost relative to CCE, median of {args.rounds} alternating rounds")
        return
    imbalance = run_imbalance(tasks, args.quick)
    report("imbalance", imbalance, ("balanced_accuracy", "macro_f1"), args.quick)
    noise = run_noise(tasks, args.quick)
    report("noise", noise, ("accuracy",), args.quick)
    step_cost(tasks, 1 if args.quick else args.rounds)
    first = primary("imbalance", 100, imbalance, args.quick)
    second = primary("noise", 0.4, noise, args.quick)
    print(f"wall_seconds: {time.perf_counter() - started:.0f}")
    print(f"summary: {first}; {second}")


if __name__ == "__main__":
    main()
