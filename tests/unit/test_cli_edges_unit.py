"""The command line's edges that need no training: error lines, --version, --debug anywhere,
--json errors, `clean`, help texts, the tables at 80 columns and the lr_find result's shape."""

import json
import math
import sys

import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

import kerasdoctor
from kerasdoctor import _backend
from kerasdoctor.cli import app as app_module
from kerasdoctor.diagnose import RULES
from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.report import render_compare, render_explain_list, render_tune
from kerasdoctor.tune.compare import SECONDS_NOTE
from kerasdoctor.tune.lr_find import LRFindResult, _result
from kerasdoctor.tune.suggest import SUGGESTIONS, zero_lag

CODES = sorted(rule.code for rule in RULES)


def invoke(*args):
    return CliRunner().invoke(app_module.app, [str(a) for a in args])


def _error_lines(result):
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


def test_an_error_line_prints_square_brackets_literally(capsys):
    app_module._error('Plots need it: pip install "keras-doctor[tune]" (or [jax], [bold]).')
    assert 'pip install "keras-doctor[tune]" (or [jax], [bold]).' in capsys.readouterr().err


def test_the_backend_install_hint_keeps_its_extras(monkeypatch, tmp_path):
    monkeypatch.setattr(_backend, "configure", lambda: None)
    result = invoke("check", tmp_path / "workload.py")
    assert result.exit_code == 1
    assert "pip install 'keras-doctor[jax]' (or [tensorflow], [torch])" in " ".join(_error_lines(result))


def test_the_optuna_install_hint_keeps_its_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "optuna", None)
    result = invoke("tune", tmp_path / "workload.py", "--trials", "1")
    assert result.exit_code == 1
    assert 'pip install "keras-doctor[tune]"' in " ".join(_error_lines(result))


def test_version_prints_the_package_version_and_exits_0():
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"keras-doctor {kerasdoctor.__version__}"


def test_debug_is_accepted_after_the_command_and_shows_the_exception(tmp_path):
    result = invoke("check", "--debug", tmp_path / "missing.py")
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, KerasDoctorError)
    plain = invoke("check", tmp_path / "missing.py")  # and --debug does not stick to the next run
    assert plain.exit_code == 1 and not isinstance(plain.exception, KerasDoctorError)


def test_json_errors_are_a_json_object_on_stdout_and_a_red_line_on_stderr(tmp_path):
    result = invoke("check", tmp_path / "missing.py", "--json")
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["exit_code"] == 1 and payload["error"].startswith("Workload file not found")
    assert _error_lines(result) == [f"error: {payload['error']}"]


def test_an_unexpected_error_with_json_is_a_json_object_too(monkeypatch, tmp_path):
    import kerasdoctor.workload

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(kerasdoctor.workload, "load_workload", broken)
    result = invoke("check", tmp_path / "workload.py", "--json")
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload == {"error": payload["error"], "exit_code": 1}
    assert "RuntimeError: disk on fire" in payload["error"] and len(_error_lines(result)) == 1


def test_check_help_says_what_fail_on_never_does():
    result = CliRunner().invoke(app_module.app, ["check", "--help"], terminal_width=200, env={"COLUMNS": "200"})
    text = " ".join(result.stdout.replace("│", " ").split())
    assert "never (the default): findings never change the exit code" in text


def _run_folder(root, name, *files):
    folder = root / name
    folder.mkdir(parents=True)
    for file in files:
        (folder / file).write_text("{}")
    return folder


@pytest.fixture
def runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = tmp_path / ".keras-doctor" / "runs"
    folders = {
        "oldest": _run_folder(root, "20260101-090000-digits", "runlog.jsonl", "summary.json"),
        "older": _run_folder(root, "20260102-090000-lr-find-digits", "lr_find.json"),
        "newer": _run_folder(root, "20260103-090000-compare-digits", "compare.json"),
        "newest": _run_folder(root, "20260103-090000-compare-digits-2", "report.html"),
        "foreign name": _run_folder(root, "my-experiments", "runlog.jsonl"),
        "foreign content": _run_folder(root, "20250101-090000-notes", "notes.txt"),
    }
    (root / "README.txt").write_text("mine")
    return root, folders


def test_clean_keeps_the_newest_and_never_touches_what_it_did_not_create(runs):
    root, folders = runs
    result = invoke("clean", "--keep", "1")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in root.iterdir()) == sorted(
        [folders[k].name for k in ("newest", "foreign name", "foreign content")] + ["README.txt"])
    assert (folders["foreign content"] / "notes.txt").read_text() == "{}"


def test_clean_dry_run_lists_what_it_would_remove_and_removes_nothing(runs):
    root, folders = runs
    before = sorted(p.name for p in root.rglob("*"))
    result = invoke("clean", "--keep", "2", "--dry-run")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in root.rglob("*")) == before
    assert folders["oldest"].name in result.stdout and folders["older"].name in result.stdout
    assert folders["newer"].name not in result.stdout and "my-experiments" not in result.stdout


