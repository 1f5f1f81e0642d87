"""`keras-doctor speed` on three workloads: does its recommendation pay, measured as a whole?

For each workload `run_speed` measures the knobs side by side with the workload's own settings
(alternating timing runs, medians) and checks the accuracy of the ones that change the math over
3 seeds; the recommended combination is then measured again as a whole. Printed per workload:
the recommended knobs, the throughput ratio of the combination, its time-to-target ratio (wall
seconds, compilation included, to reach the baseline's 3-seed mean best validation accuracy
minus one standard error; the median of 3 seeds) and its accuracy delta with its standard error.

Bars, fixed before any run (the speed issue): throughput ratio >= 2 and time-to-target ratio
<= 0.5 on each workload. A workload where nothing is recommended fails both. Then the written
`fast_workload.py` is timed again against the original (alternating, `--repeats` pairs, medians):
its throughput ratio must be within 15% of the one `speed` reported.

    python bench/speed.py [--workloads fashion_mlp,digits_cnn,imdb_bow] [--repeats 3] [--seeds 3]

Timing runs must have the machine to themselves: run nothing beside this script.
"""

import argparse
import json
import os
import platform
from pathlib import Path

import kerasdoctor  # noqa: F401  (chooses the backend before Keras loads)

import runpy
import statistics

from kerasdoctor.speedup import run_speed
from kerasdoctor.speedup.knobs import Settings
from kerasdoctor.speedup.measure import TIMING_STEPS, timing_plan, timing_run
from kerasdoctor.workload import load_workload
from kerasdoctor.workload.data import count_rows

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
WORKLOADS = ("fashion_mlp", "digits_cnn", "imdb_bow")
THROUGHPUT_BAR, TIME_TO_TARGET_BAR, REPRODUCE_WITHIN = 2.0, 0.5, 0.15


def reproduced_ratio(original, fast_path, repeats):
    """The fast copy's throughput over the original's, timed as `speed` times a knob (None for
    settings of another backend, which this process cannot run)."""
    settings = Settings(**runpy.run_path(str(fast_path))["SETTINGS"])
    if settings.backend:
        return None
    fast = load_workload(fast_path)  # its build_model compiles with the settings, and so does the run
    data = original.load_data(0)
    plan = timing_plan(count_rows(data.y_train), original.fit["batch_size"], TIMING_STEPS)
    key = "samples_per_second"
    pairs = []
    for _ in range(repeats):
        base = timing_run(original, data, Settings(batch_size=original.fit["batch_size"]), plan=plan)
        sped = timing_run(fast, data, settings, plan=plan)
        pairs.append((base[key], sped[key]))
    return statistics.median(s for _, s in pairs) / statistics.median(b for b, _ in pairs)


def _number(value, digits=3):
    return "-" if value is None else f"{value:.{digits}g}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", default="bench-results/speed")
    args = parser.parse_args(argv)
    import keras

    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"Keras {keras.__version__}, backend {keras.backend.backend()}")
    print("| workload | recommended | throughput | time to target | accuracy delta (pts, ± se) | "
          "baseline samples/s | fast_workload.py throughput | bars |")
    print("|---|---|---|---|---|---|---|---|")
    results = {}
    for name in args.workloads.split(","):
        result = run_speed(load_workload(EXAMPLES / f"{name}.py"), repeats=args.repeats, seeds=args.seeds,
                           out=Path(args.out) / name)
        summary = result.to_dict()
        results[name] = summary
        best = summary["recommended"] if (summary["recommended"] or {}).get("verdict") == "recommended" else None
        throughput = best and best["throughput_ratio"]
        to_target = best and best["time_to_target_ratio"]
        delta = (best or {}).get("accuracy_delta") or {}
        workload = load_workload(EXAMPLES / f"{name}.py")
        again = reproduced_ratio(workload, Path(summary["run_dir"]) / "fast_workload.py", args.repeats) if best else None
        met = bool(best) and (throughput or 0) >= THROUGHPUT_BAR and to_target is not None \
            and to_target <= TIME_TO_TARGET_BAR and (again is None or not throughput
                                                     or abs(again / throughput - 1) <= REPRODUCE_WITHIN)
        print(f"| {name} | {' + '.join(best['knobs']) if best else 'nothing'} | {_number(throughput)}x | "
              f"{_number(to_target)}x | {_number(delta.get('delta'))} ± {_number(delta.get('se'), 2)} | "
              f"{_number(summary['baseline']['samples_per_second'], 4)} | {_number(again)}x | "
              f"{'met' if met else 'not met'} |", flush=True)
        found = summary["profile"]
        print(f"    profile: compiling {_number(found.get('compile_seconds'))} s, a step "
              f"{_number(found.get('step_seconds'))} s, making its batch {_number(found.get('input_share'))} "
              f"of a step, validation {_number(found.get('validation_share'))} of an epoch, peak host memory "
              f"{_number(found.get('peak_host_megabytes'), 4)} MB")
        for knob in summary["knobs"]:
            print(f"    {knob['name']}: throughput {_number(knob['throughput_ratio'])}x, time to target "
                  f"{_number(knob['time_to_target_ratio'])}x, accuracy {_number(knob['accuracy_delta_points'])} pts, "
                  f"{knob['verdict']}" + (f" ({knob['note']})" if knob.get("note") else ""), flush=True)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "summary.json").write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
