"""Repair benchmark: how often `repair` fixes an injected fault, what it gains, what it costs, and
three baselines given the same candidate changes and the same wall time.

    python bench/repair.py                     # every case at seed 0, baselines on 40 of them
    python bench/repair.py --fast              # six fixed small cases (a CI run of a few minutes)
    python bench/repair.py --faults lr_too_high,dying_relu --limit 10 --verbose
    python bench/repair.py --rescore bench-results/repair/cases.jsonl   # the figures again, no training

Cases: the fault benchmark's cases at seed 0 (kerasdoctor.testing.faults, classic and newer
families; JAX). Each case gets one full `check` of the faulty workload (its wall time is the unit of
the time ratio; the fault is **detected** when its code is among the findings of severity warning
or above), then `run_repair` at the default budget, timed around the call on an otherwise idle
machine (the first diagnosis is inside it). The **twin** is the base without the fault, trained by
`check` at seeds 0, 1 and 2 (for a fault that keeps a subset of the training rows only to bound its
steps, `batch_one_momentum`, the base's model and FIT on the case's own rows: `Case.twin`); the metric is `vocabulary.objective`'s (best validation accuracy, or
validation loss for regression) read from the same name in every log.

- **Repaired** (detected repairable cases): status "repaired" and the repaired run's metric within
  max(1 point, 2 twin standard deviations) below the twin's mean, or for regression a validation
  loss at most 5% above it. A case that is not repaired keeps its metric (nothing changed).
- **Correctly declined** (not repairable cases): status "declined" or "not_repaired" with a manual
  fix named. **Healthy**: the share of fault-free cases left unchanged (status "healthy").
- **Gain**: after - before in accuracy points (classification; "before" is the full `check` run);
  **gap closed**: the sum of the gains over the sum of the gaps to the twin's mean.
- **Time ratio**: repair wall time over one full `check` of the same case.

Compilation cache: `keras-doctor repair` shares a persistent compilation cache, cold at its start,
among its runs (JAX). This process turns one cache folder on before anything compiles and empties it
before every timed arm, so each arm starts as cold as a new command: the repair and each baseline
write to it and read what they wrote; the `check` that gives the unit, the twins and the warm-up
write nothing (a check without a cache). `--no-compilation-cache` leaves the cache off for every
arm (each run compiles anew, as a repair without its cache would).

Baselines (a stratified subset of the detected repairable cases, `--baseline-cases`), each allowed
the repair's own wall time on that case, with the `check` run's diagnosis given for free:
RANDOM draws candidates uniformly (seeded) from every planner's candidates for this model (each
planner called with a finding of its code and no evidence, plus the real findings' candidates),
judges each at the repair's short horizon and trains the best on to the full epochs; TPE chooses
them with Optuna's TPESampler (seeded, 3 start-up trials) over the candidate indices, objective the
horizon metric; AUTOTRAINER (Zhang et al., ICSE 2021) applies its published fixed order of
solutions for the first detected problem it knows, each trained for the full epochs, and stops at
the first healthy run. A baseline's case is repaired when its final run has no blocking finding
(`judge`) and its metric is within the twin margin.

Prints `name: value` lines and ends with one summary line; one JSON line per case goes to
bench-results/repair/cases.jsonl.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The faults a change of model, compile or FIT can fix, by kind.
REPAIRABLE = {
    "learning rate and optimizer": ("lr_too_high", "lr_too_low", "batch_one_momentum"),
    "initialization": ("init_zeros", "init_huge"),
    "gradient flow": ("deep_sigmoid", "simple_rnn_long_range"),
    "dead or frozen units": ("dying_relu", "frozen_random_backbone"),
    "inputs and labels": ("unscaled_inputs", "extreme_imbalance"),
    "output and loss": ("wrong_output_activation", "wrong_loss", "logits_without_from_logits",
                        "head_wrong_loss", "head_wrong_activation"),
    "capacity": ("too_small_model",),
}
# The faults that live in the data: repair must decline them and name the fix by hand.
NOT_REPAIRABLE = {
    "labels": ("shuffled_labels",),
    "data": ("tiny_data_big_model", "nan_inputs", "train_val_leakage"),
}
KIND = {fault: kind for kinds in (REPAIRABLE, NOT_REPAIRABLE) for kind, faults in kinds.items() for fault in faults}

SEED = 0
TWIN_SEEDS = (0, 1, 2)
ACCURACY_MARGIN = 0.01  # one point
TWIN_SIGMAS = 2.0
REGRESSION_TOLERANCE = 0.05  # relative, on the validation loss
TPE_STARTUP_TRIALS = 3
FAST = ("blobs_mlp-lr_too_high-s0", "breast_cancer_mlp-init_zeros-s0", "blobs_mlp-wrong_output_activation-s0",
        "breast_cancer_mlp-unscaled_inputs-s0", "blobs_mlp-nan_inputs-s0", "breast_cancer_mlp-healthy-s0")
FAST_BASELINE_CASES = 2
BASELINES = ("random", "tpe", "autotrainer")


# -- metrics -------------------------------------------------------------------------------------

def _objective(log):
    from kerasdoctor.vocabulary import objective

    epochs = log.epochs
    return objective(list(epochs[-1]["logs"])) if epochs else ("val_loss", "min")


def _best(log, name, direction):
    """The best finite value of ``name`` over the epochs of ``log``, or None."""
    values = [e["logs"].get(name) for e in log.epochs]
    values = [v for v in values if isinstance(v, (int, float)) and v == v and abs(v) != float("inf")]
    return (max(values) if direction == "max" else min(values)) if values else None


def _best_in(path, twin):
    from kerasdoctor.runlog import RunLog

    if not path or not Path(path).is_file():
        return None
    return _best(RunLog.load(path), twin["metric"], twin["direction"])


def _within(value, twin):
    """Whether ``value`` is as good as the fault-free twin, up to the margin."""
    if value is None:
        return False
    if twin["direction"] == "max":
        return value >= twin["mean"] - max(ACCURACY_MARGIN, TWIN_SIGMAS * twin["std"])
    return value <= (1 + REGRESSION_TOLERANCE) * twin["mean"]


# -- one case ------------------------------------------------------------------------------------

CACHE = {"folder": None}


def _cache_arm(write):
    """Before an arm: the compilation cache emptied, and written to by this arm only if ``write``."""
    folder = CACHE["folder"]
    if folder is None:
        return
    import jax

    for entry in Path(folder).iterdir():
        entry.unlink()
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0 if write else float("inf"))


def _check(case, out):
    """One full `check` of the case: wall seconds, detection, the log."""
    from kerasdoctor.checkup import run_check
    from kerasdoctor.diagnose import diagnose
    from kerasdoctor.errors import KerasDoctorError
    from kerasdoctor.runlog import RunLog
    from kerasdoctor.testing.scoring import score, serious

    case.workload()  # the data loaded once untimed: some loaders cache it for the runs that follow
    _cache_arm(write=False)
    started = time.perf_counter()
    error = None
    try:
        run_check(case.workload(), seed=case.seed, out=out)
    except KerasDoctorError as failure:
        error = str(failure)
    seconds = time.perf_counter() - started
    runlog = Path(out) / "runlog.jsonl"
    findings = diagnose(RunLog.load(runlog)) if runlog.is_file() else []
    scored = score(case.codes, findings)
    return {"check_seconds": seconds, "check_error": error, "check_runlog": str(runlog) if runlog.is_file() else None,
            "found": serious(findings), "detected": scored["detected"], "false_positive": scored["false_positive"]}


def _twin(case, out, cache):
    """The fault-free twin trained at each twin seed: its metric's mean and standard deviation."""
    key = case.twin_key
    if key in cache:
        return cache[key]
    from kerasdoctor.checkup import run_check

    _cache_arm(write=False)
    logs = [run_check(case.twin(seed), seed=seed, out=out / "twins" / f"{key}-s{seed}").log for seed in TWIN_SEEDS]
    metric, direction = _objective(logs[0])
    values = [_best(log, metric, direction) for log in logs]
    finite = [v for v in values if v is not None]
    cache[key] = {"metric": metric, "direction": direction, "values": values,
                  "mean": statistics.fmean(finite) if finite else None,
                  "std": statistics.stdev(finite) if len(finite) > 1 else 0.0}
    return cache[key]


