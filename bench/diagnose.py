"""Fault benchmark: recall, root-cause accuracy, false positives and time to the first finding.

Runs `check` (default epochs of each case) on every case of
kerasdoctor.testing.faults and scores the findings against the injected fault.

    python bench/diagnose.py                  # all cases, 2 processes
    python bench/diagnose.py --held-out no    # only the bases the rules were developed on
    python bench/diagnose.py --families new   # only the newer families (recurrent, attention, ...)
    python bench/diagnose.py --rescore bench-results/diagnose/cases.jsonl   # re-diagnose saved logs
    python bench/diagnose.py --path both      # also each case in a plain fit with a default Monitor

Probe schedule: `check`'s fixed one (kerasdoctor.monitor.schedule.FixedSchedule): steps 0, 1, 2,
4, 8, 16 and 32, then evenly spaced steps, at most 10 an epoch and about 200 a run, a function of
the step count only, so the findings do not depend on how busy the machine is.

Prints `name: value` lines per group and ends with one summary line.
"""

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _fit_with_callback(case, out):
    """The plain callback path: the user's own `model.fit` with a default Monitor (adaptive
    schedule, probe compiled in the background) given a probe batch, the training labels and
    the validation arrays that `fit` gets."""
    import keras
    import numpy as np

    from kerasdoctor import Monitor
    from kerasdoctor.runlog import RunLog

    workload = case.workload()
    keras.utils.set_random_seed(case.seed)
    data = workload.load_data(case.seed)
    model = workload.build_model()
    rows = np.sort(np.random.default_rng(case.seed).choice(len(data.y_train), min(128, len(data.y_train)),
                                                           replace=False))
    take = lambda x: {k: v[rows] for k, v in x.items()} if isinstance(x, dict) else x[rows]
    log = RunLog(Path(out) / "runlog.jsonl")
    monitor = Monitor((take(data.x_train), take(data.y_train)), log=log, train_labels=data.y_train,
                      validation_data=data.validation)
    try:
        model.fit(data.x_train, data.y_train, validation_data=data.validation, verbose=0,
                  callbacks=[monitor], **workload.fit)
    except Exception as error:  # Keras refuses some output/label mismatches before any step
        log.append("end", status="failed", error=f"{type(error).__name__}: {error}"[:500])
    log.close()
    return str(Path(out) / "runlog.jsonl")


def _run_case(args):
    name, out, path = args
    import kerasdoctor  # noqa: F401  (before keras: picks the backend)
    import keras

    from kerasdoctor.checkup import run_check
    from kerasdoctor.errors import KerasDoctorError
    from kerasdoctor.testing.faults import case_by_name

    case = case_by_name(name)
    started = time.perf_counter()
    try:
        if path == "callback":
            runlog, error = _fit_with_callback(case, out), None
        else:
            result = run_check(case.workload(), seed=case.seed, out=out)
            runlog, error = str(result.run_dir / "runlog.jsonl"), None
    except KerasDoctorError as failure:
        runlog, error = None, str(failure)
        if (Path(out) / "runlog.jsonl").is_file():  # the log up to the failure
            runlog = str(Path(out) / "runlog.jsonl")
    keras.backend.clear_session()
    return {"case": name, "runlog": runlog, "error": error, "out": out, "path": path,
            "wall_seconds": time.perf_counter() - started}


