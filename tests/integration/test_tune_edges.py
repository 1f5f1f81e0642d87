"""`tune` at its edges: a build function with no hyperparameter, a study with nothing left to do,
trials that ran every epoch, progress bars, run folders left behind, file modes and Keras warnings."""

import csv
import io
import json
import stat
import warnings
from pathlib import Path

import numpy as np
import optuna
import pytest
from rich.console import Console

import kerasdoctor.cli.app as cli_app  # first: importing kerasdoctor chooses the Keras backend
from kerasdoctor.tune.space import KERAS_OPTIMIZERS, make_optimizer, reinitialize
from kerasdoctor.workload import load_workload

import keras  # noqa: E402  (after kerasdoctor)

from .test_cli import invoke
from .test_tune import TINY

pytestmark = pytest.mark.integration

NO_SPACE = TINY.replace('hp.Int("units", 4, 64, sampling="log")', "16").replace(
    'hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")', "1e-3")
DEFAULT_SPACE = {"learning_rate", "optimizer", "initializer", "batch_size"}


def _tune(*args):
    result = invoke("tune", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), result


def _trials_csv(run_dir):
    with open(Path(run_dir) / "trials.csv", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A study of two finished trials on SQLite, and the summary of the run that made it."""
    folder = tmp_path_factory.mktemp("finished")
    workload = folder / "workload.py"
    workload.write_text(TINY)
    storage = f"sqlite:///{folder / 's.db'}"
    summary, _ = _tune(workload, "--trials", "2", "--storage", storage, "--out", folder / "first")
    return workload, storage, summary, folder


def test_a_build_model_hp_that_defines_no_hyperparameter_says_so_and_searches_the_default_space(
        tmp_path, write_workload):
    summary, result = _tune(write_workload(NO_SPACE), "--trials", "2", "--storage",
                            f"sqlite:///{tmp_path / 's.db'}", "--out", tmp_path / "run")
    assert set(summary["best_params"]) == DEFAULT_SPACE
    assert "defines no hyperparameter" in summary["note"] and "default space" in summary["note"]
    lines = [line for line in result.stderr.splitlines() if "defines no hyperparameter" in line]
    assert len(lines) == 1
    rows = _trials_csv(tmp_path / "run")
    assert len({(row["learning_rate"], row["optimizer"]) for row in rows}) == 2  # two different trials


def test_a_build_model_with_hp_says_nothing_about_the_default_space(finished):
    _, _, summary, _ = finished
    assert summary.get("note") is None


def test_a_finished_study_has_nothing_to_do_and_keeps_its_best_model(finished, tmp_path):
    workload, storage, first, _ = finished
    summary, result = _tune(workload, "--trials", "2", "--storage", storage, "--out", tmp_path / "again")
    best = f"{first['best_value']:.4g}"
    expected = f"nothing to do: the study already has 2 finished trials (best value {best})"
    assert expected in summary["note"]
    assert expected in " ".join(result.stderr.split())
    assert summary["best_value"] == first["best_value"] and summary["best_params"] == first["best_params"]
    assert Path(summary["best_model"]).resolve() == Path(first["best_model"]).resolve()
    assert not (tmp_path / "again" / "best").exists()  # not trained again
    assert len(optuna.load_study(study_name="workload", storage=storage).trials) == 2
    assert (tmp_path / "again" / "summary.json").is_file()  # the summary of the existing study


def test_asking_a_finished_study_for_one_more_trial_runs_one(finished, tmp_path):
    workload, storage, _, _ = finished
    summary, _ = _tune(workload, "--trials", "3", "--storage", storage, "--out", tmp_path / "more")
    assert summary.get("note") is None
    assert summary["n_complete"] + summary["n_pruned"] == 3
    assert len(optuna.load_study(study_name="workload", storage=storage).trials) == 3


def test_every_file_of_a_tune_run_folder_and_its_check_folder_has_the_same_mode(finished):
    _, _, summary, _ = finished
    run = Path(summary["run_dir"])
    modes = {path.relative_to(run).as_posix(): stat.S_IMODE(path.stat().st_mode)
             for path in run.rglob("*") if path.is_file()}
    assert {"summary.json", "trials.csv", "best_model.keras", "best/runlog.jsonl", "best/summary.json"} <= set(modes)
    assert len(set(modes.values())) == 1, modes


def test_a_trial_that_ran_all_its_epochs_is_complete_not_pruned(tmp_path, write_workload):
    # With 2 epochs, Hyperband's first rung is the last epoch: a pruner may only say so after
    # the trial has finished.
    storage = f"sqlite:///{tmp_path / 's.db'}"
    summary, _ = _tune(write_workload(TINY), "--trials", "6", "--epochs", "2", "--storage", storage,
                       "--out", tmp_path / "run")
    rows = _trials_csv(tmp_path / "run")
    assert len(rows) == 6 and all(row["epochs"] == "2" for row in rows)
    assert [row["state"] for row in rows] == ["COMPLETE"] * 6
    assert summary["n_pruned"] == 0
    trials = optuna.load_study(study_name="workload", storage=storage).trials
    assert all(t.state.name == "COMPLETE" for t in trials)


def test_a_trial_stopped_before_its_last_epoch_is_pruned(tmp_path, write_workload):
    storage = f"sqlite:///{tmp_path / 's.db'}"
    summary, _ = _tune(write_workload(TINY), "--trials", "8", "--epochs", "4", "--storage", storage,
                       "--out", tmp_path / "run")
    rows = _trials_csv(tmp_path / "run")
    assert all(int(row["epochs"]) < 4 for row in rows if row["state"] == "PRUNED")
    assert all(row["epochs"] == "4" for row in rows if row["state"] == "COMPLETE")


def test_tune_shows_a_bar_for_the_trials_and_one_for_the_retraining(tmp_path, write_workload, monkeypatch):
    screen = io.StringIO()
    monkeypatch.setattr(cli_app, "stderr", Console(file=screen, force_terminal=True, width=160))
    result = invoke("tune", write_workload(TINY), "--trials", "2", "--storage", f"sqlite:///{tmp_path / 's.db'}",
                    "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    text = screen.getvalue()
    assert "tune workload" in text and "2/2" in text and "best val_accuracy" in text
    assert "retrain best trial" in text


def test_tune_that_fails_before_writing_leaves_no_run_folder(tmp_path, write_workload, monkeypatch):
    monkeypatch.chdir(tmp_path)
    workload = write_workload(TINY)
    result = invoke("tune", workload, "--trials", "1", "--objective", "val_auc:max",
                    "--storage", f"sqlite:///{tmp_path / 's.db'}")
    assert result.exit_code == 1 and "val_auc" in result.output
    assert not (tmp_path / ".keras-doctor").exists()
    result = invoke("tune", workload, "--trials", "1", "--objective", "val_auc:max",
                    "--storage", f"sqlite:///{tmp_path / 's.db'}", "--out", tmp_path / "new" / "run")
    assert result.exit_code == 1 and not (tmp_path / "new").exists()
    (tmp_path / "mine").mkdir()
    result = invoke("tune", workload, "--trials", "1", "--objective", "val_auc:max",
                    "--storage", f"sqlite:///{tmp_path / 's.db'}", "--out", tmp_path / "mine")
    assert result.exit_code == 1 and (tmp_path / "mine").is_dir()  # the user's own folder stays


@keras.saving.register_keras_serializable(package="tune_edges")
class NoisyDense(keras.layers.Dense):
    """A Dense layer that warns when it is made, as a user's own layer might."""

    def __init__(self, *args, **kwargs):
        warnings.warn("NoisyDense is deprecated", DeprecationWarning, stacklevel=2)
        super().__init__(*args, **kwargs)


def _caught(function):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        function()
    return [str(w.message) for w in caught]


def test_a_saved_compiled_model_loads_without_the_skipped_optimizer_warning(tmp_path):
    model = keras.Sequential([keras.Input((4,)), NoisyDense(8, activation="relu"), keras.layers.Dense(2)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.save(tmp_path / "model.keras")  # compiled, never trained: its optimizer has no state yet
    x = np.random.default_rng(0).normal(size=(40, 4)).astype("float32")
    np.savez(tmp_path / "data.npz", x_train=x, y_train=(x[:, 0] > 0).astype("int32"))
    messages = _caught(lambda: load_workload(tmp_path / "model.keras", data=tmp_path / "data.npz").build_model())
    assert not [m for m in messages if "Skipping variable loading" in m]
    assert "NoisyDense is deprecated" in messages  # the model's own warnings still show


def _one_input_models():
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    yield keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(2)])
    yield keras.Model(inputs, keras.layers.Dense(2)(hidden))


def test_lsuv_in_the_tuning_space_warns_nothing_about_the_input_structure():
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    for model in _one_input_models():
        messages = _caught(lambda: reinitialize(model, "lsuv", x_batch=x, seed=0))
        assert not [m for m in messages if "structure of `inputs`" in m], messages


def test_lsuv_on_a_model_with_two_named_inputs_takes_a_dict_or_a_list():
    first, second = keras.Input((4,), name="first"), keras.Input((3,), name="second")
    joined = keras.layers.Concatenate()([keras.layers.Dense(8)(first), keras.layers.Dense(8)(second)])
    model = keras.Model([first, second], keras.layers.Dense(2)(joined))
    rng = np.random.default_rng(0)
    batch = {"first": rng.normal(size=(64, 4)).astype("float32"), "second": rng.normal(size=(64, 3)).astype("float32")}
    for x in (batch, [batch["first"], batch["second"]]):
        messages = _caught(lambda: reinitialize(model, "lsuv", x_batch=x, seed=0))
        assert not [m for m in messages if "structure of `inputs`" in m], messages


@pytest.mark.parametrize("name", KERAS_OPTIMIZERS)
def test_every_keras_optimizer_name_of_the_space_makes_that_optimizer(name):
    optimizer = make_optimizer(name, 0.01)
    assert isinstance(optimizer, keras.optimizers.Optimizer)
    assert float(keras.ops.convert_to_numpy(optimizer.learning_rate)) == pytest.approx(0.01)
