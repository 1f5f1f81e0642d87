"""Tuning benchmarks: lr_find against a learning-rate grid, time to a target, search efficiency.

    python bench/tune.py lr-find     # 7 workloads x 5 seeds: lr_find's suggestion vs the best of a 7-point grid
    python bench/tune.py lr-find --rescore bench-results/lr_find.jsonl   # score saved sweeps again
    python bench/tune.py target      # digits to 97%: the recommended recipe vs Keras defaults, 5 seeds
    python bench/tune.py target --compilation-cache DIR   # the same with JAX's persistent cache on
    python bench/tune.py search      # epochs to a target: Optuna TPE + Hyperband vs KerasTuner RandomSearch
    python bench/tune.py schedule-callback   # per-batch ScheduleCallback vs the schedule compiled in

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
LR_WORKLOADS = ("digits_mlp", "breast_cancer_mlp", "mnist1d_conv1d", "examples/fashion_mlp.py", "digits_cnn",
                "friedman_mlp", "imdb_embedding")


def _lr_workload(name):
    """(load(seed) -> (x, y, validation), build() -> compiled model, fit) for a base name or a workload file."""
    from kerasdoctor.testing.bases import BASES
    from kerasdoctor.workload import load_workload

    if name in BASES:
        base = BASES[name]

        def load(seed):
            (x, y), validation = base.load(seed)
            return x, y, validation

        return load, lambda: base.build(base.recipe), dict(base.fit)
    workload = load_workload(name)

    def load(seed):
        data = workload.load_data(seed)
        return data.x_train, data.y_train, data.validation

    return load, workload.build_model, dict(workload.fit)


def _final(history, key):
    values = history.get(key, [])
    return values[-1] if values else float("nan")


def _grid_best(grid):
    """The grid rates with the best final validation accuracy (lowest final val loss without
    one): several when they tie exactly (the same count of correct validation samples)."""
    key = "val_accuracy" if all("val_accuracy" in h for h in grid.values()) else "val_loss"
    sign = 1 if key == "val_accuracy" else -1
    scores = {}
    for rate, history in grid.items():
        value = _final(history, key)
        scores[rate] = sign * value if math.isfinite(value) else -math.inf
    top = max(scores.values())
    best = [rate for rate, value in scores.items() if value == top]
    return best, key, {rate: sign * value for rate, value in scores.items()}


def _nearest(rate, best):
    """``rate`` over the best grid rate closest to it (in log scale)."""
    return min((rate / b for b in best), key=lambda ratio: abs(math.log(ratio)))


def score_lr_record(record, rule):
    """Re-reads one saved sweep with ``rule`` and compares it with the saved grid."""
    from kerasdoctor.tune.lr_find import _result

    found = _result(record["learning_rates"], None, record["raw_losses"], rule, False, 0.9)
    grid = {float(rate): history for rate, history in record["grid"].items()}
    best, key, scores = _grid_best(grid)
    return found, best, key, scores


def bench_lr_find(seeds, workloads, out, rescore=None, reuse_grid=None):
    import json

    import kerasdoctor  # noqa: F401
    import keras

    from kerasdoctor.tune.lr_find import lr_find

    if rescore:
        with open(rescore, encoding="utf-8") as handle:
            records = [json.loads(line) for line in handle if line.strip()]
        workloads = list(dict.fromkeys(r["workload"] for r in records))
    else:
        saved = {}
        if reuse_grid:  # the grid runs do not depend on lr_find: sweep again, keep the saved grids
            with open(reuse_grid, encoding="utf-8") as handle:
                saved = {(r["workload"], r["seed"]): r["grid"]
                         for r in (json.loads(line) for line in handle if line.strip())}
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        records, sink = [], open(out, "w", encoding="utf-8")
        for name in workloads:
            load, build, fit = _lr_workload(name)
            for seed in range(seeds):
                x, y, validation = load(seed)
                keras.utils.set_random_seed(seed)
                found = lr_find(build(), x, y, batch_size=fit["batch_size"], seed=seed)
                grid = saved.get((name, seed)) or {}
                for rate in GRID if not grid else ():
                    keras.utils.set_random_seed(seed)
                    model = build()
                    model.optimizer.learning_rate = rate
                    history = model.fit(x, y, validation_data=validation, verbose=0, **fit).history
                    grid[str(rate)] = {k: [float(v) for v in values] for k, values in history.items()}
                record = {"workload": name, "seed": seed, "batch_size": fit["batch_size"],
                          "validation_size": len(validation[1]),
                          "learning_rates": found.learning_rates, "raw_losses": found.raw_losses, "grid": grid}
                sink.write(json.dumps(record) + "\n")
                sink.flush()
                records.append(record)
        sink.close()
    passed_workloads = 0
    for name in workloads:
        hits = near_hits = 0
        mine = [r for r in records if r["workload"] == name]
        for record in mine:
            found, best, key, scores = score_lr_record(record, "steep")
            ratio = _nearest(found.suggestion, best)
            hit = 1 / 3 <= ratio <= 3
            hits += hit
            # Rates within one binomial standard error of the best accuracy: tied as far as
            # this validation set can tell (accuracy only).
            near = ""
            if key == "val_accuracy":
                if "validation_size" not in record:
                    record["validation_size"] = len(_lr_workload(name)[0](record["seed"])[2][1])
                top = scores[best[0]]
                error = math.sqrt(max(top * (1 - top), 1e-12) / record["validation_size"])
                tied = [rate for rate, value in scores.items() if value >= top - error]
                near_hit = 1 / 3 <= _nearest(found.suggestion, tied) <= 3
                near_hits += near_hit
                near = f"; within 1 s.e. ({error:.4f}): {'/'.join(f'{r:g}' for r in tied)} {'ok' if near_hit else 'MISS'}"
            others = " ".join(f"{rule}={value:.3g}({_nearest(value, best):.2f}x)"
                              for rule, value in found.suggestions.items())
            print(f"lr_find.{name}.seed{record['seed']}: suggestion {found.suggestion:.3g} "
                  f"({len(record['learning_rates'])} steps), grid best {'/'.join(f'{b:g}' for b in best)} "
                  f"({key} {scores[best[0]]:.4f}), ratio {ratio:.2f} {'ok' if hit else 'MISS'}{near}; rules {others}; grid "
                  + " ".join(f"{r:g}:{v:.3f}" for r, v in scores.items()))
        passed = hits >= max(len(mine) - 1, 1)
        passed_workloads += passed
        print(f"lr_find.{name}.within_3x: {hits}/{len(mine)}"
              + (f" (of a rate within one standard error of the best: {near_hits}/{len(mine)})"
                 if key == "val_accuracy" else ""))
    print(f"summary lr_find: {passed_workloads}/{len(workloads)} workloads with the suggestion within 3x of "
          f"the grid's best in all seeds but at most one")


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


def bench_target(seeds, target=0.97, max_epochs=40, compilation_cache=None, path="examples/digits_cnn.py"):
    import kerasdoctor  # noqa: F401
    import keras

    if compilation_cache:  # JAX's persistent cache, for both arms: compiled steps are read back from disk
        from kerasdoctor.speedup import use_compilation_cache

        use_compilation_cache(compilation_cache)

    from kerasdoctor.tune.recipe import recommend
    from kerasdoctor.workload import load_workload

    workload = load_workload(path)

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
        swept = time.perf_counter() - started
        clock = Clock(started)
        chosen.fit(model, data.x_train, data.y_train, validation_data=data.validation, seed=seed, callbacks=[clock])
        return clock.hit, chosen, swept

    # The process's first training pays one-off start-up costs (seconds): pay them on a run
    # neither arm repeats (a batch size neither uses, so no compiled step is shared).
    data = workload.load_data(0)
    warm = workload.build_model()
    warm.fit(data.x_train[:96], data.y_train[:96], batch_size=48, epochs=1, verbose=0,
             validation_data=(data.validation[0][:48], data.validation[1][:48]))

    times = {"default": [], "recipe": []}
    for seed in range(seeds):
        data = workload.load_data(seed)
        order = ("default", "recipe") if seed % 2 == 0 else ("recipe", "default")
        for which in order:
            if which == "default":
                hit = default(seed, data)
                detail = ""
            else:
                hit, chosen, swept = recipe(seed, data)
                detail = (f" (batch {chosen.batch_size}, one-cycle peak {chosen.max_learning_rate:.3g} over "
                          f"{chosen.epochs} epochs; range test done at {swept:.2f} s, {chosen.lr_find_steps} steps)")
            times[which].append(hit[1] if hit else math.inf)
            print(f"target.seed{seed}.{which}: " + (f"{hit[1]:.2f} s, epoch {hit[0]}" if hit else "not reached")
                  + detail)
            sys.stdout.flush()
    ratio = statistics.median(times["default"]) / statistics.median(times["recipe"])
    print(f"summary target: {workload.name} to {target:.1%} validation accuracy, median wall time Keras defaults "
          f"{statistics.median(times['default']):.2f} s / recipe {statistics.median(times['recipe']):.2f} s = "
          f"{ratio:.2f}x faster ({seeds} seeds, alternating"
          f"{', compilation cache on for both' if compilation_cache else ', every run compiles'})")


def bench_schedule_callback(repeats=7, epochs=10):
    """Step time of a one-cycle schedule written per batch by ScheduleCallback against the same
    schedule compiled into the optimizer (digits CNN, batch 64, alternating)."""
    import kerasdoctor  # noqa: F401
    import keras

    from kerasdoctor.schedules import OneCycle, ScheduleCallback
    from kerasdoctor.tune.recipe import ShuffledBatches
    from kerasdoctor.workload import load_workload

    workload = load_workload("examples/digits_cnn.py")
    data = workload.load_data(0)
    models = {}
    for which in ("compiled", "callback"):
        keras.utils.set_random_seed(0)
        model = workload.build_model()
        rate = OneCycle(1e-2, total_steps=10_000) if which == "compiled" else 1e-2
        model.compile(optimizer=keras.optimizers.Adam(rate), loss=model.loss, metrics=["accuracy"])
        model.fit(ShuffledBatches(data.x_train, data.y_train, 64), epochs=1, verbose=0)  # compile
        models[which] = model
    times = {"compiled": [], "callback": []}
    for repeat in range(repeats):
        for which in ("compiled", "callback") if repeat % 2 == 0 else ("callback", "compiled"):
            callbacks = [ScheduleCallback(OneCycle(1e-2, total_steps=10_000))] if which == "callback" else []
            started = time.perf_counter()
            models[which].fit(ShuffledBatches(data.x_train, data.y_train, 64), epochs=epochs, verbose=0,
                              callbacks=callbacks)
            times[which].append(time.perf_counter() - started)
    compiled, callback = statistics.median(times["compiled"]), statistics.median(times["callback"])
    print(f"schedule_callback.compiled_s: {compiled:.3f}")
    print(f"schedule_callback.callback_s: {callback:.3f}")
    print(f"summary schedule-callback: {callback / compiled:.3f}x the time of the compiled schedule "
          f"({epochs} epochs x {len(data.y_train) // 64} steps, median of {repeats} alternating runs)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=("lr-find", "target", "search", "schedule-callback"))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workloads", default=",".join(LR_WORKLOADS),
                        help="lr-find: comma-separated base names (kerasdoctor.testing.bases) or workload files")
    parser.add_argument("--out", default="bench-results/lr_find.jsonl", help="lr-find: where the sweeps and grids go")
    parser.add_argument("--reuse-grid", metavar="JSONL",
                        help="lr-find: run the sweeps again but take the grid runs from a saved .jsonl")
    parser.add_argument("--workload", default="examples/digits_cnn.py", help="target: the workload file")
    parser.add_argument("--target", type=float, default=0.97, help="target: the validation accuracy to reach")
    parser.add_argument("--compilation-cache", metavar="DIR",
                        help="target: turn on JAX's persistent compilation cache in DIR for both arms")
    parser.add_argument("--rescore", help="lr-find: a saved .jsonl to score again with the current rules, no training")
    args = parser.parse_args(argv)
    if args.part == "lr-find":
        bench_lr_find(args.seeds, args.workloads.split(","), args.out, args.rescore, args.reuse_grid)
    elif args.part == "target":
        bench_target(args.seeds, compilation_cache=args.compilation_cache, path=args.workload, target=args.target)
    elif args.part == "schedule-callback":
        bench_schedule_callback()
    else:
        bench_search(args.repeats)


if __name__ == "__main__":
    main()