def _evaluate(row):
    from kerasdoctor.diagnose import diagnose
    from kerasdoctor.runlog import RunLog
    from kerasdoctor.testing.faults import case_by_name
    from kerasdoctor.testing.scoring import first_seen, score, serious

    case = case_by_name(row["case"])
    out = dict(row, base=case.base, fault=case.fault or "healthy", held_out=case.held_out, codes=list(case.codes))
    if row["runlog"] is None:
        out.update(found=[], top=None, detected=False if case.codes else None,
                   root_cause=False if case.codes else None, false_positive=None if case.codes else True)
        return out
    log = RunLog.load(row["runlog"])
    out["watched"] = log.model is not None  # False: fit raised before any callback ran
    findings = diagnose(log)
    out.update(score(case.codes, findings))
    out["found"] = [f"{f.code}:{f.severity}" for f in findings]
    out["top"] = findings[0].code if findings else None
    out["serious"] = serious(findings)
    steps = [probe["step"] for probe in log.probes]
    # How many probes the run got, and in its second half (what LOSS_OSCILLATING judges).
    out["probes"] = [len(steps), sum(step >= steps[-1] / 2 for step in steps) if steps else 0]
    if case.codes and out["detected"]:
        seen = first_seen(log, case.codes)
        out["epochs_to_finding"], out["seconds_to_finding"] = seen if seen else (None, None)
    return out


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