def _repair(case, out):
    from kerasdoctor.repair import run_repair

    _cache_arm(write=True)
    started = time.perf_counter()
    try:
        result = run_repair(case.workload(), seed=case.seed, out=out)
    except Exception as error:  # a crash of the repair is a result of the benchmark, not its end
        return {"status": "error", "message": f"{type(error).__name__}: {error}"[:500],
                "repair_seconds": time.perf_counter() - started}
    seconds = time.perf_counter() - started
    after = Path(result.run_dir) / "after.runlog.jsonl"
    tried = [c for c in result.candidates if c.verdict != "skipped"]
    return {"status": result.status, "message": result.message, "repair_seconds": seconds,
            "changes": [c.describe() for c in result.changes], "manual_fix": result.manual_fix,
            "candidates": len(result.candidates), "candidates_tried": len(tried),
            "repair_before": result.before, "repair_after": result.after,
            "after_runlog": str(after) if result.repaired and after.is_file() else None}


def _run_case(case, out, twins):
    folder = out / "runs" / case.name
    shutil.rmtree(folder, ignore_errors=True)
    row = {"case": case.name, "base": case.base, "fault": case.fault, "variant": case.variant,
           "kind": KIND.get(case.fault, "healthy" if case.fault is None else "other"), "codes": list(case.codes)}
    row.update(_check(case, folder / "check"))
    if case.fault in KIND and KIND[case.fault] in REPAIRABLE and row["detected"]:
        twin = row["twin"] = _twin(case, out, twins)
        row["before_metric"] = _best_in(row["check_runlog"], twin)
    row.update(_repair(case, folder / "repair"))
    if "twin" in row:
        row["after_metric"] = _best_in(row.get("after_runlog"), row["twin"]) if row["status"] == "repaired" else None
    return row


