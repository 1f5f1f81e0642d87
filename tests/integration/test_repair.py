"""`keras-doctor repair` end to end: a broken workload repaired and verified, a healthy one left
alone, a data problem declined with its manual fix, and bad input as one clear line."""

import contextlib
import hashlib
import json
import shutil
from pathlib import Path

import kerasdoctor  # noqa: F401, I001  (chooses the backend)
import keras
import numpy as np
import pytest
from typer.testing import CliRunner

from kerasdoctor.cli.app import app
from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.repair import Change, apply, repair
from kerasdoctor.workload import load_workload
from tests.workloads import separable_source

pytestmark = pytest.mark.integration
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

NAN_INPUTS = separable_source(rows=600, epochs=3, batch_size=32).replace(
    '    return x, (x[:, 0] + x[:, 1] > 0).astype("int32")',
    '    y = (x[:, 0] + x[:, 1] > 0).astype("int32")\n    x[rng.random(x.shape) < 0.01] = np.nan\n    return x, y')

SUBCLASSED_LR_TOO_HIGH = """
import keras
from sklearn.datasets import load_digits

FIT = {"epochs": 5, "batch_size": 32}


class Net(keras.Model):
    def __init__(self):
        super().__init__()
        self.hidden = keras.layers.Dense(64, activation="relu")
        self.out = keras.layers.Dense(10, activation="softmax")

    def call(self, x):
        return self.out(self.hidden(x))


def load_data():
    x, y = load_digits(return_X_y=True)
    return (x / 16.0).astype("float32"), y.astype("int32")


def build_model(hp=None):
    model = Net()
    model.compile(keras.optimizers.SGD(learning_rate=10.0, momentum=0.9), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model
"""

HEALTHY = separable_source(rows=1500, epochs=5, batch_size=32)

CANNOT_TRAIN = """
import keras
import numpy as np

def load_data():
    x = np.zeros((100, 5), "float32")
    return x, np.zeros((100, 3, 2), "float32")

def build_model(hp=None):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile("adam", "mse")
    return model
"""


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(folder).iterdir()) if p.is_file()}


def test_repair_fixes_a_learning_rate_and_the_repaired_copy_checks_clean(tmp_path):
    user = tmp_path / "user"
    user.mkdir()
    shutil.copy(EXAMPLES / "broken" / "lr_too_high.py", user / "train.py")
    before = digest(user)
    result = invoke("repair", user / "train.py", "--json", "--out", tmp_path / "repair")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["repaired"] is True and summary["status"] == "repaired"
    assert {"repaired", "changes", "before", "after", "candidates", "run_dir"} <= set(summary)
    assert [c["kind"] for c in summary["changes"]] == ["compile"]
    assert summary["changes"][0]["why"] == "LEARNING_RATE_TOO_HIGH"
    assert "LEARNING_RATE_TOO_HIGH" in {f["code"] for f in summary["before"]["findings"]}
    assert summary["after"]["findings"] == []
    assert summary["after"]["value"] > summary["before"]["value"] + summary["after"]["noise"]
    assert summary["candidates"][0]["verdict"] == "won"
    run_dir = Path(summary["run_dir"])
    for name in ("changes.json", "repaired.keras", "repaired_workload.py", "before.runlog.jsonl",
                 "after.runlog.jsonl", "repair.json"):
        assert (run_dir / name).is_file(), name
    assert digest(user) == before  # the user's files are untouched
    # The repaired copy reproduces the repaired run under check.
    checked = invoke("check", run_dir / "repaired_workload.py", "--json", "--out", tmp_path / "check")
    assert checked.exit_code == 0, checked.output
    check = json.loads(checked.stdout)
    assert not [f for f in check["findings"] if f["severity"] != "info"]
    reproduced = check["metrics"]["best"][summary["after"]["metric"]]
    assert abs(reproduced - summary["after"]["value"]) <= max(0.01, 2 * summary["after"]["noise"])
    assert digest(user) == before


