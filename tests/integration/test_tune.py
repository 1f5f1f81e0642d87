"""lr-find, compare and tune end to end; tune on SQLite, and on a real PostgreSQL server for
several workers and for kill-and-resume (CI starts one; set KERASDOCTOR_TEST_POSTGRES locally)."""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

import optuna
import pytest

from .test_cli import invoke

pytestmark = pytest.mark.integration
POSTGRES = os.environ.get("KERASDOCTOR_TEST_POSTGRES")
needs_postgres = pytest.mark.skipif(not POSTGRES, reason="set KERASDOCTOR_TEST_POSTGRES to a PostgreSQL URL (CI does)")

TINY = '''
import keras
from sklearn.datasets import load_breast_cancer
from sklearn.preprocessing import StandardScaler

FIT = {"epochs": 3, "batch_size": 64}


def load_data():
    x, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(x).astype("float32"), y.astype("float32")


def build_model(hp):
    units = hp.Int("units", 4, 64, sampling="log")
    model = keras.Sequential([keras.Input((30,)), keras.layers.Dense(units, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    learning_rate = hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
    model.compile(keras.optimizers.Adam(learning_rate), "binary_crossentropy", metrics=["accuracy"])
    return model
'''

NO_HP = TINY.replace("def build_model(hp):", "def build_model():").replace(
    'hp.Int("units", 4, 64, sampling="log")', "16").replace(
    'hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")', "1e-3")

# The build function of KerasTuner's "Getting started" guide, unchanged, on one-hot digits.
KERASTUNER_DOCS = '''
import keras
from keras import layers
from sklearn.datasets import load_digits

FIT = {"epochs": 2, "batch_size": 64}


def load_data():
    x, y = load_digits(return_X_y=True)
    return (x / 16.0).reshape(-1, 8, 8).astype("float32"), keras.utils.to_categorical(y, 10)


def build_model(hp):
    model = keras.Sequential()
    model.add(layers.Flatten())
    # Tune the number of layers.
    for i in range(hp.Int("num_layers", 1, 3)):
        model.add(
            layers.Dense(
                # Tune number of units separately.
                units=hp.Int(f"units_{i}", min_value=32, max_value=512, step=32),
                activation=hp.Choice("activation", ["relu", "tanh"]),
            )
        )
    if hp.Boolean("dropout"):
        model.add(layers.Dropout(rate=0.25))
    model.add(layers.Dense(10, activation="softmax"))
    learning_rate = hp.Float("lr", min_value=1e-4, max_value=1e-2, sampling="log")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model
'''