# -- baselines -----------------------------------------------------------------------------------

def _candidate_pool(log):
    """Every planner's candidates for this model (a finding of each code with no evidence) and
    those of the run's own blocking findings, without repeats."""
    from kerasdoctor.diagnose import blocking, diagnose
    from kerasdoctor.diagnose.base import Finding
    from kerasdoctor.repair.planners import PLANNERS, facts_from_log, plan

    facts = facts_from_log(log)
    findings = blocking(diagnose(log)) + [Finding(code, "warning", 0, "", {}) for code in PLANNERS]
    pool = {}
    for finding in findings:
        for candidate in plan(finding, facts):  # the same edit planned for two codes is one candidate
            pool.setdefault(tuple((c.kind, c.target, c.settings) for c in candidate), candidate)
    return list(pool.values())


def _at_horizon(workload, changes, horizon, out):
    """A candidate trained to the horizon (paused there) and judged; (None, note) if it failed."""
    from kerasdoctor.repair import apply
    from kerasdoctor.repair.loop import Training, judge, resolve, run_length

    try:
        changed = apply(resolve(changes, workload, SEED), workload)
        # As in the repair loop: a candidate whose FIT has more epochs is judged after as many more.
        epochs, horizon = run_length(workload, changed, workload.fit["epochs"], horizon)
        training = Training(changed, epochs=epochs, horizon=horizon, seed=SEED, out=out)
        training.start()
    except Exception as error:
        return None, f"{type(error).__name__}: {error}"[:200]
    if training.error is not None or (training.result is not None and training.result.error):
        return None, str(training.error or training.result.error)[:200]
    return (training, judge(training.snapshot(), upto=horizon)), None


