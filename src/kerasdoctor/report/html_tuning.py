"""The lr-find, compare and tune pages of the HTML report: HTML fragments from a run folder's files.

No Keras here. Numbers may arrive as the strings "NaN", "Infinity", "-Infinity" (the run
folder's strict JSON) or as floats; every plot drops the points that are not finite, and a
plot with nothing left to draw is replaced by a one-line note.
"""

import csv
import itertools
import logging
import math
import statistics
from pathlib import Path

from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.report import plots
from kerasdoctor.runlog import RunLog

logger = logging.getLogger(__name__)
FEW_TRIALS = 10  # parameter importance from fewer complete trials than this is noise
_NON_FINITE = {"nan": math.nan, "infinity": math.inf, "inf": math.inf, "-infinity": -math.inf, "-inf": -math.inf}


def _float(value):
    """A float from a number, a JSON non-finite spelling, or None/'' (NaN)."""
    if isinstance(value, str):
        text = value.strip().lower()
        if not text:
            return math.nan
        return _NON_FINITE[text] if text in _NON_FINITE else float(text)
    return math.nan if value is None else float(value)


def _finite(value):
    try:
        return math.isfinite(_float(value))
    except (TypeError, ValueError):
        return False


def _number(value, digits=4):
    if value is None or value == "":
        return "-"
    if isinstance(value, bool) or value in ("True", "False"):
        return str(value)
    try:
        number = _float(value)
    except (TypeError, ValueError):
        return str(value)
    if isinstance(value, (int, str)) and number.is_integer() and "." not in str(value):
        return str(int(number))
    return f"{number:.{digits}g}" if math.isfinite(number) else str(number)


def _legend(axes):
    """The legend outside the axes, on the right, where it hides no data."""
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)


# lr-find


def _lr_points(rates, losses):
    pairs = [(_float(r), _float(v)) for r, v in zip(rates or [], losses or []) if _finite(r) and _finite(v)]
    return [(r, v) for r, v in pairs if r > 0]


def _rate(data, key):
    """A positive finite rate of ``data[key]``, else None (nothing to mark on a log axis)."""
    value = data.get(key)
    return _float(value) if _finite(value) and _float(value) > 0 else None


def _lr_figure(data, raw, smooth):
    figure, axes = plots.new_figure(7.0, 3.6)
    if raw:
        axes.plot(*zip(*raw), color="0.75", lw=1, label="loss per step")
    if smooth:
        axes.plot(*zip(*smooth), color="C0", lw=2, label="smoothed")
    low, high, suggestion = _rate(data, "low"), _rate(data, "high"), _rate(data, "suggestion")
    if low and high:
        axes.axvspan(low, high, color="C2", alpha=0.15, label=f"bracket {low:.3g} .. {high:.3g}")
        axes.axvline(high, color="C3", lw=1.2, ls="--", label=f"one-cycle peak {high:.3g}")
    if suggestion:
        axes.axvline(suggestion, color="C2", lw=1.8, label=f"{data.get('rule', 'suggestion')}: {suggestion:.3g}")
    curve = smooth if len(smooth) >= 2 else raw
    for marker, (name, rate) in zip("^sDv", _other_rules(data)):
        loss = min(curve, key=lambda point: abs(math.log(point[0] / rate)))[1]
        axes.plot([rate], [loss], marker=marker, ls="none", color="0.25", ms=6, label=f"{name}: {rate:.3g}")
    axes.set_xscale("log")
    values = [v for _, v in curve]
    top = min(max(values), 3 * values[0]) if values[0] > 0 else max(values)
    span = max(top - min(values), 1e-12)
    axes.set_ylim(min(values) - 0.05 * span, top + 0.05 * span)
    axes.set_xlabel("learning rate (log scale)")
    axes.set_ylabel("training loss")
    _legend(axes)
    axes.grid(True, which="major", alpha=0.3)
    return figure


def _other_rules(data):
    rule = data.get("rule")
    suggestions = data.get("suggestions") or {}
    return [(name, _rate(suggestions, name)) for name in suggestions if name != rule and _rate(suggestions, name)]