def test_repair_leaves_a_healthy_workload_alone(write_workload, tmp_path):
    path = write_workload(HEALTHY)
    result = invoke("repair", path, "--json", "--out", tmp_path / "repair")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["status"] == "healthy" and summary["repaired"] is False
    assert summary["changes"] == [] and summary["candidates"] == []
    assert not (Path(summary["run_dir"]) / "repaired_workload.py").exists()


SIGMOID_OVER_THREE_CLASSES = """
import keras
import numpy as np

FIT = {"epochs": 8, "batch_size": 32}


def load_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1500, 8)).astype("float32")
    return x, np.argmax(x[:, :3], axis=1).astype("int32")


def build_model(hp=None):
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(3, activation="sigmoid")])
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
"""


def test_an_output_that_does_not_fit_its_loss_is_fixed_even_when_the_model_trains_despite_it(
        write_workload, tmp_path):
    path = write_workload(SIGMOID_OVER_THREE_CLASSES)
    result = repair(path, out=tmp_path / "repair")
    assert result.status == "repaired", result.message
    assert [(c.kind, c.params) for c in result.changes] == [("layer", {"activation": "softmax"})]
    assert [f["code"] for f in result.before["findings"]] == ["OUTPUT_LOSS_MISMATCH"]
    assert result.after["findings"] == []
    # Planned for at the horizon like any finding: the fix kept up there, so the original was not
    # trained to its end first.
    assert result.horizon < 8 and result.before["epochs"] == result.horizon
    # Accuracy was already high: the fix must hold it within the noise, not beat it.
    assert result.after["value"] >= result.before["value"] - max(result.after["noise"], result.before["noise"])
    inputs = np.random.default_rng(1).normal(size=(16, 8)).astype("float32")
    outputs = keras.ops.convert_to_numpy(result.model(inputs))
    assert outputs.sum(axis=1) == pytest.approx(1.0, abs=1e-5)  # probabilities now


def test_a_budget_too_small_for_any_candidate_says_so(tmp_path):
    result = repair(EXAMPLES / "broken" / "lr_too_high.py", budget=0.01, out=tmp_path / "repair")
    assert result.status == "not_repaired" and result.changes == []
    assert result.candidates and all(c.verdict == "skipped" for c in result.candidates)
    assert "the time budget ran out before any candidate could train" in result.message


def test_repair_declines_what_no_change_can_fix_and_names_the_manual_fix(write_workload, tmp_path):
    path = write_workload(NAN_INPUTS)
    result = invoke("repair", path, "--json", "--out", tmp_path / "repair")
    assert result.exit_code == 3, result.output
    summary = json.loads(result.stdout)
    assert summary["status"] == "declined" and summary["changes"] == []
    assert "NaN" in summary["manual_fix"] and "repair cannot fix this" in summary["message"]


def test_a_subclassed_model_gets_compile_changes_only(write_workload, tmp_path):
    path = write_workload(SUBCLASSED_LR_TOO_HIGH)
    result = repair(path, out=tmp_path / "repair")
    assert result.status == "repaired", result.message
    assert {c.kind for c in result.changes} == {"compile"}
    with pytest.raises(KerasDoctorError, match="subclassed"):
        apply([Change.make("layer", ["dense"], activation="tanh")], load_workload(path)).build_model()


@pytest.mark.parametrize("args, code, words", [
    (("--budget", "0"), 2, "--budget must be a positive number"),
    (("--minutes", "-1"), 2, "--minutes must be a positive number"),
])
def test_bad_arguments_are_one_line(write_workload, healthy_source, tmp_path, args, code, words):
    result = invoke("repair", write_workload(healthy_source), *args, "--out", tmp_path / "r")
    assert result.exit_code == code and words in result.output
    assert "Traceback" not in result.output and not (tmp_path / "r").exists()


def test_a_workload_that_cannot_train_is_one_line(write_workload, tmp_path):
    result = invoke("repair", write_workload(CANNOT_TRAIN), "--out", tmp_path / "r")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "failed" in result.output.lower()
    missing = invoke("repair", tmp_path / "nope.py")
    assert missing.exit_code == 1 and "not found" in missing.output


