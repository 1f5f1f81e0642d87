"""The lr-find, compare and tune pages of the HTML report, drawn from saved run files (no training)."""

import csv
import json
import math
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

from kerasdoctor.report import html_tuning
from kerasdoctor.report.html_tuning import compare_body, lr_find_body, tune_body
from kerasdoctor.runlog import RunLog

DATA = Path(__file__).parents[1] / "data" / "report_tuning"
PLOT = re.compile(r'<figure class="plot" data-plot="([^"]+)">(.*?)</figure>', re.S)


def _load(name):
    return json.loads((DATA / name).read_text())


def _plots(page):
    """{data-plot name: its inner HTML}; fails on a plot without a drawn SVG."""
    found = dict(PLOT.findall(page))
    for name, inner in found.items():
        assert re.search(r"<svg[^>]*>.*<path", inner, re.S), f"plot {name} holds no drawn SVG"
    return found


def _tune_folder(tmp_path, trials, importance=None, direction="maximize"):
    """A tune run folder: trials are (state, value) pairs, with one parameter each."""
    with open(tmp_path / "trials.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["number", "state", "value", "epochs", "seconds", "learning_rate"])
        for number, (state, value) in enumerate(trials):
            writer.writerow([number, state, value, 3, 1.5, 10 ** -(1 + number % 3)])
    complete = [v for s, v in trials if s == "COMPLETE"]
    best = (max if direction == "maximize" else min)(complete)
    summary = {"study": "demo", "metric": "val_accuracy", "direction": direction, "best_value": best,
               "best_params": {"learning_rate": 0.01}, "importance": importance or {"learning_rate": 1.0},
               "n_complete": len(complete), "n_pruned": sum(s == "PRUNED" for s, _ in trials),
               "n_failed": sum(s == "FAIL" for s, _ in trials), "epochs_total": 3 * len(trials), "findings": []}
    return summary


def test_lr_find_body_draws_the_curve_with_bracket_peak_and_every_rule():
    data = _load("lr_find.json")
    page = lr_find_body(DATA, data)
    assert set(_plots(page)) == {"lr_find_curve"}
    assert "one-cycle" in page and f"{data['high']:.3g}" in page
    for rule, rate in data["suggestions"].items():
        assert rule in page and f"{rate:.3g}" in page


def test_lr_find_body_shows_the_confirmation_runs_only_when_present():
    data = _load("lr_find.json")
    page = lr_find_body(DATA, data)
    assert 'id="lr-find-confirm"' in page and data["confirm"]["metric"] in page
    assert f"<strong>{data['confirm']['chosen']:.3g}</strong>" in page
    data.pop("confirm")
    assert 'id="lr-find-confirm"' not in lr_find_body(DATA, data)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "NaN", "Infinity", "-Infinity", None])
def test_lr_find_curve_draws_around_non_finite_losses(bad):
    rates = [10 ** (-6 + k / 4) for k in range(20)]
    losses = [1.0 - 0.04 * k for k in range(20)]
    losses[5], losses[-1] = bad, bad
    data = {"learning_rates": rates, "losses": losses, "raw_losses": list(losses), "suggestion": 1e-4,
            "low": 3e-5, "high": 3e-4, "rule": "steep", "suggestions": {"steep": 1e-4, "valley": "NaN"},
            "stopped_early": True}
    assert "lr_find_curve" in _plots(lr_find_body(".", data))


def test_lr_find_body_notes_the_missing_curve_instead_of_an_empty_plot():
    data = {"learning_rates": [1e-3, 1e-2, 1e-1], "losses": ["NaN"] * 3, "raw_losses": [1.0, "NaN", "NaN"],
            "suggestion": 1e-2, "low": 3e-3, "high": 3e-2, "rule": "steep", "suggestions": {}}
    page = lr_find_body(".", data)
    assert "data-plot" not in page and "fewer than 2 finite losses" in page