def _horizon_search(case, pool, budget, full, out, propose, tell):
    """Candidates from ``pool``, each judged at the horizon while the budget allows one more full
    training; the best at the horizon is then trained on to the full epochs. ``propose(size)``
    gives the next index, ``tell(index, value)`` hears its horizon metric (higher is better)."""
    from kerasdoctor.repair.loop import horizon_for

    workload = case.workload()
    epochs = workload.fit["epochs"]
    horizon = min(horizon_for(epochs), epochs)
    started, results, best, steps, failures = time.perf_counter(), {}, None, 0, []
    while len(results) < len(pool) and steps < 10 * len(pool) and time.perf_counter() - started + full <= budget:
        steps += 1
        index = propose(len(pool))
        if index in results:
            tell(index, results[index])
            continue
        trained, note = _at_horizon(workload, pool[index], horizon, out / f"{len(results):02d}")
        judged = trained[1] if trained else None
        results[index] = None if judged is None or judged.value is None else (
            judged.value if judged.direction == "max" else -judged.value)
        tell(index, results[index])
        if trained is None:
            failures.append(note)
            continue
        if best is None or (judged.better_than(best[2]) or 0) > 0:
            if best is not None:
                best[0].stop()
            best = (trained[0], index, judged)
        else:
            trained[0].stop()
    if best is None:
        return {"tried": len(results), "pool": len(pool), "seconds": time.perf_counter() - started, "runlog": None,
                "failures": failures}
    best[0].go_on()
    return dict(_final(best[0].out, pool[best[1]], len(results), len(pool), started), failures=failures)


def _final(run_out, changes, tried, pool, started):
    from kerasdoctor.repair.loop import judge
    from kerasdoctor.runlog import RunLog

    runlog = Path(run_out) / "runlog.jsonl"
    healthy = runlog.is_file() and not judge(RunLog.load(runlog)).blocking
    return {"tried": tried, "pool": pool, "seconds": time.perf_counter() - started, "runlog": str(runlog),
            "healthy": healthy, "changes": [c.describe() for c in changes]}


def _random(case, log, budget, full, out):
    import numpy as np

    pool = _candidate_pool(log)
    order = [int(i) for i in np.random.default_rng(SEED).permutation(len(pool))]
    return _horizon_search(case, pool, budget, full, out, lambda size: order.pop(0), lambda index, value: None)