def lr_find_body(run_dir, data):
    """The lr-find page: the loss curve with the suggestion, the bracket and the one-cycle peak,
    every rule's suggestion, and the confirmation runs when there are any."""
    steps = len(data.get("learning_rates") or [])
    stopped = " (stopped when the loss diverged)" if data.get("stopped_early") else ""
    summary = (f"<p>Suggested learning rate <strong>{_number(data['suggestion'], 3)}</strong> "
               f"({plots.escape(data.get('rule', ''))} rule), bracket {_number(data['low'], 3)} .. "
               f"{_number(data['high'], 3)}; for a one-cycle schedule the peak is {_number(data['high'], 3)}, "
               f"the top of the bracket. {steps} steps{stopped}.</p>")
    raw = _lr_points(data.get("learning_rates"), data.get("raw_losses"))
    smooth = _lr_points(data.get("learning_rates"), data.get("losses"))
    if len(smooth) >= 2 or len(raw) >= 2:
        curve = plots.plot("lr_find_curve", "Training loss against the learning rate", _lr_figure(data, raw, smooth),
                           "The light line is each step's loss, the dark one the smoothed loss the rules read; "
                           "the shaded band is the bracket, its top the one-cycle peak.")
    else:
        curve = plots.note("No curve: the sweep recorded fewer than 2 finite losses.")
    rules = plots.table(["rule", "learning rate", "used"],
                        [[name, _number(rate, 3), "yes" if name == data.get("rule") else ""]
                         for name, rate in (data.get("suggestions") or {}).items()])
    body = [plots.section("lr-find", "Learning-rate range test", summary + curve),
            plots.section("lr-find-rules", "Suggestions of every rule", rules)]
    if data.get("confirm"):
        body.append(_confirm_section(data["confirm"]))
    return "".join(body)


def _confirm_section(confirm):
    chosen = _float(confirm.get("chosen"))
    rows = [[_number(rate, 3), _number(value), "yes" if math.isclose(_float(rate), chosen) else ""]
            for rate, value in zip(confirm.get("learning_rates", []), confirm.get("values", []))]
    table = plots.table(["learning rate", f"best {confirm.get('metric') or 'value'}", "chosen"], rows)
    text = (f"<p>Short runs at the bottom, the suggestion and the top of the bracket settle it: "
            f"confirmed learning rate <strong>{_number(chosen, 3)}</strong>.</p>")
    return plots.section("lr-find-confirm", "Confirmation runs", text + table)


# compare


def _rows_in_order(data):
    """(index, variant row) in the table's order: best mean first, variants without one last."""
    sign = -1 if data.get("direction") == "maximize" else 1
    indexed = list(enumerate(data.get("variants", [])))
    return sorted(indexed, key=lambda item: (0, sign * _float(item[1]["best_mean"]))
                  if _finite(item[1]["best_mean"]) else (1, 0))


def _learning_rate(run_dir, index):
    """The learning rate the run log of variant ``index`` (seed 0) recorded, or None."""
    path = Path(run_dir) / f"variant-{index}" / "seed-0" / "runlog.jsonl"
    if not path.is_file():
        return None
    try:
        rates = [e.get("learning_rate") for e in RunLog.load(path).epochs]
    except (OSError, ValueError) as error:  # a damaged log leaves the column empty, the page still draws
        logger.warning("compare report: could not read %s: %s", path, error)
        return None
    rates = [_float(r) for r in rates if _finite(r)]
    if not rates:
        return None
    if math.isclose(rates[0], rates[-1]):
        return _number(rates[0], 3)
    return f"{_number(rates[0], 3)} → {_number(rates[-1], 3)}"


def _compare_table(run_dir, data):
    header = ["variant", "learning rate", "best (mean ± std)", "reached target", "epochs to target",
              "seconds to target", "train-val gap", "findings"]
    rows = []
    for index, row in _rows_in_order(data):
        findings = ", ".join(f"{code} x{count}" for code, count in (row.get("findings") or {}).items()) or "-"
        rows.append([row["variant"], _learning_rate(run_dir, index) or "-",
                     f"{_number(row['best_mean'])} ± {_number(row['best_std'], 2)}", row.get("reached_target", "-"),
                     _number(row.get("epochs_to_target")), _number(row.get("seconds_to_target"), 3),
                     _number(row.get("gap_mean"), 3), findings])
    return plots.table(header, rows)


def _epoch_stats(runs):
    """Per epoch (1-based): (epoch, mean, low, high) over the seeds with a finite value there."""
    series = [[_float(v) for v in run.get("values", [])] for run in runs]
    stats = []
    for epoch in range(max((len(s) for s in series), default=0)):
        values = [s[epoch] for s in series if epoch < len(s) and math.isfinite(s[epoch])]
        if values:
            stats.append((epoch + 1, statistics.fmean(values), min(values), max(values)))
    return stats


def _counted_axes(figure, axes, xlabel, ylabel):
    """Labels, whole numbers along x (epochs, trials), the legend outside and a light grid."""
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.xaxis.get_major_locator().set_params(integer=True)
    _legend(axes)
    axes.grid(True, alpha=0.3)
    return figure