def test_compare_body_has_the_table_both_charts_and_says_what_seconds_to_target_measure():
    data = _load("compare.json")
    page = compare_body(DATA, data)
    assert set(_plots(page)) == {"compare_curves", "compare_best"}
    for column in ("variant", "learning rate", "best (mean ± std)", "reached target", "epochs to target",
                   "seconds to target", "findings"):
        assert f"<th>{column}</th>" in page
    assert "compilation" in page and "included" in page
    assert "UNDERFITTING x1" in page
    # the better variant (higher val_accuracy) is the first row
    assert page.index("<td>adam</td>") < page.index("<td>sgd</td>")


def test_compare_body_reads_the_learning_rate_from_each_variants_run_log(tmp_path):
    data = _load("compare.json")
    for index, rates in enumerate([(0.01, 0.01), (0.1, 0.05)]):
        log = RunLog(tmp_path / f"variant-{index}" / "seed-0" / "runlog.jsonl")
        for epoch, rate in enumerate(rates):
            log.append("epoch", epoch=epoch, step=epoch + 1, logs={"val_accuracy": 0.5}, learning_rate=rate)
        log.close()
    page = compare_body(tmp_path, data)
    assert "<td>0.01</td>" in page and "<td>0.1 → 0.05</td>" in page


def test_compare_band_spans_the_seeds_epoch_by_epoch_ignoring_non_finite_values():
    runs = [{"values": [0.2, 0.6, 0.8]}, {"values": [0.4, "NaN"]}, {"values": [0.3, 0.5, 0.9, 0.95]}]
    stats = html_tuning._epoch_stats(runs)
    assert [s[0] for s in stats] == [1, 2, 3, 4]
    epoch, mean, low, high = stats[1]
    assert math.isclose(mean, 0.55) and (low, high) == (0.5, 0.6)
    assert stats[3][1:] == (0.95, 0.95, 0.95)


def test_compare_body_leaves_out_the_charts_when_no_run_has_a_finite_value():
    data = _load("compare.json")
    for runs in data["runs"].values():
        for run in runs:
            run["values"], run["best"] = ["NaN"] * 3, "NaN"
    page = compare_body(DATA, data)
    assert "data-plot" not in page and "no run recorded a finite value" in page


