"""Which fix of vanishing gradients should `repair` try first? Each candidate of the planner for
VANISHING_GRADIENTS, trained to the full epochs on every `deep_sigmoid` case of the fault
benchmark (ten sigmoid layers of 32 units; its convolutions, where the base has them, sigmoid
too), against the fault-free twin.

Fixed before the run: the cases (every base of the fault benchmark with a `deep_sigmoid` fault,
seed 0), the candidates (what `kerasdoctor.repair.plan` proposes for the VANISHING_GRADIENTS
finding of the case's own `check`, each applied alone), the seeds (0 and 1 per candidate, 0-2
for the twin) and the criterion: `bench/repair.py`'s (the best validation accuracy within
max(1 point, 2 twin standard deviations) below the twin's mean, or for a regression a validation
loss at most 5% above it). Prints one line per case and candidate (the values per seed and the
hits), then the hits per candidate over every case and seed.

These cases are also in the repair benchmark's draws, which have all been read: nothing here is
held out.

    python bench/vanishing_fixes.py [--seeds 0,1] [--bases circles_mlp,...] [--out bench-results/vanishing_fixes]
"""

import argparse
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FAULT = "deep_sigmoid"
CODE = "VANISHING_GRADIENTS"


def _repair_bench():
    """bench/repair.py as a module: its twin, objective and criterion are the ones used here."""
    spec = importlib.util.spec_from_file_location("repair_bench", ROOT / "bench" / "repair.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _label(candidate):
    return "; ".join(change.describe() for change in candidate)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1", help="the seeds each candidate trains with")
    parser.add_argument("--bases", default="", help="only these bases, separated by commas (default: all)")
    parser.add_argument("--out", default="bench-results/vanishing_fixes")
    args = parser.parse_args(argv)
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        raise SystemExit(f"--seeds takes integers separated by commas. Received: {args.seeds!r}") from None

    import kerasdoctor  # noqa: F401  (chooses the backend: JAX by default)
    from kerasdoctor.checkup import run_check
    from kerasdoctor.diagnose import diagnose
    from kerasdoctor.repair.changes import apply
    from kerasdoctor.repair.planners import facts_from_log, plan
    from kerasdoctor.testing.faults import cases

    bench = _repair_bench()
    out = Path(args.out)
    chosen = [case for case in cases(seeds=(0,), healthy_seeds=()) if case.fault == FAULT]
    if args.bases:
        wanted = set(args.bases.split(","))
        unknown = wanted - {case.base for case in chosen}
        if unknown:
            raise SystemExit(f"--bases takes the bases of {FAULT} cases: {sorted(c.base for c in chosen)}. "
                             f"Received: {sorted(unknown)}")
        chosen = [case for case in chosen if case.base in wanted]
    hits, tried = {}, {}
    for case in chosen:
        twin = bench._twin(case, out, {})
        result = run_check(case.workload(), seed=case.seed, out=out / case.name / "check")
        finding = next((f for f in diagnose(result.log) if f.code == CODE), None)
        if finding is None:
            print(f"{case.name}: {CODE} not found by check, no candidates", flush=True)
            continue
        candidates = plan(finding, facts_from_log(result.log))
        print(f"{case.name}: twin {twin['metric']} {[round(v, 4) for v in twin['values']]}", flush=True)
        for rank, candidate in enumerate(candidates, 1):
            values = []
            for seed in seeds:
                log = run_check(apply(candidate, case.workload()), seed=seed,
                                out=out / case.name / f"candidate{rank}-s{seed}").log
                values.append(bench._best(log, twin["metric"], twin["direction"]))
            within = sum(bench._within(v, twin) for v in values)
            key = f"{rank}. {_label(candidate).split(': ', 1)[-1]}"
            hits[key] = hits.get(key, 0) + within
            tried[key] = tried.get(key, 0) + len(values)
            shown = ["n/a" if v is None else round(v, 4) for v in values]
            print(f"    {key}: {shown}, within the twin's margin {within}/{len(values)}", flush=True)
    for key in sorted(hits):
        print(f"summary {key}: within the twin's margin {hits[key]}/{tried[key]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
