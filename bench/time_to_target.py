"""Time to a target validation accuracy on Fashion-MNIST: Keras defaults against keras-doctor's
recipe with the knobs `speed` recommends (the speed issue, part 3).

Fixed before any run:

- workloads and targets: `examples/fashion_mlp.py` to 0.87 and `examples/fashion_cnn.py` to 0.89
  validation accuracy (on the 10,000 test images), at most 30 epochs; a run that does not reach
  its target counts as its 30-epoch time;
- Keras defaults: the workload's model compiled again with Adam(1e-3) and its own loss, batch
  32, no schedule, the validation set after every epoch;
- keras-doctor: the knobs of `speed`'s recommendation for the workload (backend, XLA,
  `steps_per_execution`, precision; a batch-size knob gives way to the recipe's own batch size),
  then `kerasdoctor.tune.recipe.recommend` on the model to be trained (the batch size, a range
  test at that batch size, the one-cycle peak) with the one-cycle over the workload's own
  epochs, trained by `TrainingRecipe.fit` up to 30 epochs (past the schedule the rate stays at
  its end);
- the time: wall seconds from building the model to the end of the epoch that first reaches the
  target, compilation and the range test included. Every run is a fresh process (a backend knob
  needs one), with the data loaded and the seed set before the clock starts (setting it imports
  TensorFlow where it is installed, which a TensorFlow process has done with Keras);
- 3 seeds, the two arms alternating (the defaults first on even seeds); the medians; the bar:
  keras-doctor >= 3x faster.

`speed` runs once per workload before the timed runs, and its own wall time is printed apart:
it is paid once for a workload, not for every training. `--speed-json NAME=PATH` takes the
recommendation of an earlier `keras-doctor speed --json` run instead.

    python bench/time_to_target.py [--workloads fashion_mlp,fashion_cnn] [--seeds 3]
        [--speed-repeats 2] [--speed-seeds 2] [--speed-steps 100] [--speed-json NAME=PATH ...]

Timing runs must have the machine to themselves: run nothing beside this script.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
TARGETS = {"fashion_mlp": 0.87, "fashion_cnn": 0.89}
MAX_EPOCHS = 30
DEFAULT_BATCH = 32
BAR = 3.0
# The settings a recipe run takes from speed's recommendation; the batch size and its learning
# rate scale are the recipe's own.
TAKEN = ("jit_compile", "steps_per_execution", "dtype_policy", "backend")


def one_run(arm, name, seed, settings, target):
    """One timed run in this process: {'seconds', 'epoch' (None: not reached), 'epochs', ...}."""
    import kerasdoctor  # noqa: F401  (chooses the backend: KERAS_BACKEND)
    import keras

    from kerasdoctor.speedup.knobs import Settings
    from kerasdoctor.speedup.measure import build
    from kerasdoctor.tune.recipe import recommend
    from kerasdoctor.workload import load_workload

    workload = load_workload(EXAMPLES / f"{name}.py")
    data = workload.load_data(0)

    class Clock(keras.callbacks.Callback):
        def __init__(self, started):
            super().__init__()
            self.started, self.hit, self.values, self.ends = started, None, [], []

        def on_epoch_end(self, epoch, logs=None):
            value = (logs or {}).get("val_accuracy")
            self.values.append(value)
            self.ends.append(time.perf_counter() - self.started)
            if self.hit is None and value is not None and value >= target:
                self.hit = epoch + 1
                self.model.stop_training = True

    # Seeding imports TensorFlow when it is installed, whatever the backend (about 2 s here): on a
    # TensorFlow arm that import happened with Keras's, before the clock, so on every arm it does.
    keras.utils.set_random_seed(seed)
    started = time.perf_counter()
    clock = Clock(started)
    detail = {}
    if arm == "defaults":
        keras.utils.set_random_seed(seed)
        model = workload.build_model()
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=model.loss, metrics=["accuracy"])
        model.fit(data.x_train, data.y_train, validation_data=data.validation, epochs=MAX_EPOCHS,
                  batch_size=DEFAULT_BATCH, verbose=0, callbacks=[clock])
    else:
        chosen_settings = Settings(batch_size=None, **{k: settings[k] for k in TAKEN if k in settings})
        steps_per_execution = chosen_settings.steps_per_execution
        # The range test reads the loss after every step, so it runs one step per execution;
        # the training after it takes the recommended steps per execution.
        model = build(workload, chosen_settings.changed(backend=None, steps_per_execution=1), seed)
        chosen = recommend(workload.build_model, data, epochs=workload.fit["epochs"], seed=seed, model=model)
        detail = {"batch_size": chosen.batch_size, "peak": chosen.max_learning_rate,
                  "range_test_done_at": time.perf_counter() - started, "range_test_steps": chosen.lr_find_steps}
        if steps_per_execution > 1:
            model.steps_per_execution = steps_per_execution
            model.make_train_function(force=True)
        chosen.fit(model, data.x_train, data.y_train, validation_data=data.validation, seed=seed,
                   callbacks=[clock], epochs=MAX_EPOCHS)
    return {"arm": arm, "seed": seed, "epoch": clock.hit, "epochs": len(clock.ends),
            "seconds": clock.ends[clock.hit - 1] if clock.hit else clock.ends[-1],
            "values": clock.values, "backend": keras.backend.backend(), **detail}


def in_process(arm, name, seed, settings, target):
    """``one_run`` in a fresh process, on the backend the settings name (else JAX)."""
    backend = (settings or {}).get("backend") or os.environ.get("KERAS_BACKEND") or "jax"
    command = [sys.executable, __file__, "--run", arm, "--workloads", name, "--seed", str(seed),
               "--settings", json.dumps(settings or {}), "--target", str(target)]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "KERAS_BACKEND": backend})
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        tail = [line for line in done.stderr.splitlines() if line.strip()]
        raise SystemExit(f"{arm} run of {name} (seed {seed}) failed: {tail[-1] if tail else done.returncode}")
    return json.loads(lines[-1])


def recommendation(name, args):
    """(settings, knob names, seconds speed took or None) from speed's recommendation."""
    given = dict(item.split("=", 1) for item in args.speed_json)
    if name in given:
        summary, seconds = json.loads(Path(given[name]).read_text()), None
    else:
        import kerasdoctor  # noqa: F401
        from kerasdoctor.speedup import run_speed
        from kerasdoctor.workload import load_workload

        started = time.perf_counter()
        result = run_speed(load_workload(EXAMPLES / f"{name}.py"), repeats=args.speed_repeats,
                           seeds=args.speed_seeds, steps=args.speed_steps, out=Path(args.out) / f"speed-{name}")
        summary, seconds = result.to_dict(), time.perf_counter() - started
    best = summary.get("recommended") or {}
    if best.get("verdict") != "recommended":
        return {}, [], seconds
    delta = best.get("accuracy_delta") or {}
    throughput = best.get("throughput_ratio")
    print(f"{name}.speed.recommended: throughput " + (f"{throughput:.2f}x" if throughput else "-") + ", time to target "
          + (f"{best['time_to_target_ratio']:.2f}x" if best.get("time_to_target_ratio") else "-")
          + (f", accuracy {delta['delta']:+.2f} ± {delta['se']:.2f}" if "delta" in delta else ""), flush=True)
    return {k: best["settings"][k] for k in TAKEN}, best["knobs"], seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default=",".join(TARGETS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--speed-repeats", type=int, default=2)
    parser.add_argument("--speed-seeds", type=int, default=2)
    parser.add_argument("--speed-steps", type=int, default=100, help="speed's timing steps (its default: 200)")
    parser.add_argument("--speed-json", action="append", default=[], metavar="NAME=PATH")
    parser.add_argument("--out", default="bench-results/time_to_target")
    # one run in this process (what the parent starts)
    parser.add_argument("--run", choices=("defaults", "recipe"), help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--settings", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--target", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run:
        print(json.dumps(one_run(args.run, args.workloads, args.seed, json.loads(args.settings), args.target)))
        return
    import kerasdoctor  # noqa: F401  (chooses the backend before Keras loads: JAX by default)
    import keras

    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"Keras {keras.__version__}, default backend {keras.backend.backend()}", flush=True)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    summary = {}
    for name in args.workloads.split(","):
        target = TARGETS[name]
        settings, knobs, speed_seconds = recommendation(name, args)
        print(f"{name}.speed: recommends {' + '.join(knobs) or 'nothing'}"
              + (f" (speed ran {speed_seconds / 60:.1f} min, once)" if speed_seconds else " (from --speed-json)"),
              flush=True)
        times = {"defaults": [], "recipe": []}
        runs = []
        for seed in range(args.seeds):
            for arm in (("defaults", "recipe") if seed % 2 == 0 else ("recipe", "defaults")):
                run = in_process(arm, name, seed, settings if arm == "recipe" else {}, target)
                runs.append(run)
                times[arm].append(run["seconds"])
                reached = f"epoch {run['epoch']}" if run["epoch"] else f"not reached in {run['epochs']} epochs"
                extra = (f" (batch {run['batch_size']}, one-cycle peak {run['peak']:.3g}, range test done at "
                         f"{run['range_test_done_at']:.1f} s, {run['backend']})" if arm == "recipe" else "")
                print(f"{name}.seed{seed}.{arm}: {run['seconds']:.1f} s, {reached}{extra}", flush=True)
        defaults, recipe = statistics.median(times["defaults"]), statistics.median(times["recipe"])
        ratio = defaults / recipe
        summary[name] = {"target": target, "knobs": knobs, "speed_seconds": speed_seconds, "runs": runs,
                         "defaults_median": defaults, "recipe_median": recipe, "ratio": ratio}
        print(f"summary {name}: to {target:.0%} validation accuracy, median wall time Keras defaults {defaults:.1f} s "
              f"/ keras-doctor {recipe:.1f} s = {ratio:.2f}x faster ({args.seeds} seeds, alternating; "
              f"bar >= {BAR:g}x: {'met' if ratio >= BAR else 'not met'})", flush=True)
    (Path(args.out) / "summary.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