def test_tune_body_has_history_importance_best_parameters_and_every_trial(tmp_path):
    (tmp_path / "trials.csv").write_bytes((DATA / "tune_trials.csv").read_bytes())
    summary = _load("tune_summary.json")
    page = tune_body(tmp_path, summary)
    assert set(_plots(page)) == {"tune_history", "tune_importance"}
    assert "Parameter importance (5 complete trials)" in page
    assert 'id="tune-best-params"' in page and "<td>learning_rate</td>" in page
    rows = re.search(r'id="tune-trials".*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    assert rows.count("<tr>") == 12 and rows.count("<td>PRUNED</td>") == 7


@pytest.mark.parametrize("complete, caveat", [(9, True), (10, False), (14, False)])
def test_importance_caveat_appears_under_ten_complete_trials_only(tmp_path, complete, caveat):
    trials = [("COMPLETE", 0.5 + 0.01 * k) for k in range(complete)] + [("PRUNED", 0.3)] * 3
    page = tune_body(tmp_path, _tune_folder(tmp_path, trials))
    assert f"Parameter importance ({complete} complete trials)" in page
    assert ("is noise" in page) is caveat


def test_tune_history_marks_pruned_trials_apart_and_draws_the_best_so_far(tmp_path):
    trials = [("COMPLETE", 0.6), ("PRUNED", 0.4), ("COMPLETE", 0.5), ("COMPLETE", 0.8), ("PRUNED", 0.3)]
    _tune_folder(tmp_path, trials)
    _, rows = html_tuning._read_trials(tmp_path / "trials.csv")
    figure = html_tuning._history_figure(rows, "maximize", "val_accuracy")
    lines = {line.get_label(): line for line in figure.axes[0].get_lines()}
    assert list(lines["complete"].get_xdata()) == [0, 2, 3] and lines["complete"].get_marker() == "o"
    pruned = next(line for label, line in lines.items() if label.startswith("pruned"))
    assert list(pruned.get_xdata()) == [1, 4] and pruned.get_marker() == "x"
    assert list(lines["best so far"].get_ydata()) == [0.6, 0.6, 0.8]


def test_tune_best_so_far_goes_down_when_the_objective_is_minimized(tmp_path):
    trials = [("COMPLETE", 0.6), ("COMPLETE", 0.7), ("COMPLETE", 0.2)]
    _tune_folder(tmp_path, trials, direction="minimize")
    _, rows = html_tuning._read_trials(tmp_path / "trials.csv")
    figure = html_tuning._history_figure(rows, "minimize", "val_loss")
    lines = {line.get_label(): line for line in figure.axes[0].get_lines()}
    assert list(lines["best so far"].get_ydata()) == [0.6, 0.6, 0.2]


def test_tune_body_lists_failed_trials(tmp_path):
    trials = [("COMPLETE", 0.6), ("FAIL", None), ("COMPLETE", 0.7), ("FAIL", None)]
    page = tune_body(tmp_path, _tune_folder(tmp_path, trials))
    assert "Failed trials (no value): 1, 3." in page


def test_tune_body_notes_importance_that_optuna_could_not_compute(tmp_path):
    summary = _tune_folder(tmp_path, [("COMPLETE", 0.6)])
    summary["importance"] = {}
    page = tune_body(tmp_path, summary)
    assert "tune_importance" not in _plots(page) and "No importance" in page


def _best_folder(tmp_path):
    """A check run folder of the retrained best model: a run log of two epochs."""
    best = tmp_path / "best"
    log = RunLog(best / "runlog.jsonl")
    log.append("run", workload="tiny.py", backend="jax", seed=0, fit={"epochs": 2, "batch_size": 32})
    for epoch in range(2):
        logs = {"loss": 1.0 - 0.1 * epoch, "val_loss": 1.1 - 0.1 * epoch}
        log.append("epoch", epoch=epoch, step=epoch + 1, logs=logs, learning_rate=0.01, seconds=0.1)
    log.close()
    return best


def test_tune_body_embeds_the_check_page_of_the_retrained_best_model(tmp_path, monkeypatch):
    summary = _tune_folder(tmp_path, [("COMPLETE", 0.6), ("COMPLETE", 0.7)])
    best = _best_folder(tmp_path)
    seen = []
    fake = types.ModuleType("kerasdoctor.report.html")
    fake.check_body = lambda run_dir, id_prefix="": seen.append(Path(run_dir)) or "<p>the check page</p>"
    monkeypatch.setitem(sys.modules, "kerasdoctor.report.html", fake)
    page = tune_body(tmp_path, summary)
    assert seen == [best] and "<p>the check page</p>" in page


def test_tune_body_notes_a_missing_best_model_or_check_page(tmp_path, monkeypatch):
    summary = _tune_folder(tmp_path, [("COMPLETE", 0.6), ("COMPLETE", 0.7)])
    assert "No retrained best model" in tune_body(tmp_path, summary)
    _best_folder(tmp_path)
    monkeypatch.setitem(sys.modules, "kerasdoctor.report.html", None)  # the import fails
    assert "check page of the best model is not available" in tune_body(tmp_path, summary)


def test_pages_are_self_contained(tmp_path):
    (tmp_path / "trials.csv").write_bytes((DATA / "tune_trials.csv").read_bytes())
    pages = [lr_find_body(DATA, _load("lr_find.json")), compare_body(DATA, _load("compare.json")),
             tune_body(tmp_path, _load("tune_summary.json"))]
    for page in pages:
        assert "http" not in page and "<script src" not in page and "<link" not in page
        assert "<html" not in page and "<head" not in page


def test_rendering_the_pages_imports_no_keras(tmp_path):
    """With the check page of the best model too, where that page is available."""
    (tmp_path / "trials.csv").write_bytes((DATA / "tune_trials.csv").read_bytes())
    _best_folder(tmp_path)
    program = f"""
import json, sys
from pathlib import Path
from kerasdoctor.report.html_tuning import compare_body, lr_find_body, tune_body
data = Path({str(DATA)!r})
pages = [lr_find_body(data, json.loads((data / "lr_find.json").read_text())),
         compare_body(data, json.loads((data / "compare.json").read_text())),
         tune_body(Path({str(tmp_path)!r}), json.loads((data / "tune_summary.json").read_text()))]
assert all("data-plot" in page for page in pages)
print(sorted(name for name in sys.modules if name == "keras" or name.startswith("keras.")))
"""
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
