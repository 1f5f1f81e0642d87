"""A timing or accuracy run in a process of its own, for the knob that switches the backend
(Keras fixes its backend at import, so another backend needs another process) and for the
compilation cache (a process decides once whether it uses one, and only a new process shows
what a warm cache saves).

    python -m kerasdoctor.speedup.worker WORKLOAD.py timing|accuracy SETTINGS_JSON [--epochs N]
        [--seed S] [--steps N] [--plan ROWS,EPOCHS] [--time-limit SECONDS] [--cache-dir DIR]

Prints one JSON object: the run's result, or {"error": "..."}.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

# A run on another backend gets this long (its imports and compilation included).
WORKER_SECONDS = 1800


def run_elsewhere(workload, settings, kind, *arguments, cache_dir=None):
    """A timing or accuracy run on ``settings.backend`` (else this process's backend), in a
    process of its own; its result, or ``KerasDoctorError`` with the reason. ``cache_dir``: the
    compilation cache's folder, for settings that use one."""
    import keras

    from kerasdoctor.errors import KerasDoctorError

    backend = settings.backend or keras.backend.backend()
    command = [sys.executable, "-m", "kerasdoctor.speedup.worker", str(Path(workload.path).resolve()), kind,
               json.dumps(settings.to_dict()), *map(str, arguments),
               *(("--cache-dir", str(cache_dir)) if cache_dir else ())]
    environment = {**os.environ, "KERAS_BACKEND": backend}
    done = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=WORKER_SECONDS)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        tail = [line for line in done.stderr.splitlines() if line.strip()]
        raise KerasDoctorError(f"the {backend} process failed: {tail[-1] if tail else done.returncode}")
    result = json.loads(lines[-1])
    if "error" in result:
        raise KerasDoctorError(f"on {backend}: {result['error']}" if settings.backend else result["error"])
    return result


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("workload")
    parser.add_argument("kind", choices=("timing", "accuracy"))
    parser.add_argument("settings")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--plan", default=None)
    parser.add_argument("--time-limit", type=float, default=None)
    parser.add_argument("--cache-dir", default=None)
    args = parser.parse_args(argv)
    try:
        import kerasdoctor  # noqa: F401  (chooses the backend: KERAS_BACKEND)

        from kerasdoctor.speedup.knobs import Settings
        from kerasdoctor.speedup.measure import accuracy_run, timing_run
        from kerasdoctor.workload import load_workload

        settings = Settings(**{**json.loads(args.settings), "backend": None})
        if settings.compilation_cache:  # before anything compiles in this process
            from kerasdoctor._backends.devices import use_compilation_cache

            use_compilation_cache(args.cache_dir)
        workload = load_workload(args.workload)
        data = workload.load_data(0)
        if args.kind == "timing":
            plan = tuple(int(v) for v in args.plan.split(",")) if args.plan else None
            result = timing_run(workload, data, settings, plan=plan, steps=args.steps, time_limit=args.time_limit)
        else:
            result = accuracy_run(workload, data, settings, epochs=args.epochs, seed=args.seed)
    except Exception as error:  # noqa: BLE001 - reported to the parent as one line
        lines = [line for line in str(error).splitlines() if line.strip()]
        result = {"error": f"{type(error).__name__}: {lines[-1] if lines else ''}"}
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
