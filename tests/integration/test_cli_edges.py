"""The command line's edges that train: lr-find without matplotlib, no empty run folders after
an error, the confirmation runs' bar, and the learning rate of every compared variant."""

import json
import sys
from pathlib import Path

import pytest

from kerasdoctor.cli import progress as progress_module
from kerasdoctor.runlog import RunLog

from .test_cli import invoke

pytestmark = pytest.mark.integration

BUILD_FAILS = """
import numpy as np

def load_data():
    return np.zeros((40, 4), dtype="float32"), np.arange(40) % 2

def build_model():
    raise ValueError("no model today")
"""

WRONG_SHAPE = """
import keras, numpy as np

def load_data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(80, 5)).astype("float32"), np.arange(80) % 2

def build_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    return model
"""


def test_lr_find_without_matplotlib_writes_the_data_and_skips_the_curve_with_one_note(
        tmp_path, monkeypatch, write_workload, healthy_source):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = invoke("lr-find", write_workload(healthy_source), "--steps", "20", "--json", "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["plot"] is None and not (tmp_path / "run" / "lr_find.png").exists()
    assert json.loads((tmp_path / "run" / "lr_find.json").read_text())["suggestion"] == summary["suggestion"]
    notes = [line for line in result.stderr.splitlines() if "matplotlib" in line]
    assert len(notes) == 1 and "pip install matplotlib" in notes[0]


def _run_folders(root):
    runs = root / ".keras-doctor" / "runs"
    return sorted(p.name for p in runs.iterdir()) if runs.is_dir() else []


@pytest.mark.parametrize("args, source", [
    (("check",), BUILD_FAILS),
    (("compare", "--optimizers", "sgd,adam"), BUILD_FAILS),
    (("lr-find", "--steps", "20"), WRONG_SHAPE),
], ids=["check", "compare", "lr-find"])
def test_a_command_that_fails_before_writing_leaves_no_run_folder(args, source, tmp_path, monkeypatch, write_workload):
    workload = write_workload(source)
    monkeypatch.chdir(tmp_path)
    result = invoke(args[0], workload, *args[1:])
    assert result.exit_code == 1, result.output
    assert _run_folders(tmp_path) == []


def test_lr_find_confirm_runs_under_a_bar_with_one_step_per_epoch(tmp_path, monkeypatch, write_workload,
                                                                  healthy_source):
    made = []

    def recording(console):
        made.append(real(console))
        return made[-1]

    real = progress_module.make_progress
    monkeypatch.setattr(progress_module, "make_progress", recording)
    result = invoke("lr-find", write_workload(healthy_source), "--steps", "20", "--confirm", "--json",
                    "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    tasks = [task for progress in made for task in progress.tasks if "confirm" in task.description]
    assert [(task.total, task.completed) for task in tasks] == [(6, 6)]  # 3 rates x 2 epochs


def test_compare_reports_the_learning_rate_each_variant_trained_at(tmp_path, write_workload, healthy_source):
    result = invoke("compare", write_workload(healthy_source), "--optimizers", "sgd,adam", "--epochs", "1",
                    "--json", "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    rates = [(v["learning_rate"], v["learning_rate_source"]) for v in summary["variants"]]
    assert rates == [(pytest.approx(1e-3), "workload")] * 2  # the workload compiles Adam's default
    assert "compil" in summary["seconds_to_target_note"]
    saved = json.loads((tmp_path / "run" / "compare.json").read_text())
    assert [v["learning_rate"] for v in saved["variants"]] == [v["learning_rate"] for v in summary["variants"]]


def test_compare_with_learning_rates_auto_trains_each_optimizer_at_its_lr_find_suggestion(
        tmp_path, write_workload, healthy_source):
    result = invoke("compare", write_workload(healthy_source), "--optimizers", "sgd,adam", "--learning-rates", "auto",
                    "--epochs", "1", "--json", "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert set(summary["lr_find"]) == {"sgd", "adam"}
    for variant, optimizer in zip(summary["variants"], ("sgd", "adam")):
        assert variant["variant"] == f"{optimizer} lr=auto" and variant["learning_rate_source"] == "lr_find"
        assert variant["learning_rate"] == pytest.approx(summary["lr_find"][optimizer]["suggestion"], rel=1e-6)
    optimizer = RunLog.load(Path(summary["run_dir"]) / "variant-0" / "seed-0" / "runlog.jsonl").model["optimizer"]
    assert optimizer["name"] == "SGD"
    assert optimizer["config"]["learning_rate"] == pytest.approx(summary["lr_find"]["sgd"]["suggestion"], rel=1e-6)