def _report(rows, label):
    faulty = [r for r in rows if r["codes"]]
    healthy = [r for r in rows if not r["codes"]]
    by_fault = defaultdict(list)
    for row in faulty:
        by_fault[row["fault"]].append(row)
    for fault, group in sorted(by_fault.items()):
        hits = sum(r["detected"] for r in group)
        roots = sum(r["root_cause"] for r in group)
        epochs = _median([r.get("epochs_to_finding") for r in group])
        print(f"{label}.{fault}: recall {hits}/{len(group)}, root cause {roots}/{len(group)}, "
              f"median epochs to finding {epochs}")
    recall = sum(r["detected"] for r in faulty) / max(len(faulty), 1)
    root = sum(r["root_cause"] for r in faulty) / max(len(faulty), 1)
    fp = sum(r["false_positive"] for r in healthy) / max(len(healthy), 1)
    epochs = _median([r.get("epochs_to_finding") for r in faulty])
    seconds = _median([r.get("seconds_to_finding") for r in faulty])
    print(f"{label}.cases: {len(faulty)} faulty, {len(healthy)} healthy")
    print(f"{label}.recall: {recall:.3f}")
    print(f"{label}.root_cause_accuracy: {root:.3f}")
    print(f"{label}.false_positive_rate: {fp:.3f}")
    print(f"{label}.median_epochs_to_finding: {epochs}")
    print(f"{label}.median_seconds_to_finding: {seconds:.2f}")
    trained = [r for r in faulty if (r.get("epochs_to_finding") or 0) >= 1]
    print(f"{label}.found_after_training_started: {len(trained)} cases, median "
          f"{_median([r['epochs_to_finding'] for r in trained])} epochs / "
          f"{_median([r['seconds_to_finding'] for r in trained]):.2f} s of training")
    print(f"{label}.median_check_wall_seconds: {_median([r['wall_seconds'] for r in rows]):.1f}")
    unseen = [r for r in faulty if r.get("watched") is False]
    if label == "callback" and unseen:
        seen = [r for r in faulty if r.get("watched") is not False]
        print(f"{label}.refused_before_any_callback: {len(unseen)} cases ({', '.join(sorted({r['fault'] for r in unseen}))}): "
              "Keras raised in fit before the first callback hook, so no callback can watch them")
        print(f"{label}.recall_where_fit_reached_the_callback: "
              f"{sum(r['detected'] for r in seen) / max(len(seen), 1):.3f} ({len(seen)} cases)")
    return recall, root, fp, epochs, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--held-out", choices=("yes", "no", "all"), default="all")
    parser.add_argument("--families", choices=("all", "classic", "new"), default="all",
                        help="the classic bases, the newer families' bases, or both")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--cases", default="", help="comma-separated case names (default: all)")
    parser.add_argument("--out", default=str(ROOT / "bench-results" / "diagnose"))
    parser.add_argument("--path", choices=("check", "callback", "both"), default="check",
                        help="train with `check`, with a default Monitor in a plain fit, or both")
    parser.add_argument("--rescore", help="a cases.jsonl from an earlier run: diagnose its saved logs again")
    parser.add_argument("--verbose", action="store_true", help="one line per case")
    args = parser.parse_args(argv)

    import kerasdoctor  # noqa: F401
    from kerasdoctor.monitor.schedule import MAX_PROBES, PROBES_PER_EPOCH
    from kerasdoctor.testing.faults import cases

    print(f"schedule: check's fixed one (steps 0-32 doubling, then at most {PROBES_PER_EPOCH} per epoch "
          f"and about {MAX_PROBES} per run); the callback path: the Monitor's default adaptive one")

    out = Path(args.out)
    if args.rescore:
        raw = [json.loads(line) for line in open(args.rescore)]
        if args.families != "all":
            names = {c.name for c in cases(family=args.families)}
            raw = [row for row in raw if row["case"] in names]
        for row in raw:  # a crashed run's log up to the crash
            saved = Path(row.get("out") or Path(args.rescore).parent / "runs" / row["case"]) / "runlog.jsonl"
            if row["runlog"] is None and saved.is_file():
                row["runlog"] = str(saved)
    else:
        held = {"yes": True, "no": False, "all": None}[args.held_out]
        names = [c.name for c in cases(held_out=held, family=args.families)]
        if args.cases:
            wanted = set(args.cases.split(","))
            names = [n for n in names if n in wanted]
        out.mkdir(parents=True, exist_ok=True)
        raw = []
        context = multiprocessing.get_context("spawn")
        started = time.perf_counter()
        paths = ("check", "callback") if args.path == "both" else (args.path,)
        jobs = [(n, str(out / ("runs" if p == "check" else "callback-runs") / n), p) for p in paths for n in names]
        with context.Pool(args.jobs, maxtasksperchild=8) as pool, open(out / "cases.jsonl", "w") as sink:
            for index, row in enumerate(pool.imap_unordered(_run_case, jobs)):
                raw.append(row)
                sink.write(json.dumps(row) + "\n")
                sink.flush()
                print(f"[{index + 1}/{len(jobs)}] {row['path']} {row['case']} {row['wall_seconds']:.1f}s"
                      + (f" ERROR {row['error']}" if row["error"] else ""), file=sys.stderr)
        print(f"wall_minutes: {(time.perf_counter() - started) / 60:.1f}")
    rows = [_evaluate(row) for row in raw]
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "scored.jsonl", "w") as sink:
        for row in rows:
            sink.write(json.dumps(row) + "\n")
    if args.verbose:
        for row in sorted(rows, key=lambda r: r["case"]):
            mark = ("ok " if row["detected"] else "MISS") if row["codes"] else ("FP " if row["false_positive"] else "ok ")
            probes = "" if row.get("probes") is None else f" probes={row['probes'][0]} (second half {row['probes'][1]})"
            print(f"  {mark} {row.get('path', 'check')} {row['case']}: expected {row['codes']} top={row['top']} "
                  f"found={row['found']}{probes}")
    checked = [r for r in rows if r.get("path", "check") == "check"]
    groups = [("all", checked)] if checked else []
    if any(r["held_out"] for r in checked) and not all(r["held_out"] for r in checked):
        groups += [("developed", [r for r in checked if not r["held_out"]]),
                   ("held_out", [r for r in checked if r["held_out"]])]
    called = [r for r in rows if r.get("path") == "callback"]
    if called:
        groups.append(("callback", called))
    results = {label: _report(group, label) for label, group in groups}
    summary = results.get("all") or results["callback"]
    recall, root, fp, epochs, seconds = summary
    line = (f"summary: recall {recall:.3f}, root cause {root:.3f}, false positives {fp:.3f}, "
            f"median {epochs} epochs / {seconds:.1f} s to the first correct finding ({len(checked or called)} cases)")
    if checked and called:
        line += f"; callback path recall {results['callback'][0]:.3f} ({results['callback'][0] - recall:+.3f})"
    print(line)


if __name__ == "__main__":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    main()
