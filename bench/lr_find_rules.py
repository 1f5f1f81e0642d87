"""Development set for lr_find's suggestion rule: which rule lands on the best rate of a grid?

`bench/lr_find_hits.py` holds out its three workloads (Fashion-MNIST, MNIST-1D and
`make_classification`). The rule is chosen here, on other workloads and other data, with the
same criterion, and only then checked there.

- Workloads: the healthy bases of `kerasdoctor.testing.bases` that are single-output
  classifiers and use none of the held-out data: digits (MLP and CNN), breast cancer,
  circles, the 5,000 MNIST digits (CNN) and IMDB (embedding, convolution). Each trains
  on its seed-0 split, with its own batch size and epochs, at Adam.
- The grid: 13 rates, 1e-4 to 1e-1 in quarter decades, each trained with seeds 0, 1, 2; the
  score of a run is its best validation accuracy over the epochs.
- Sweeps: lr_find at its current defaults (or `--start` and `--steps`) with seeds 0..4 on a
  fresh model of each seed; every sweep is saved. `--resweep FILE` sweeps again and keeps the
  grid saved in FILE, so a change to the sweep needs no grid training.
- Scoring a rule (`--score FILE`, no training): its suggestion's mean accuracy is read off
  the grid's means, interpolated in log rate (clamped to the grid's ends); a hit when it is not
  below the best rate's mean by more than one standard error of the difference of the two
  means (the best rate's standard deviation standing in for the suggestion's). Also printed: each
  suggestion over the best rate, and the spread (the largest over the smallest suggestion).

    python bench/lr_find_rules.py --out FILE.jsonl                    # collect (about 15 minutes)
    python bench/lr_find_rules.py --resweep FILE.jsonl --out NEW.jsonl # sweeps only (about 3 minutes)
    python bench/lr_find_rules.py --score FILE.jsonl                  # every rule, from the saved sweeps

Accuracy, not timing: it may share the machine.
"""

import argparse
import json
import math
import statistics
from pathlib import Path

import numpy as np

import kerasdoctor  # noqa: F401  (chooses the backend before Keras loads)
import keras

from kerasdoctor.testing.bases import BASES
from kerasdoctor.tune.lr_find import lr_find
from kerasdoctor.tune.space import recompile
from kerasdoctor.tune.suggest import SUGGESTIONS

DEV = ("digits_mlp", "digits_cnn", "breast_cancer_mlp", "circles_mlp", "mnist5k_cnn", "imdb_embedding",
       "imdb_conv_relu")
GRID = tuple(float(f"{10 ** (-4 + k / 4):.3g}") for k in range(13))
GRID_SEEDS = (0, 1, 2)
FIND_SEEDS = (0, 1, 2, 3, 4)


def _accuracy_key(history):
    names = [k for k in history if k.startswith("val_") and "acc" in k]
    return names[0]


def best_accuracy(base, data, rate, seed):
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model = recompile(base.build(base.recipe), learning_rate=rate)
    (x, y), validation = data
    history = model.fit(x, y, validation_data=validation, verbose=0, **base.fit).history
    values = [v for v in history[_accuracy_key(history)] if math.isfinite(v)]
    return max(values) if values else 0.0


def sweeps(base, data, settings):
    out = []
    for seed in FIND_SEEDS:
        keras.backend.clear_session()
        keras.utils.set_random_seed(seed)
        (x, y), _ = data
        found = lr_find(base.build(base.recipe), x, y, batch_size=base.fit["batch_size"], seed=seed, **settings)
        out.append({"seed": seed, "rates": found.learning_rates, "losses": found.losses,
                    "raw": found.raw_losses, "suggestions": found.suggestions})
    return out


def collect(names, out, saved=None, settings=None):
    """Trains the grid and sweeps; with ``saved`` (a file of an earlier run), sweeps only."""
    grids = {r["workload"]: r["grid"] for r in map(json.loads, open(saved))} if saved else {}
    with open(out, "a") as file:
        for name in names:
            base = BASES[name]
            data = base.load(0)
            if saved:
                grid = {float(r): v for r, v in grids[name].items()}
            else:
                grid = {rate: [best_accuracy(base, data, rate, s) for s in GRID_SEEDS] for rate in GRID}
            record = {"workload": name, "grid": {str(r): v for r, v in grid.items()},
                      "sweeps": sweeps(base, data, settings or {})}
            file.write(json.dumps(record) + "\n")
            file.flush()
            print(f"{name}: " + ", ".join(f"{r:g}: {statistics.fmean(v):.4f}" for r, v in grid.items()), flush=True)


def _interpolated(rates, means, rate):
    return float(np.interp(math.log10(rate), np.log10(rates), means))


def score(path, rules):
    records = [json.loads(line) for line in open(path)]
    totals = dict.fromkeys(rules, 0)
    for record in records:
        rates = sorted(float(r) for r in record["grid"])
        runs = {float(r): v for r, v in record["grid"].items()}
        means = [statistics.fmean(runs[r]) for r in rates]
        best = rates[int(np.argmax(means))]
        best_mean, best_sd = statistics.fmean(runs[best]), statistics.stdev(runs[best])
        se = math.sqrt(2 * best_sd**2 / len(GRID_SEEDS))
        line = [f"{record['workload']} (best {best:g}, {best_mean:.4f}, se {se:.4f})"]
        for rule in rules:
            picks = [rules[rule](s) for s in record["sweeps"]]
            hits = sum(_interpolated(rates, means, p) >= best_mean - se for p in picks)
            totals[rule] += hits
            line.append(f"  {rule}: {hits}/5, over the best " + " ".join(f"{p / best:.2f}" for p in picks)
                        + f"; spread {max(picks) / min(picks):.1f}x")
        print("\n".join(line))
    print("\ntotal hits: " + ", ".join(f"{rule} {hits}/{5 * len(records)}" for rule, hits in totals.items()))


def rules():
    """Every rule of `kerasdoctor.tune.suggest`, read from the saved sweep."""
    return {name: (lambda sweep, f=function: f(sweep["rates"], sweep["losses"])) for name, function in
            SUGGESTIONS.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="collect: append the grid and sweeps of each workload to this file")
    parser.add_argument("--resweep", help="with --out: keep the grid saved in this file, sweep again")
    parser.add_argument("--start", type=float, help="the sweep's first rate (default: lr_find's)")
    parser.add_argument("--steps", type=int, help="the sweep's most steps (default: lr_find's)")
    parser.add_argument("--score", help="score every rule on the sweeps saved in this file")
    parser.add_argument("--workloads", default=",".join(DEV))
    args = parser.parse_args(argv)
    for path in (args.resweep, args.score):
        if path and not Path(path).is_file():
            parser.error(f"no such file: {path}")
    unknown = sorted(set(args.workloads.split(",")) - set(BASES))
    if unknown:
        parser.error(f"unknown workloads {unknown}; the development set is {', '.join(DEV)}")
    if args.resweep:
        saved = {json.loads(line)["workload"] for line in open(args.resweep)}
        missing = sorted(set(args.workloads.split(",")) - saved)
        if missing:
            parser.error(f"{args.resweep} holds no grid for {missing}")
    if not (args.out or args.score):
        parser.error("give --out FILE to collect, --score FILE to score, or both")
    if args.out:
        settings = {k: v for k, v in (("start_lr", args.start), ("num_steps", args.steps)) if v is not None}
        collect(args.workloads.split(","), args.out, saved=args.resweep, settings=settings)
    if args.score:
        score(args.score, rules())


if __name__ == "__main__":
    main()
