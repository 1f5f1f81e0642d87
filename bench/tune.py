"""Tuning benchmarks: lr_find against a learning-rate grid, time to a target, search efficiency.

    python bench/tune.py lr-find     # 3 workloads x 5 seeds: lr_find's suggestion vs the best of a 7-point grid
    python bench/tune.py target      # digits to 97%: the recommended recipe vs Keras defaults, 5 seeds
    python bench/tune.py search      # epochs to a target: Optuna TPE + Hyperband vs KerasTuner RandomSearch

Prints `name: value` lines and ends with one summary line per part.
"""

import argparse
import math
import os
import statistics
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
LR_WORKLOADS = ("digits_mlp", "breast_cancer_mlp", "mnist1d_conv1d")


def _final(history, key):
    values = history.get(key, [])
    return values[-1] if values else float("nan")


def bench_lr_find(seeds):
    import kerasdoctor  # noqa: F401
    import keras

    from kerasdoctor.testing.bases import BASES
    from kerasdoctor.tune.lr_find import lr_find

    passed_workloads = 0
    for name in LR_WORKLOADS:
        base = BASES[name]
        hits = 0
        for seed in range(seeds):
            (x, y), validation = base.load(seed)
            keras.utils.set_random_seed(seed)
            found = lr_find(base.build(base.recipe), x, y, batch_size=base.fit["batch_size"], seed=seed)
            scores = {}
            for rate in GRID:
                keras.utils.set_random_seed(seed)
                model = base.build(base.recipe.changed(learning_rate=rate))
                history = model.fit(x, y, validation_data=validation, verbose=0, **base.fit).history
                key = "val_accuracy" if "val_accuracy" in history else "val_loss"
                value = _final(history, key)
                scores[rate] = value if math.isfinite(value) else (-math.inf if key == "val_accuracy" else math.inf)
            best = (max if key == "val_accuracy" else min)(scores, key=scores.get)
            ratio = found.suggestion / best
            hit = 1 / 3 <= ratio <= 3
            hits += hit
            others = " ".join(f"{rule}={value:.3g}({value / best:.2f}x)" for rule, value in found.suggestions.items())
            print(f"lr_find.{name}.seed{seed}: suggestion {found.suggestion:.3g} ({len(found.learning_rates)} steps), "
                  f"grid best {best:g} ({key} {scores[best]:.4f}), ratio {ratio:.2f} {'ok' if hit else 'MISS'}; "
                  f"rules {others}; grid " + " ".join(f"{r:g}:{v:.3f}" for r, v in scores.items()))
            sys.stdout.flush()
        passed = hits >= max(seeds - 1, 1)
        passed_workloads += passed
        print(f"lr_find.{name}.within_3x: {hits}/{seeds}")
    print(f"summary lr_find: {passed_workloads}/{len(LR_WORKLOADS)} workloads with the suggestion within 3x of "
          f"the grid's best in >= {max(seeds - 1, 1)} of {seeds} seeds")


class _EpochLog:
    """Per trial, the validation metric of every epoch, in the order trials ran."""

    def __init__(self):
        self.trials = []


def _epochs_to_target(trials, target):
    """Epochs trained, trials in the order they ran, until an epoch first reaches ``target``."""
    spent = 0
    for values in trials:
        for epoch, value in enumerate(values):
            if value >= target:
                return spent + epoch + 1, True
        spent += len(values)
    return spent, False