def test_clean_keeps_ten_by_default_and_is_quiet_without_a_runs_folder(runs, tmp_path, monkeypatch):
    root, folders = runs
    assert invoke("clean").exit_code == 0
    assert all(folder.is_dir() for folder in folders.values())
    monkeypatch.chdir(tmp_path / ".keras-doctor")
    result = invoke("clean")
    assert result.exit_code == 0 and "nothing to clean" in result.stdout


def test_clean_refuses_a_negative_keep():
    result = invoke("clean", "--keep", "-1")
    assert result.exit_code == 2 and "--keep" in result.output


def _all_codes_whole(renderables):
    console = Console(width=80, record=True)
    for renderable in renderables:
        console.print(renderable)
    text = console.export_text()
    return [code for code in CODES if code not in text]


def _compare_summary(codes):
    row = {"best_mean": 0.9, "best_std": 0.01, "reached_target": "1/1", "epochs_to_target": 2,
           "seconds_to_target": 1.5, "gap_mean": 0.02, "learning_rate": 0.00316, "learning_rate_source": "lr_find"}
    variants = [dict(row, variant=f"schedule_free_sgd lecun_normal lr=0.001 batch={16 * (i + 1)}",
                     findings={code: 1 for code in codes[i::3]}) for i in range(3)]
    return {"metric": "val_accuracy", "direction": "maximize", "seeds": 1, "target": 0.85, "run_dir": "runs/x",
            "variants": variants}


def test_the_compare_table_wraps_rows_and_never_cuts_a_code_at_80_columns():
    assert _all_codes_whole(render_compare(_compare_summary(CODES))) == []


def test_the_compare_table_shows_each_variants_learning_rate_and_whether_seconds_include_compiling():
    console = Console(width=200, record=True)
    for renderable in render_compare(dict(_compare_summary(CODES[:3]), seconds_to_target_note=SECONDS_NOTE)):
        console.print(renderable)
    text = " ".join(console.export_text().split())
    assert "0.00316" in text and "(lr_find)" in text
    assert "compiling the train and validation steps" in SECONDS_NOTE and SECONDS_NOTE in text


def test_the_explain_list_and_the_tune_summary_never_cut_a_code_at_80_columns():
    assert _all_codes_whole([render_explain_list([(code, "what it means " * 8) for code in CODES])]) == []
    tune = {"study": "s", "storage": "sqlite:///x.db", "n_complete": 2, "n_pruned": 0, "n_failed": 0,
            "epochs_total": 4, "metric": "val_accuracy", "best_value": 0.9, "best_params": {}, "importance": {},
            "findings": [{"code": code, "severity": "warning"} for code in CODES], "run_dir": "runs/x"}
    assert _all_codes_whole(render_tune(tune)) == []


def _sweep(points=60, diverge_at=None):
    rates = list(1e-5 * (1e6 ** (np.arange(points) / (points - 1))))
    t = np.log10(rates) + 2
    raw = 2.3 - 1.5 / (1 + np.exp(-(t + 2) * 3)) + np.where(t > -1, (t + 1) ** 2 * 0.05, 0)
    raw = list(raw + np.random.default_rng(0).normal(0, 0.01, points))
    if diverge_at is not None:
        raw = raw[:diverge_at] + [40.0, float("nan")]
        rates = rates[:diverge_at + 2]
    return rates, raw


def test_a_diverged_sweep_ends_at_its_last_finite_loss_with_arrays_of_one_length():
    rates, raw = _sweep(diverge_at=45)
    result = _result(rates, raw, raw, "steep", True, 0.9)
    assert len(result.learning_rates) == len(result.losses) == len(result.raw_losses) == 45
    assert all(math.isfinite(v) for v in result.losses + result.raw_losses)
    assert result.learning_rates == rates[:45] and result.steps == 47
    assert result.diverged_at == pytest.approx(rates[45])


def test_suggestions_on_a_finite_sweep_are_the_rules_on_its_lag_free_smoothing():
    rates, raw = _sweep()
    result = _result(rates, raw, raw, "valley", False, 0.9)
    smooth = zero_lag(raw, 0.8)
    assert result.suggestions == {name: rule(rates, smooth) for name, rule in SUGGESTIONS.items()}
    assert result.suggestion == result.suggestions["valley"] and result.learning_rates == rates
    assert result.steps == len(rates) and result.diverged_at is None


def test_an_lr_find_result_prints_a_short_summary():
    rates, raw = _sweep()
    text = repr(_result(rates, raw, raw, "steep", False, 0.9))
    assert text.startswith("LRFindResult(suggestion=") and "bracket=" in text
    assert "steps=60" in text and "rule='steep'" in text and len(text) < 200


def test_plotting_without_matplotlib_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = LRFindResult([1e-3, 1e-2, 1e-1], [1.0, 0.5, 2.0], [1.0, 0.5, 2.0], 1e-2, 3e-3, 3e-2, "steep")
    with pytest.raises(KerasDoctorError, match="pip install matplotlib"):
        result.plot()


def test_the_explain_list_shows_each_pages_whole_first_paragraph():
    from kerasdoctor.resources import rule_codes

    summaries = dict(rule_codes())
    assert all(summary.endswith(".") for summary in summaries.values()), summaries
    # This page's first paragraph spans two lines; the list used to stop mid-sentence.
    assert summaries["LOSS_OSCILLATING"].endswith("when the run is long enough to tell.")