def _tpe(case, log, budget, full, out):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=SEED, n_startup_trials=TPE_STARTUP_TRIALS))
    asked = {}

    def propose(size):
        asked["trial"] = study.ask()
        return asked["trial"].suggest_categorical("candidate", list(range(size)))

    def tell(index, value):
        if value is None:
            study.tell(asked["trial"], state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(asked["trial"], value)

    return _horizon_search(case, _candidate_pool(log), budget, full, out, propose, tell)


# AUTOTRAINER's problems, read from our findings (the first blocking one it knows is fixed).
AUTOTRAINER_PROBLEM = {
    "VANISHING_GRADIENTS": "vanishing", "SATURATED_ACTIVATIONS": "vanishing",
    "EXPLODING_GRADIENTS": "exploding", "LOSS_DIVERGED": "exploding", "NAN_OR_INF": "exploding",
    "LEARNING_RATE_TOO_HIGH": "exploding", "DYING_RELU": "dying_relu", "LOSS_OSCILLATING": "oscillating",
    "NOT_LEARNING": "slow_convergence", "SLOW_CONVERGENCE": "slow_convergence",
    "LEARNING_RATE_TOO_LOW": "slow_convergence", "UNDERFITTING": "slow_convergence",
}


def _autotrainer_problem(finding):
    evidence = finding.evidence or {}
    if finding.code == "POOR_INITIALIZATION":
        return "exploding" if evidence.get("problem") == "huge_scale" else "vanishing"
    if finding.code == "FROZEN_OR_DEAD_LAYER":
        return "slow_convergence" if evidence.get("problem") == "frozen_stalled" else "dying_relu"
    return AUTOTRAINER_PROBLEM.get(finding.code)


def _autotrainer_solutions(problem, facts, why):
    """AUTOTRAINER's fixed order of solutions for ``problem``, as our Changes."""
    from kerasdoctor.repair import Change

    hidden = tuple(n for n in facts["hidden"] if facts["activations"].get(n) not in (None, "softmax"))
    layer = lambda **settings: (Change.make("layer", hidden, why, **settings),) if hidden else None
    batch_norm = (Change.make("insert", hidden, why, layer="BatchNormalization"),) if hidden else None
    compiled = lambda **settings: (Change.make("compile", why=why, **settings),)
    adam = compiled(optimizer="adam", learning_rate=1e-3)
    batch = facts["batch_size"] or 32
    order = {
        "vanishing": [layer(activation="selu"), layer(activation="relu", kernel_initializer="he_normal"), batch_norm],
        "exploding": [compiled(clipnorm=1.0), compiled(learning_rate_scale=0.1)],
        "dying_relu": [layer(activation="leaky_relu"), layer(kernel_initializer="he_normal"), batch_norm],
        "oscillating": [adam, compiled(learning_rate_scale=0.1), compiled(learning_rate_scale=0.01),
                        compiled(learning_rate_scale=0.001), (Change.make("fit", why=why, batch_size=max(2 * batch, 32)),)],
        "slow_convergence": [adam, compiled(learning_rate_scale=10.0)],
    }[problem]
    return [solution for solution in order if solution]


def _autotrainer(case, log, budget, full, out):
    from kerasdoctor.checkup import run_check
    from kerasdoctor.diagnose import blocking, diagnose
    from kerasdoctor.repair import apply
    from kerasdoctor.repair.loop import judge
    from kerasdoctor.repair.planners import facts_from_log

    started = time.perf_counter()
    found = [(f, _autotrainer_problem(f)) for f in blocking(diagnose(log))]
    finding, problem = next(((f, p) for f, p in found if p), (None, None))
    if problem is None:
        return {"tried": 0, "pool": 0, "seconds": 0.0, "runlog": None, "problem": None}
    workload = case.workload()
    solutions = _autotrainer_solutions(problem, facts_from_log(log), finding.code)
    best, tried = None, 0
    for index, changes in enumerate(solutions):
        if time.perf_counter() - started + full > budget:
            break
        tried += 1
        try:
            result = run_check(apply(changes, workload), seed=SEED, out=out / f"{index:02d}")
        except Exception:  # a solution that cannot train is one AUTOTRAINER moves past
            continue
        judged = judge(result.log)
        if best is None or (judged.better_than(best[1]) or 0) > 0 or not judged.blocking:
            best = (index, judged, result.run_dir)
        if not judged.blocking:
            break
    if best is None:
        return {"tried": tried, "pool": len(solutions), "seconds": time.perf_counter() - started, "runlog": None,
                "problem": problem}
    return dict(_final(best[2], solutions[best[0]], tried, len(solutions), started), problem=problem)


def _stratified(rows, count):
    """``count`` rows taken in turn from each fault kind, and within a kind from each fault."""
    def interleave(groups):
        groups, taken = [list(g) for g in groups if g], []
        while any(groups):
            for group in groups:
                if group:
                    taken.append(group.pop(0))
        return taken

    by_kind = [interleave([[r for r in rows if r["fault"] == fault] for fault in faults])
               for faults in REPAIRABLE.values()]
    return interleave(by_kind)[:count]


def _run_baselines(row, out):
    from kerasdoctor.runlog import RunLog
    from kerasdoctor.testing.faults import case_by_name

    case = case_by_name(row["case"])
    log = RunLog.load(row["check_runlog"])
    row["baselines"] = {}
    for name, baseline in (("random", _random), ("tpe", _tpe), ("autotrainer", _autotrainer)):
        folder = out / "runs" / case.name / name
        shutil.rmtree(folder, ignore_errors=True)
        _cache_arm(write=True)
        try:
            outcome = baseline(case, log, row["repair_seconds"], row["check_seconds"], folder)
        except Exception as error:
            outcome = {"error": f"{type(error).__name__}: {error}"[:300], "runlog": None}
        outcome["metric"] = _best_in(outcome.get("runlog"), row["twin"])
        row["baselines"][name] = outcome
        _clear()


def _clear():
    import keras

    keras.backend.clear_session()


# -- scoring -------------------------------------------------------------------------------------

def _score(row):
    """The derived figures of one case, from what was measured (so --rescore recomputes them)."""
    scored = dict(row)
    fault = row["fault"]
    if fault in KIND and KIND[fault] in NOT_REPAIRABLE:
        scored["declined"] = row["status"] in ("declined", "not_repaired") and bool(row.get("manual_fix"))
    twin = row.get("twin")
    if not twin or twin.get("mean") is None:
        return scored
    before = row.get("before_metric")
    after = row.get("after_metric") if row["status"] == "repaired" else before
    scored["repaired"] = row["status"] == "repaired" and _within(after, twin)
    scored["gain"] = (after - before) if after is not None and before is not None else None
    scored["gap"] = (twin["mean"] - before) if before is not None else None
    for name, outcome in (row.get("baselines") or {}).items():
        final = outcome.get("metric") if outcome.get("runlog") else before
        outcome["repaired"] = bool(outcome.get("healthy")) and _within(final, twin)
        outcome["gain"] = (final - before) if final is not None and before is not None else None
    return scored


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


def _mean(values):
    values = [v for v in values if v is not None]
    return statistics.fmean(values) if values else float("nan")


def _share(hits, total):
    return f"{hits}/{total} = {hits / total:.3f}" if total else "0/0"


def _report(rows):
    """Prints the figures; returns those of the summary line."""
    repairable = [r for r in rows if KIND.get(r["fault"]) in REPAIRABLE]
    detected = [r for r in repairable if r["detected"]]
    declinable = [r for r in rows if KIND.get(r["fault"]) in NOT_REPAIRABLE]
    healthy = [r for r in rows if r["fault"] is None]
    scored = [r for r in detected if "repaired" in r]
    print(f"cases: {len(repairable)} repairable ({len(detected)} detected), {len(declinable)} not repairable, "
          f"{len(healthy)} healthy")
    for kind in REPAIRABLE:
        group = [r for r in scored if r["kind"] == kind]
        if group:
            print(f"repaired.{kind.replace(' ', '_')}: {_share(sum(r['repaired'] for r in group), len(group))}")
    repaired = sum(r["repaired"] for r in scored)
    print(f"claimed_repaired: {_share(sum(r['status'] == 'repaired' for r in scored), len(scored))}")
    print(f"repaired: {_share(repaired, len(scored))}")
    harmless = [r for r in scored if r["status"] == "healthy" and _within(r.get("before_metric"), r["twin"])]
    print(f"left_alone_within_twin: {len(harmless)} (the fault found, but the run trained as well as the twin)")
    print(f"repaired_or_left_within_twin: {_share(repaired + len(harmless), len(scored))} (a model that trains as "
          "well as its twin despite a static finding counts as fine)")
    declined = sum(r["declined"] for r in declinable)
    print(f"correctly_declined: {_share(declined, len(declinable))}")
    left = sum(r["status"] == "healthy" for r in healthy)
    print(f"healthy_left_unchanged: {_share(left, len(healthy))}")
    accuracy = [r for r in scored if r["twin"]["direction"] == "max" and r["gain"] is not None]
    repair_gains = [100 * r["gain"] for r in accuracy]
    print(f"gain_points: mean {_mean(repair_gains):+.2f}, median {_median(repair_gains):+.2f} "
          f"({len(accuracy)} classification cases)")
    gaps = [r for r in accuracy if (r["gap"] or 0) > 0]
    closed = sum(r["gain"] for r in gaps) / sum(r["gap"] for r in gaps) if gaps else float("nan")
    print(f"gap_closed: {closed:.3f} of {100 * sum(r['gap'] for r in gaps):.1f} points over {len(gaps)} cases")
    regression = [r for r in scored if r["twin"]["direction"] == "min"]
    if regression:
        print(f"regression_repaired: {_share(sum(r['repaired'] for r in regression), len(regression))}")
    ratios = [r["repair_seconds"] / r["check_seconds"] for r in detected]
    every = [r["repair_seconds"] / r["check_seconds"] for r in rows]
    print(f"time_ratio: mean {_mean(ratios):.2f}, median {_median(ratios):.2f} (detected repairable); "
          f"mean {_mean(every):.2f}, median {_median(every):.2f} (all cases)")
    trained = [r["repair_seconds"] / r["check_seconds"] for r in detected if r.get("before_metric") is not None]
    print(f"time_ratio_trained: mean {_mean(trained):.2f}, median {_median(trained):.2f} ({len(trained)} detected "
          "repairable cases whose original trains; one that crashes at its first step makes a unit of under a second)")
    compared = [r for r in scored if r.get("baselines")]
    figures = {"repair": sum(r["repaired"] for r in compared)}
    if compared:
        print(f"baseline.cases: {len(compared)}, repair repaired {_share(figures['repair'], len(compared))}")
    for name in BASELINES:
        outcomes = [r["baselines"][name] for r in compared if name in r["baselines"]]
        if not outcomes:
            continue
        figures[name] = sum(o["repaired"] for o in outcomes)
        # points of accuracy: the classification cases only, as for the repair's own gain
        gains = [100 * r["baselines"][name]["gain"] for r in compared if name in r["baselines"]
                 and r["twin"]["direction"] == "max" and r["baselines"][name].get("gain") is not None]
        print(f"baseline.{name}: repaired {_share(figures[name], len(outcomes))}, gain mean {_mean(gains):+.2f} "
              f"points ({len(gains)} classification cases), median {_median([o.get('tried') for o in outcomes])} candidates tried"
              + (f", {sum('error' in o for o in outcomes)} errors" if any("error" in o for o in outcomes) else ""))
    return {"repaired": repaired, "scored": len(scored), "declined": declined, "declinable": len(declinable),
            "left": left, "healthy": len(healthy), "gain": _mean(repair_gains),
            "ratio": _median(ratios), "baselines": figures, "compared": len(compared)}


def _verbose(row):
    twin = row.get("twin")
    text = f"  {row['status']:<12} {row['case']}"
    if twin and twin.get("mean") is not None:
        mark = "REPAIRED" if row.get("repaired") else "no"
        text += (f" [{mark}] {twin['metric']} {_fmt(row.get('before_metric'))} -> {_fmt(row.get('after_metric'))} "
                 f"(twin {_fmt(twin['mean'])} +- {_fmt(twin['std'])})")
        for name, outcome in (row.get("baselines") or {}).items():
            text += f"; {name} {'REPAIRED' if outcome.get('repaired') else 'no'} {_fmt(outcome.get('metric'))}"
    elif "declined" in row:
        text += f" [{'declined' if row['declined'] else 'NOT DECLINED'}]"
    elif not row["codes"]:
        text += f" [{'unchanged' if row['status'] == 'healthy' else 'CHANGED'}]"
    else:
        text += " [not detected]"
    ratio = row["repair_seconds"] / row["check_seconds"]
    changes = "; ".join(row.get("changes") or [])
    print(f"{text}; {ratio:.1f}x one training" + (f"; {changes}" if changes else ""))


def _fmt(value):
    return "n/a" if value is None else f"{value:.4g}"


# -- the run -------------------------------------------------------------------------------------

def _selected(args):
    from kerasdoctor.testing.faults import cases

    chosen = list(cases(seeds=(SEED,), healthy_seeds=(SEED,)))
    if args.fast:
        chosen = [c for c in chosen if c.name in FAST]
    if args.faults:
        wanted = set(args.faults.split(","))
        unknown = wanted - set(KIND) - {"healthy"}
        if unknown:
            raise SystemExit(f"--faults takes fault names or 'healthy'. Received: {sorted(unknown)}")
        chosen = [c for c in chosen if (c.fault or "healthy") in wanted]
    if args.per_fault:
        chosen = _per_fault(chosen, args.per_fault, args.draw)
    return chosen[: args.limit] if args.limit else chosen


def _per_fault(chosen, count, draw=0):
    """At most ``count`` cases of each fault (and ``4 * count`` of the healthy cases, whose share
    left unchanged is a bar of its own), drawn with a fixed seed so that nobody picks the bases;
    the benchmark's order is kept. Draw K takes its cases from those that draws 0..K-1 did not
    take, so a later draw holds cases that nobody looked at while an earlier one was read."""
    import random

    groups = {}
    for case in chosen:
        groups.setdefault(case.fault or "healthy", []).append(case)
    kept = set()
    for name, group in sorted(groups.items()):
        size = 4 * count if name == "healthy" else count
        left = list(group)
        for number in range(draw + 1):
            drawn = random.Random(f"{SEED}-{name}-{number}" if number else f"{SEED}-{name}").sample(
                left, min(size, len(left)))
            left = [case for case in left if case not in drawn]
        kept.update(case.name for case in drawn)
    return [case for case in chosen if case.name in kept]


def _write(rows, path):
    temporary = path.with_suffix(".tmp")
    temporary.write_text("".join(json.dumps(row) + "\n" for row in rows))
    temporary.replace(path)


def _train(args):
    from kerasdoctor.checkup import run_check
    from kerasdoctor.repair import DEFAULT_BUDGET

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not args.no_compilation_cache:  # before anything compiles
        from kerasdoctor.speedup import use_compilation_cache

        folder = out / "compilation-cache"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        CACHE["folder"] = folder if use_compilation_cache(folder) else None
    chosen = _selected(args)
    print(f"backend: jax; budget: {DEFAULT_BUDGET:g} trainings; twin seeds {TWIN_SEEDS}; cases: {len(chosen)}; "
          f"compilation cache: {'per arm, as the command has' if CACHE['folder'] else 'off'}")
    started, rows, twins = time.perf_counter(), [], {}
    if chosen:  # the backend's first start-up, outside every timed run
        run_check(chosen[0].workload(), seed=SEED, out=out / "warm-up")
        _clear()
    for index, case in enumerate(chosen):
        rows.append(_run_case(case, out, twins))
        _clear()
        _write(rows, out / "cases.jsonl")
        print(f"[{index + 1}/{len(chosen)}] {case.name}: {rows[-1]['status']} "
              f"{rows[-1]['repair_seconds']:.1f}s", file=sys.stderr)
    count = args.baseline_cases if args.baseline_cases is not None else (FAST_BASELINE_CASES if args.fast else 40)
    eligible = [r for r in rows if KIND.get(r["fault"]) in REPAIRABLE and r["detected"] and "twin" in r
                and r["status"] != "error"]
    subset = _stratified(eligible, count)
    for index, row in enumerate(subset):
        _run_baselines(row, out)
        _write(rows, out / "cases.jsonl")
        print(f"[baselines {index + 1}/{len(subset)}] {row['case']}", file=sys.stderr)
    print(f"wall_minutes: {(time.perf_counter() - started) / 60:.1f}")
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "bench-results" / "repair"))
    parser.add_argument("--rescore", help="a cases.jsonl from an earlier run: print its figures again")
    parser.add_argument("--faults", default="", help="comma-separated fault names ('healthy' for the healthy cases)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N selected cases")
    parser.add_argument("--draw", type=int, default=0,
                        help="with --per-fault: the K-th draw, from the cases earlier draws left (0: the first)")
    parser.add_argument("--per-fault", type=int, default=0,
                        help="at most N cases of each fault and 4N healthy ones, drawn with a fixed seed")
    parser.add_argument("--fast", action="store_true", help=f"only the fixed cases {', '.join(FAST)}")
    parser.add_argument("--baseline-cases", type=int, default=None,
                        help="detected repairable cases the baselines run on, stratified by fault kind "
                             f"(default 40; {FAST_BASELINE_CASES} with --fast; 0: none)")
    parser.add_argument("--verbose", action="store_true", help="one line per case")
    parser.add_argument("--no-compilation-cache", action="store_true",
                        help="every run compiles anew (a repair without its compilation cache)")
    args = parser.parse_args(argv)

    rows = [json.loads(line) for line in open(args.rescore)] if args.rescore else _train(args)
    rows = [_score(row) for row in rows]
    if args.verbose:
        for row in rows:
            _verbose(row)
    figures = _report(rows)
    line = (f"summary: repaired {_share(figures['repaired'], figures['scored'])} of the detected repairable cases, "
            f"declined {_share(figures['declined'], figures['declinable'])}, healthy left "
            f"{_share(figures['left'], figures['healthy'])}, mean gain {figures['gain']:+.1f} points, "
            f"median {figures['ratio']:.1f}x one training")
    if figures["compared"]:
        line += f"; on {figures['compared']} cases: " + ", ".join(
            f"{name} {hits}" for name, hits in figures["baselines"].items())
    print(line)


if __name__ == "__main__":
    os.environ["KERAS_BACKEND"] = "jax"
    main()