def bench_search(repeats, trials=15, targets=(0.97, 0.975, 0.98, 0.985)):
    import tempfile

    import kerasdoctor  # noqa: F401
    import keras
    import keras_tuner
    import optuna

    from kerasdoctor.tune.study import run_tune
    from kerasdoctor.workload import load_workload

    path = "examples/digits_mlp.py"
    workload = load_workload(path)
    data = workload.load_data(0)
    epochs = workload.fit["epochs"]
    ratios = {target: [] for target in targets}
    for repeat in range(repeats):
        folder = tempfile.mkdtemp()
        storage = f"sqlite:///{folder}/study.db"
        started = time.perf_counter()
        run_tune(path, trials=trials, storage=storage, study=f"search-{repeat}", seed=repeat, out=f"{folder}/run",
                 retrain=False)
        optuna_seconds = time.perf_counter() - started
        study = optuna.load_study(study_name=f"search-{repeat}", storage=storage)
        ordered = sorted(study.trials, key=lambda t: t.datetime_start)
        optuna_curves = [[t.intermediate_values[k] for k in sorted(t.intermediate_values)] for t in ordered]

        log = _EpochLog()

        class Record(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                log.trials.append([])

            def on_epoch_end(self, epoch, logs=None):
                log.trials[-1].append(float(logs["val_accuracy"]))

        tuner = keras_tuner.RandomSearch(workload.build_model, objective="val_accuracy", max_trials=trials,
                                         seed=repeat, directory=folder, project_name="kt", overwrite=True)
        started = time.perf_counter()
        tuner.search(data.x_train, data.y_train, validation_data=data.validation, epochs=epochs,
                     batch_size=workload.fit["batch_size"], verbose=0, callbacks=[Record()])
        kt_seconds = time.perf_counter() - started
        total_optuna = sum(len(c) for c in optuna_curves)
        total_kt = sum(len(c) for c in log.trials)
        print(f"search.repeat{repeat}.all_epochs: optuna {total_optuna} in {optuna_seconds:.0f} s "
              f"({sum(t.state.name == 'PRUNED' for t in study.trials)} of {trials} pruned), "
              f"keras-tuner {total_kt} in {kt_seconds:.0f} s; best val_accuracy optuna "
              f"{max(max(c) for c in optuna_curves if c):.4f}, keras-tuner {max(max(c) for c in log.trials if c):.4f}")
        for target in targets:
            optuna_epochs, optuna_hit = _epochs_to_target(optuna_curves, target)
            kt_epochs, kt_hit = _epochs_to_target(log.trials, target)
            ratio = optuna_epochs / kt_epochs
            ratios[target].append(ratio)
            print(f"search.repeat{repeat}.target{target}: epochs to reach it: optuna {optuna_epochs}"
                  f"{'' if optuna_hit else ' (never)'}, keras-tuner {kt_epochs}{'' if kt_hit else ' (never)'}, "
                  f"ratio {ratio:.2f}")
        sys.stdout.flush()
    for target in targets:
        print(f"summary search target {target}: median ratio of epochs to the target (Optuna TPE + Hyperband / "
              f"KerasTuner RandomSearch) {statistics.median(ratios[target]):.2f} over {repeats} repeats, "
              f"{trials} trials of {epochs} epochs each")


def bench_target(seeds, target=0.97, max_epochs=40):
    import kerasdoctor  # noqa: F401
    import keras

    from kerasdoctor.tune.recipe import recommend
    from kerasdoctor.workload import load_workload

    workload = load_workload("examples/digits_cnn.py")

    class Clock(keras.callbacks.Callback):
        def __init__(self, started):
            super().__init__()
            self.started, self.hit = started, None

        def on_epoch_end(self, epoch, logs=None):
            if self.hit is None and logs.get("val_accuracy", 0) >= target:
                self.hit = (epoch + 1, time.perf_counter() - self.started)
                self.model.stop_training = True

    def default(seed, data):
        started = time.perf_counter()
        keras.utils.set_random_seed(seed)
        model = workload.build_model()
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=model.loss, metrics=["accuracy"])
        clock = Clock(started)
        model.fit(data.x_train, data.y_train, validation_data=data.validation, epochs=max_epochs, batch_size=32,
                  verbose=0, callbacks=[clock])
        return clock.hit

    def recipe(seed, data):
        started = time.perf_counter()
        keras.utils.set_random_seed(seed)
        model = workload.build_model()
        chosen = recommend(workload.build_model, data, epochs=workload.fit["epochs"], seed=seed, model=model)
        chosen.apply(model)
        clock = Clock(started)
        model.fit(data.x_train, data.y_train, validation_data=data.validation, epochs=chosen.epochs,
                  batch_size=chosen.batch_size, verbose=0, callbacks=[clock])
        return clock.hit, chosen

    times = {"default": [], "recipe": []}
    for seed in range(seeds):
        data = workload.load_data(seed)
        order = ("default", "recipe") if seed % 2 == 0 else ("recipe", "default")
        for which in order:
            if which == "default":
                hit = default(seed, data)
                detail = ""
            else:
                hit, chosen = recipe(seed, data)
                detail = f" (batch {chosen.batch_size}, one-cycle peak {chosen.max_learning_rate:.3g})"
            times[which].append(hit[1] if hit else math.inf)
            print(f"target.seed{seed}.{which}: " + (f"{hit[1]:.2f} s, epoch {hit[0]}" if hit else "not reached")
                  + detail)
            sys.stdout.flush()
    ratio = statistics.median(times["default"]) / statistics.median(times["recipe"])
    print(f"summary target: digits CNN to {target:.0%} validation accuracy, median wall time Keras defaults "
          f"{statistics.median(times['default']):.2f} s / recipe {statistics.median(times['recipe']):.2f} s = "
          f"{ratio:.2f}x faster ({seeds} seeds, alternating)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=("lr-find", "target", "search"))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if args.part == "lr-find":
        bench_lr_find(args.seeds)
    elif args.part == "target":
        bench_target(args.seeds)
    else:
        bench_search(args.repeats)


if __name__ == "__main__":
    main()