def test_the_repair_command_runs_inside_a_compilation_cache_of_its_own(write_workload, tmp_path, monkeypatch):
    from kerasdoctor._backends import devices

    entered, real = [], devices.shared_compilation_cache

    @contextlib.contextmanager
    def recorded():
        with real() as folder:
            entered.append(folder)
            yield folder

    monkeypatch.setattr(devices, "shared_compilation_cache", recorded)
    result = invoke("repair", write_workload(CANNOT_TRAIN), "--out", tmp_path / "r")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert len(entered) == 1  # entered once, and left even though the workload failed
    try:  # the Python verb too
        repair(write_workload(CANNOT_TRAIN), out=tmp_path / "p")
    except KerasDoctorError:
        pass
    assert len(entered) == 2
    assert all(folder is None or not Path(folder).exists() for folder in entered)


@pytest.mark.parametrize("name", sorted(p.name for p in (EXAMPLES / "broken").glob("*.py")))
def test_every_broken_example_is_repaired_and_its_copy_checks_clean(name, tmp_path):
    shutil.copy(EXAMPLES / "broken" / name, tmp_path / name)
    result = repair(tmp_path / name, out=tmp_path / "repair")
    assert result.status == "repaired", result.message
    checked = invoke("check", Path(result.run_dir) / "repaired_workload.py", "--json", "--out", tmp_path / "check")
    assert checked.exit_code == 0, checked.output
    findings = json.loads(checked.stdout)["findings"]
    assert not [f for f in findings if f["severity"] != "info"], findings


DEEP_TWO_INPUTS = """
    import keras
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split

    FIT = {"epochs": 12, "batch_size": 32}


    def load_data():
        x, y = make_classification(3000, n_features=12, n_informative=8, n_classes=4, random_state=0)
        xtr, xva, ytr, yva = train_test_split(x.astype("float32"), y, test_size=0.25, random_state=0)
        return ({"a": xtr[:, :6], "b": xtr[:, 6:]}, ytr), ({"a": xva[:, :6], "b": xva[:, 6:]}, yva)


    def build_model(hp=None):
        a, b = keras.Input((6,), name="a"), keras.Input((6,), name="b")
        h = keras.layers.Concatenate()([a, b])
        for i in range(12):
            h = keras.layers.Dense(24, activation="sigmoid", name=f"deep_{i}")(h)
        model = keras.Model({"a": a, "b": b}, keras.layers.Dense(4, activation="softmax", name="out")(h))
        model.compile(optimizer=keras.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        return model
"""


def test_the_winners_row_reads_its_whole_run_like_the_after_line(write_workload, tmp_path):
    # Twelve sigmoid layers behind two named inputs: the first fix also oscillates after 3 of its
    # 12 epochs, and no longer by the end. Its row (metric, epochs, findings) is its whole run's.
    result = repair(write_workload(DEEP_TWO_INPUTS), out=tmp_path / "repair")
    assert result.status == "repaired", result.message
    winner = [c for c in result.candidates if c.verdict == "won"][-1]
    assert winner.findings == sorted(f["code"] for f in result.after["findings"])
    assert winner.epochs == result.after["epochs"] and winner.metric == result.after["value"]


def test_a_saved_model_with_its_data_is_repaired_like_a_workload_file(tmp_path):
    import keras
    import numpy as np
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    np.savez(tmp_path / "digits.npz", x_train=(x / 16.0).astype("float32"), y_train=y.astype("int32"))
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(keras.optimizers.SGD(learning_rate=10.0, momentum=0.9), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.save(tmp_path / "model.keras")
    before = digest(tmp_path)
    result = invoke("repair", tmp_path / "model.keras", "--data", tmp_path / "digits.npz", "--json",
                    "--out", tmp_path / "runs" / "repair")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["status"] == "repaired" and summary["changes"][0]["kind"] == "compile"
    checked = invoke("check", Path(summary["run_dir"]) / "repaired_workload.py", "--json",
                     "--out", tmp_path / "runs" / "check")
    assert checked.exit_code == 0, checked.output
    assert not [f for f in json.loads(checked.stdout)["findings"] if f["severity"] != "info"]
    assert digest(tmp_path) == before  # the model and the data file are untouched