def _curves_figure(data, metric):
    figure, axes = plots.new_figure(7.0, 3.6)
    for color, (variant, runs) in enumerate((data.get("runs") or {}).items()):
        stats = _epoch_stats(runs)
        if not stats:
            continue
        epochs, mean, low, high = zip(*stats)
        axes.plot(epochs, mean, color=f"C{color % 10}", lw=2, marker="o", ms=3, label=f"{variant} (mean)")
        axes.fill_between(epochs, low, high, color=f"C{color % 10}", alpha=0.2, lw=0)
    if _finite(data.get("target")):
        axes.axhline(_float(data["target"]), color="0.3", ls="--", lw=1, label=f"target {_number(data['target'])}")
    return _counted_axes(figure, axes, "epoch", metric)


def _strip_figure(data, metric):
    names = [row["variant"] for _, row in reversed(_rows_in_order(data))]
    runs = data.get("runs") or {}
    figure, axes = plots.new_figure(7.0, 0.6 + 0.45 * len(names))
    for position, name in enumerate(names):
        bests = [_float(run.get("best")) for run in runs.get(name, []) if _finite(run.get("best"))]
        axes.plot(bests, [position] * len(bests), "o", color="C0", alpha=0.7,
                  label="one seed" if position == 0 else None)
        if bests:
            axes.plot([statistics.fmean(bests)], [position], "|", color="C3", ms=16, mew=2,
                      label="mean" if position == 0 else None)
    axes.set_yticks(range(len(names)), names)
    axes.set_ylim(-0.6, len(names) - 0.4)
    axes.set_xlabel(f"best {metric} of each seed")
    _legend(axes)
    axes.grid(True, axis="x", alpha=0.3)
    return figure


SECONDS_NOTE = ("Seconds to target add up the wall time of each epoch up to the first that reaches the target, "
                "as the run log records it: training, validation and the Monitor's probes, and in the first epoch "
                "the compilation of the train and validation steps, so compilation is included (with few epochs "
                "it can be most of it). Building the model and loading the data are not counted. Both columns are "
                "medians over the seeds that reached the target.")


def compare_body(run_dir, data):
    """The compare page: the table of variants and the validation metric per variant over seeds."""
    metric = data.get("metric", "value")
    better = "higher" if data.get("direction") == "maximize" else "lower"
    intro = (f"<p>{plots.escape(metric)} over {data.get('seeds', '?')} seed(s) per variant ({better} is better); "
             f"target {_number(data.get('target'))}.</p>")
    table = plots.section("compare", "Variants side by side", intro + _compare_table(run_dir, data)
                          + f"<p class=\"caption\">{plots.escape(SECONDS_NOTE)}</p>")
    runs = data.get("runs") or {}
    if any(_epoch_stats(r) for r in runs.values()):
        spread = ("the band its min-max over the seeds" if (data.get("seeds") or 1) > 1
                  else "one seed per variant, so no band")
        curves = plots.plot("compare_curves", f"{metric} per epoch, per variant", _curves_figure(data, metric),
                            f"The line is the mean over seeds, {spread}; the dashed line the target.")
    else:
        curves = plots.note(f"No {metric} curve: no run recorded a finite value.")
    if any(_finite(run.get("best")) for r in runs.values() for run in r):
        strip = plots.plot("compare_best", f"Best {metric} of each seed", _strip_figure(data, metric),
                           "One dot per seed; the bar is the variant's mean.")
    else:
        strip = plots.note(f"No best {metric} to show: every run ended without a finite value.")
    return table + plots.section("compare-curves", f"{metric} by variant", curves + strip)


# tune


def _read_trials(path):
    """trials.csv (study.py ``_write_trials``) as a header and a list of dict rows; ([], []) when absent."""
    if not path.is_file():
        return [], []
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def _valued(trials, state):
    """(number, value) of the trials in ``state`` with a finite value."""
    return [(int(t["number"]), _float(t["value"])) for t in trials if t["state"] == state and _finite(t["value"])]


def _history_figure(trials, direction, metric):
    figure, axes = plots.new_figure(7.0, 3.4)
    complete, pruned = _valued(trials, "COMPLETE"), _valued(trials, "PRUNED")
    if complete:
        numbers, values = zip(*complete)
        axes.plot(numbers, values, "o", color="C0", label="complete")
        best = itertools.accumulate(values, max if direction == "maximize" else min)
        axes.step(numbers, list(best), where="post", color="C1", lw=2, label="best so far")
    if pruned:
        axes.plot(*zip(*pruned), "x", color="0.45", ms=7, mew=1.5, label="pruned (value when stopped)")
    return _counted_axes(figure, axes, "trial number", metric)