def _tune(*args):
    result = invoke("tune", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_tune_on_sqlite_writes_best_params_model_trials_and_importance(tmp_path, write_workload):
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    summary = _tune(write_workload(TINY), "--trials", "4", "--storage", storage, "--out", tmp_path / "run")
    assert {"study", "storage", "best_params", "best_value", "n_complete", "run_dir"} <= set(summary)
    assert summary["study"] == "workload" and summary["storage"] == storage
    assert set(summary["best_params"]) == {"units", "learning_rate"} and 0.5 < summary["best_value"] <= 1
    assert summary["n_complete"] + summary["n_pruned"] == 4 and summary["n_complete"] >= 1
    run = Path(summary["run_dir"])
    for name in ("trials.csv", "best_params.json", "importance.json", "best_model.keras", "summary.json"):
        assert (run / name).is_file(), name
    assert (run / "best" / "runlog.jsonl").is_file()
    assert len((run / "trials.csv").read_text().strip().splitlines()) == 5


def test_tune_without_hp_searches_the_default_space(tmp_path, write_workload):
    summary = _tune(write_workload(NO_HP), "--trials", "2", "--storage", f"sqlite:///{tmp_path / 's.db'}",
                    "--out", tmp_path / "run")
    assert set(summary["best_params"]) == {"learning_rate", "optimizer", "initializer", "batch_size"}


def test_a_kerastuner_build_function_runs_unchanged(tmp_path, write_workload):
    summary = _tune(write_workload(KERASTUNER_DOCS), "--trials", "2", "--storage",
                    f"sqlite:///{tmp_path / 's.db'}", "--out", tmp_path / "run")
    assert {"num_layers", "activation", "dropout", "lr", "units_0"} <= set(summary["best_params"])
    assert summary["metric"] == "val_accuracy"


def test_tune_rejects_a_bad_storage_with_one_line(tmp_path, write_workload):
    result = invoke("tune", write_workload(TINY), "--storage", "nosuch://x", "--trials", "1")
    assert result.exit_code == 1 and "Optuna storage URL" in result.output and "Traceback" not in result.output


def test_lr_find_cli_writes_the_curve_and_its_data(tmp_path):
    example = Path(__file__).resolve().parents[2] / "examples" / "digits_mlp.py"
    result = invoke("lr-find", example, "--steps", "40", "--json", "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["low"] <= summary["suggestion"] <= summary["high"]
    assert len(summary["learning_rates"]) == len(summary["losses"]) <= 40
    assert (tmp_path / "run" / "lr_find.png").stat().st_size > 1000
    assert json.loads((tmp_path / "run" / "lr_find.json").read_text())["suggestion"] == summary["suggestion"]


def test_compare_cli_gives_one_row_per_variant_with_findings(tmp_path):
    example = Path(__file__).resolve().parents[2] / "examples" / "breast_cancer_mlp.py"
    result = invoke("compare", example, "--optimizers", "sgd,adam", "--learning-rates", "1e-3",
                    "--epochs", "3", "--json", "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert [v["variant"] for v in summary["variants"]] == ["sgd lr=0.001", "adam lr=0.001"]
    assert all({"best_mean", "best_std", "epochs_to_target", "gap_mean", "findings"} <= set(v)
               for v in summary["variants"])
    bad = invoke("compare", example, "--optimizers", "nosuch")
    assert bad.exit_code == 1 and "Unknown optimizer" in bad.output
    bad = invoke("compare", example, "--initializers", "he_normal,nosuch")
    assert bad.exit_code == 1 and "Unknown initializer" in bad.output
    bad = invoke("compare", example, "--learning-rates", "fast")
    assert bad.exit_code == 1 and "comma-separated list" in bad.output


def _storage(url):
    return optuna.storages.RDBStorage(url)


@needs_postgres
def test_two_workers_share_one_study_on_postgresql(tmp_path, write_workload):
    study = f"workers-{uuid.uuid4().hex[:8]}"
    summary = _tune(write_workload(TINY), "--trials", "6", "--workers", "2", "--storage", POSTGRES,
                    "--study", study, "--out", tmp_path / "run")
    trials = optuna.load_study(study_name=study, storage=_storage(POSTGRES)).trials
    finished = [t for t in trials if t.state.is_finished() and t.state.name in ("COMPLETE", "PRUNED")]
    assert len(finished) >= 6 and summary["n_complete"] >= 1
    assert len({t.user_attrs.get("worker") for t in finished}) == 2  # both processes ran trials


@needs_postgres
def test_killed_study_resumes_without_losing_a_completed_trial(tmp_path, write_workload):
    # Long trials (300 epochs), so the kill lands mid-trial and not in the instant one ends.
    workload = write_workload(TINY.replace('"epochs": 3', '"epochs": 300'))
    study = f"resume-{uuid.uuid4().hex[:8]}"
    command = [sys.executable, "-m", "kerasdoctor", "tune", str(workload), "--trials", "6", "--storage",
               POSTGRES, "--study", study, "--json", "--out", str(tmp_path / "run")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    storage = _storage(POSTGRES)
    deadline = time.time() + 300
    try:
        while time.time() < deadline:
            try:
                trials = optuna.load_study(study_name=study, storage=storage).trials
            except KeyError:
                trials = []
            running = [t for t in trials if t.state.name == "RUNNING"]
            # Killed mid-trial: a few seconds in, so its first heartbeat has been written.
            if sum(t.state.name == "COMPLETE" for t in trials) >= 1 and running and (
                    datetime.now() - running[0].datetime_start).total_seconds() > 3:
                break
            time.sleep(0.2)
        else:
            pytest.fail("the study never had a completed and a running trial")
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    before = {t.number: t.value for t in optuna.load_study(study_name=study, storage=storage).trials
              if t.state.name == "COMPLETE"}
    killed = [t.number for t in optuna.load_study(study_name=study, storage=storage).trials if t.state.name == "RUNNING"]
    assert killed
    time.sleep(21)  # past the heartbeat grace period: the killed trial is now stale
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    trials = optuna.load_study(study_name=study, storage=storage).trials
    after = {t.number: t.value for t in trials if t.state.name == "COMPLETE"}
    assert all(after.get(number) == value for number, value in before.items())  # nothing lost
    by_number = {t.number: t for t in trials}
    assert all(by_number[number].state.name == "FAIL" for number in killed)
    retried = [t for t in trials if t.system_attrs.get("failed_trial") in killed]
    assert retried and retried[0].params == by_number[killed[0]].params  # re-queued with the same parameters
    assert sum(t.state.name in ("COMPLETE", "PRUNED") for t in trials) >= 6
    assert json.loads(done.stdout)["n_complete"] >= len(before)


WRONG_SHAPE = TINY.replace("keras.Input((30,))", "keras.Input((12,))")


def test_a_workload_that_cannot_train_is_one_line_for_lr_find_and_tune(tmp_path, write_workload):
    workload = write_workload(WRONG_SHAPE)
    for args in (("lr-find", workload, "--steps", "20"),
                 ("tune", workload, "--trials", "1", "--storage", f"sqlite:///{tmp_path / 's.db'}")):
        result = invoke(*args, "--out", tmp_path / args[0])
        assert result.exit_code == 1, result.output
        assert "failed" in result.output and "Traceback" not in result.output and "unexpected" not in result.output
        assert "build_model()" not in result.output  # it got as far as training


def test_check_and_lr_find_run_a_kerastuner_build_function_with_its_defaults(tmp_path, write_workload):
    workload = write_workload(KERASTUNER_DOCS)
    result = invoke("check", workload, "--epochs", "1", "--json", "--out", tmp_path / "check")
    assert result.exit_code == 0, result.output
    result = invoke("lr-find", workload, "--steps", "20", "--json", "--out", tmp_path / "lr")
    assert result.exit_code == 0, result.output


ACC = TINY.replace('metrics=["accuracy"]', 'metrics=["acc"]')


def test_tune_optimizes_a_metric_compiled_as_acc(tmp_path, write_workload):
    summary = _tune(write_workload(ACC), "--trials", "2", "--storage", f"sqlite:///{tmp_path / 's.db'}",
                    "--out", tmp_path / "run")
    assert summary["metric"] == "val_acc" and summary["direction"] == "maximize"
    assert summary["n_complete"] + summary["n_pruned"] == 2


def test_tune_objective_names_the_metric_and_its_direction(tmp_path, write_workload):
    summary = _tune(write_workload(TINY), "--trials", "2", "--objective", "val_loss:min",
                    "--storage", f"sqlite:///{tmp_path / 's.db'}", "--out", tmp_path / "run")
    assert summary["metric"] == "val_loss" and summary["direction"] == "minimize"
    assert summary["best_value"] < 1.0  # a binary cross-entropy, not an accuracy


def test_tune_objective_without_a_direction_takes_it_from_the_metric_name(tmp_path, write_workload):
    summary = _tune(write_workload(TINY), "--trials", "1", "--objective", "val_accuracy",
                    "--storage", f"sqlite:///{tmp_path / 's.db'}", "--out", tmp_path / "run")
    assert summary["metric"] == "val_accuracy" and summary["direction"] == "maximize"


def test_tune_objective_that_is_never_logged_is_one_line(tmp_path, write_workload):
    result = invoke("tune", write_workload(TINY), "--trials", "1", "--objective", "val_auc:max",
                    "--storage", f"sqlite:///{tmp_path / 's.db'}", "--out", tmp_path / "run")
    assert result.exit_code == 1 and "val_auc" in result.output and "val_accuracy" in result.output
    assert "Traceback" not in result.output


# The second build of this workload (the first trial: the first build only reads the
# compiled metrics) gets an input of the wrong width, so that trial cannot train.
FAILS_ONCE = TINY.replace("def build_model(hp):", "BUILDS = []\n\n\ndef build_model(hp):\n    BUILDS.append(1)").replace(
    "keras.Input((30,))", "keras.Input((12 if len(BUILDS) == 2 else 30,))")


def test_a_failing_trial_is_recorded_as_failed_and_the_study_goes_on(tmp_path, write_workload):
    storage = f"sqlite:///{tmp_path / 's.db'}"
    summary = _tune(write_workload(FAILS_ONCE), "--trials", "3", "--storage", storage, "--out", tmp_path / "run",
                    "--study", "fails-once")
    assert summary["n_failed"] == 1 and summary["n_complete"] + summary["n_pruned"] == 2
    trials = optuna.load_study(study_name="fails-once", storage=storage).get_trials()
    failed = [t for t in trials if t.state == optuna.trial.TrialState.FAIL]
    assert len(failed) == 1 and failed[0].user_attrs.get("error")

