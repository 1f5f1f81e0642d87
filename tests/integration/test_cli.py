"""`keras-doctor` end to end: real fits on small offline data."""

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from kerasdoctor.cli.app import app
from kerasdoctor.runlog import RunLog

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _tree_digest(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def test_check_json_reports_metrics_findings_and_a_runlog_with_gradients(tmp_path):
    result = invoke("check", EXAMPLES / "digits_mlp.py", "--epochs", "2", "--json", "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert set(payload) >= {"run_dir", "backend", "metrics", "findings"}
    assert payload["backend"] == "jax"
    assert payload["metrics"]["epochs"] == 2 and "val_accuracy" in payload["metrics"]["final"]
    run_dir = Path(payload["run_dir"])
    assert json.loads((run_dir / "findings.json").read_text()) == payload["findings"]
    log = RunLog.load(run_dir / "runlog.jsonl")
    probe = next(p for p in log.probes if "grad_norm" in next(iter(p["variables"].values())))
    assert all(row["grad_norm"] > 0 for row in probe["variables"].values())
    assert log.data("train")["samples"] == 1437 and log.data("val")["samples"] == 360


def test_check_prints_a_readable_summary(tmp_path):
    result = invoke("check", EXAMPLES / "digits_mlp.py", "--epochs", "1", "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    for text in ("keras-doctor check", "backend: jax", "Metrics", "val_accuracy", "Per-layer signals", "run folder"):
        assert text in result.stdout


def test_check_reports_a_learning_rate_far_too_high_with_the_divergence_under_it(tmp_path):
    result = invoke("check", EXAMPLES / "broken" / "lr_too_high.py", "--json", "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    findings = json.loads(result.stdout)["findings"]
    assert findings[0]["code"] == "LEARNING_RATE_TOO_HIGH" and findings[0]["caused_by"] is None
    diverged = [f for f in findings if f["code"] == "LOSS_DIVERGED"]
    assert diverged and diverged[0]["caused_by"] == "LEARNING_RATE_TOO_HIGH"


def test_fail_on_exits_3_when_a_finding_is_severe_enough(tmp_path):
    result = invoke("check", EXAMPLES / "broken" / "lr_too_high.py", "--epochs", "2",
                    "--fail-on", "error", "--out", tmp_path / "run")
    assert result.exit_code == 3


def test_fail_on_warning_exits_3_on_a_faulty_case_and_0_on_a_healthy_one(tmp_path):
    faulty = invoke("check", EXAMPLES / "broken" / "unscaled_inputs.py", "--epochs", "2",
                    "--fail-on", "warning", "--out", tmp_path / "faulty")
    assert faulty.exit_code == 3, faulty.output
    healthy = invoke("check", EXAMPLES / "breast_cancer_mlp.py", "--fail-on", "warning", "--out", tmp_path / "healthy")
    assert healthy.exit_code == 0, healthy.output


CRASHING_WORKLOAD = (
    "import keras, numpy as np\n"
    "def load_data():\n"
    "    rng = np.random.default_rng(0)\n"
    "    return rng.normal(size=(200, 4)).astype('float32'), rng.integers(0, 3, 200)\n"
    "def build_model():\n"
    "    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation='softmax')])\n"
    "    model.compile('adam', {loss!r})\n"
    "    return model\n"
)


@pytest.mark.parametrize("loss", ["mse", "categorical_crossentropy"])
def test_a_crash_explained_by_a_static_finding_names_it_and_exits_1(loss, tmp_path, write_workload):
    result = invoke("check", write_workload(CRASHING_WORKLOAD.format(loss=loss)), "--json", "--out", tmp_path / "run")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["findings"][0]["code"] == "OUTPUT_LOSS_MISMATCH"
    assert "failed" in summary["error"] and "explained by OUTPUT_LOSS_MISMATCH" in summary["error"]


def test_a_crash_with_an_unrelated_warning_is_not_said_to_be_explained(tmp_path, write_workload):
    source = (
        "import keras, numpy as np\n"
        "def load_data():\n"
        "    rng = np.random.default_rng(0)\n"
        "    return rng.normal(size=(400, 4)).astype('float32'), (np.arange(400) % 40 == 0).astype('int32')\n"
        "def build_model():\n"
        "    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(2, activation='softmax')])\n"
        "    model.compile('adam', 'sparse_categorical_crossentropy')\n"
        "    return model\n"
    )
    result = invoke("check", write_workload(source), "--out", tmp_path / "run")
    assert result.exit_code == 1
    assert "failed" in result.output and "explain" not in result.output
    assert "Check that the data shapes match" in result.output


ZERO_OUTPUT_UNIT = """
import keras
from sklearn.datasets import load_breast_cancer
from sklearn.preprocessing import StandardScaler

FIT = {"epochs": 5, "batch_size": 32}


def load_data():
    x, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(x).astype("float32"), y.astype("float32")


def build_model():
    model = keras.Sequential([keras.Input((30,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid", kernel_initializer="zeros")])
    model.compile(keras.optimizers.Adam(1e-3), "binary_crossentropy", metrics=["accuracy"])
    return model
"""


def test_a_zero_initialized_output_unit_that_trains_well_gets_no_warning(tmp_path, write_workload):
    result = invoke("check", write_workload(ZERO_OUTPUT_UNIT), "--json", "--out", tmp_path / "run")
    summary = json.loads(result.stdout)
    assert summary["metrics"]["best"]["val_accuracy"] > 0.9
    assert [f["code"] for f in summary["findings"] if f["severity"] != "info"] == []


def test_check_never_modifies_the_users_folder(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    shutil.copy(EXAMPLES / "digits_mlp.py", folder / "train.py")
    before = _tree_digest(folder)
    result = invoke("check", folder / "train.py", "--epochs", "1", "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert _tree_digest(folder) == before


def test_json_stdout_stays_clean_when_the_workload_prints(tmp_path, write_workload, healthy_source):
    path = write_workload("print('loading data...')\n" + healthy_source)
    result = invoke("check", path, "--json", "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    json.loads(result.stdout)


def test_default_run_folder_is_under_dot_keras_doctor(tmp_path, monkeypatch, write_workload, healthy_source):
    path = write_workload(healthy_source)
    monkeypatch.chdir(tmp_path)
    result = invoke("check", path, "--json")
    run_dir = Path(json.loads(result.stdout)["run_dir"])
    assert run_dir.parent == Path(".keras-doctor") / "runs" and run_dir.name.endswith("-workload")
    assert (tmp_path / run_dir / "runlog.jsonl").is_file()


def test_demo_runs_check_on_the_digits_cnn(tmp_path):
    result = invoke("demo", "--epochs", "1", "--json", "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["workload"].endswith("digits_cnn.py")


def _saved_model(tmp_path, lambda_layer=False):
    import keras

    layers = [keras.Input((3,)), keras.layers.Dense(2, activation="softmax")]
    if lambda_layer:
        layers.insert(1, keras.layers.Lambda(lambda t: t * 2.0))
    model = keras.Sequential(layers)
    model.compile("adam", "sparse_categorical_crossentropy")
    path = tmp_path / ("lambda.keras" if lambda_layer else "model.keras")
    model.save(path)
    data = tmp_path / "data.npz"
    np.savez(data, x_train=np.random.default_rng(0).normal(size=(40, 3)), y_train=np.arange(40) % 2)
    return path, data


def test_check_trains_a_saved_model_with_npz_data(tmp_path):
    model, data = _saved_model(tmp_path)
    before = _tree_digest(tmp_path)
    result = invoke("check", model, "--data", data, "--epochs", "1", "--json", "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert {k: v for k, v in _tree_digest(tmp_path).items() if not k.startswith("run/")} == before


BAD_INPUTS = {
    "missing file": (lambda tmp: ["check", tmp / "nope.py"], "Workload file not found"),
    "syntax error": (lambda tmp: ["check", _write(tmp, "def build_model(:\n")], "Syntax error in the workload"),
    "missing build_model": (lambda tmp: ["check", _write(tmp, "def load_data():\n    pass\n")], "does not define build_model()"),
    "uncompiled model": (
        lambda tmp: ["check", _write(tmp, "import keras, numpy as np\ndef build_model():\n    return keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])\ndef load_data():\n    return np.zeros((10, 2)), np.zeros(10)\n")],
        "not compiled"),
    "length mismatch": (
        lambda tmp: ["check", _write(tmp, "import numpy as np\ndef build_model():\n    pass\ndef load_data():\n    return (np.zeros((10, 2)), np.zeros(9)), (np.zeros((4, 2)), np.zeros(4))\n")],
        "same number of samples"),
    "wrong data shape for the model": (
        lambda tmp: ["check", _write(tmp, "import keras, numpy as np\ndef build_model():\n    m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])\n    m.compile('sgd', 'mse')\n    return m\ndef load_data():\n    return np.zeros((10, 5)), np.zeros(10)\n")],
        "Training the workload failed"),
    "corrupt .keras": (lambda tmp: ["check", _bytes(tmp, "m.keras", b"garbage"), "--data", _saved_model(tmp)[1]], "not a readable .keras file"),
    "unsafe .keras": (lambda tmp: ["check", _saved_model(tmp, lambda_layer=True)[0], "--data", tmp / "data.npz"], "--unsafe"),
    ".keras without data": (lambda tmp: ["check", _saved_model(tmp)[0]], "--data FILE.npz"),
    "unknown code": (lambda tmp: ["explain", "NOT_A_CODE"], "Unknown finding code"),
}


def _write(folder, source):
    path = folder / "workload.py"
    path.write_text(source)
    return path


def _bytes(folder, name, content):
    path = folder / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_gives_one_clear_line_and_exit_1(case, tmp_path):
    make_args, message = BAD_INPUTS[case]
    result = invoke(*make_args(tmp_path), "--out", tmp_path / "run") if case != "unknown code" else invoke(*make_args(tmp_path))
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and message in result.stderr.replace("\n", " ")
    assert "Traceback" not in result.output


def test_bad_arguments_are_usage_errors():
    assert invoke("check", EXAMPLES / "digits_mlp.py", "--epochs", "0").exit_code == 2


def test_a_real_process_prints_one_red_line_and_no_traceback(tmp_path):
    done = subprocess.run([sys.executable, "-m", "kerasdoctor", "check", str(tmp_path / "missing.py")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert [line for line in done.stderr.splitlines() if line.startswith("error:")] == [
        f"error: Workload file not found: {tmp_path / 'missing.py'}. A workload file defines build_model(hp=None) "
        "returning a compiled keras.Model, load_data() returning (x_train, y_train), (x_val, y_val) or (x, y) "
        "(or training and validation pipelines), and optionally FIT = {'epochs': ..., 'batch_size': ...}."
    ]
    assert done.stdout == ""


def test_explain_prints_a_rule_page_and_lists_codes():
    page = invoke("explain", "loss_diverged")
    assert page.exit_code == 0 and "LOSS_DIVERGED" in page.stdout and "learning rate" in page.stdout
    listing = invoke("explain")
    from kerasdoctor.diagnose import RULES

    assert all(rule.code in listing.stdout for rule in RULES)
    for rule in RULES:
        page = invoke("explain", rule.code)
        assert page.exit_code == 0 and "What it means" in page.stdout and "How to fix it by hand" in page.stdout