def _importance_figure(importance, count):
    ordered = sorted(importance.items(), key=lambda item: item[1])
    figure, axes = plots.new_figure(7.0, 0.8 + 0.4 * len(ordered))
    bars = axes.barh([name for name, _ in ordered], [value for _, value in ordered], color="C0")
    axes.bar_label(bars, fmt="%.2f", padding=3, fontsize=8)
    axes.set_xlim(0, max(1.0, max(value for _, value in ordered)) * 1.08)
    axes.set_xlabel(f"importance over {count} complete trials (share of the objective's variance)")
    axes.grid(True, axis="x", alpha=0.3)
    return figure


def _history_section(trials, summary):
    metric = summary.get("metric", "objective")
    if not trials:
        return plots.section("tune-history", "Optimization history", plots.note("No trials.csv in this run folder."))
    if _valued(trials, "COMPLETE") or _valued(trials, "PRUNED"):
        body = plots.plot("tune_history", f"Optimization history: {metric} per trial",
                          _history_figure(trials, summary.get("direction"), metric),
                          "Dots are complete trials, crosses pruned ones (their value at the epoch the pruner "
                          "stopped them, so not comparable); the line is the best complete trial so far.")
    else:
        body = plots.note("No optimization history: no trial has a finite value.")
    failed = [t["number"] for t in trials if t["state"] == "FAIL"]
    if failed:
        body += plots.note(f"Failed trials (no value): {', '.join(failed)}.")
    counts = (f"<p>Study {plots.escape(summary.get('study', ''))}: {summary.get('n_complete', 0)} complete, "
              f"{summary.get('n_pruned', 0)} pruned, {summary.get('n_failed', 0)} failed; best {plots.escape(metric)} "
              f"{_number(summary.get('best_value'))} ({summary.get('direction', '')}); "
              f"{summary.get('epochs_total', 0)} training epochs in all.</p>")
    return plots.section("tune-history", "Optimization history", counts + body)


def _importance_section(summary, count):
    importance = {k: _float(v) for k, v in (summary.get("importance") or {}).items() if _finite(v)}
    if not importance:
        why = "No importance: it needs at least 2 complete trials and a parameter that varies."
        return plots.section("tune-importance", "Parameter importance", plots.note(why))
    body = plots.plot("tune_importance", f"Parameter importance ({count} complete trials)",
                      _importance_figure(importance, count),
                      "Optuna's importance evaluator over the complete trials; the shares add up to 1.")
    if count < FEW_TRIALS:
        body += plots.note(f"Only {count} complete trials: importance from fewer than {FEW_TRIALS} trials is "
                           "noise; run more trials before reading anything into it.")
    return plots.section("tune-importance", "Parameter importance", body)


def _best_section(run_dir):
    return plots.section("tune-best", "Retrained best model", _best_check(Path(run_dir) / "best"))


def _best_check(best):
    if not (best / "runlog.jsonl").is_file():
        return plots.note("No retrained best model in this run folder.")
    try:
        from kerasdoctor.report.html import check_body
    except ImportError as error:
        logger.warning("tune report: the check page of the best model is left out: %s", error)
        return plots.note("The check page of the best model is not available in this version.")
    try:
        return check_body(best, id_prefix="best-")
    except KerasDoctorError as error:  # a damaged log of the best model leaves the rest of the page
        return plots.note(str(error))


def tune_body(run_dir, summary):
    """The tune page: the optimization history, parameter importance, the best parameters, every
    trial, and the check page of the retrained best model."""
    header, trials = _read_trials(Path(run_dir) / "trials.csv")
    # Optuna computes importance over the complete trials only
    count = len(_valued(trials, "COMPLETE")) if trials else summary.get("n_complete", 0)
    importance = summary.get("importance") or {}
    best = plots.table(["hyperparameter", "value", "importance"],
                       [[name, _number(value), _number(importance.get(name), 2)]
                        for name, value in (summary.get("best_params") or {}).items()])
    title = f"Best parameters ({summary.get('metric', '')} {_number(summary.get('best_value'))})"
    rows = [[t[name] if name == "state" else _number(t.get(name)) for name in header] for t in trials]
    listing = plots.table(header, rows) if trials else plots.note("No trials.csv in this run folder.")
    return "".join([_history_section(trials, summary), _importance_section(summary, count),
                    plots.section("tune-best-params", title, best),
                    plots.section("tune-trials", "Every trial", listing),
                    _best_section(run_dir)])
