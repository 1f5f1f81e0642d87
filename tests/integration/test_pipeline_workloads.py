"""Workloads whose load_data returns pipelines, through every verb: check, lr-find, compare, tune."""

import json

import kerasdoctor  # noqa: F401, I001  (chooses the backend)
import keras
import numpy as np
import pytest
from typer.testing import CliRunner

from kerasdoctor.cli.app import app
from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.runlog import RunLog
from kerasdoctor.tune.lr_find import lr_find
from kerasdoctor.workload.pipelines import repeat_batches

pytestmark = pytest.mark.integration

COMMON = """
import keras
import numpy as np

FIT = {{"epochs": 2}}
rng = np.random.default_rng(0)
x = rng.normal(size=(480, 8)).astype("float32")
y = (x[:, 0] + x[:, 1] > 0).astype("int32")


def build_model(hp=None):
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model

{load}
"""

LOADERS = {
    "tf.data": """
import tensorflow as tf

def load_data():
    train = tf.data.Dataset.from_tensor_slices((x[:384], y[:384])).shuffle(384, seed=0).batch(32)
    return train, tf.data.Dataset.from_tensor_slices((x[384:], y[384:])).batch(48)
""",
    "PyDataset": """
class Rows(keras.utils.PyDataset):
    def __init__(self, start, stop):
        super().__init__()
        self.start, self.stop = start, stop

    def __len__(self):
        return (self.stop - self.start) // 32

    def __getitem__(self, index):
        first = self.start + index * 32
        return x[first:first + 32], y[first:first + 32]

def load_data():
    return Rows(0, 384), (x[384:], y[384:])
""",
    "DataLoader": """
import torch

def load_data():
    rows = torch.utils.data.TensorDataset(torch.from_numpy(x[:384]), torch.from_numpy(y[:384]))
    return torch.utils.data.DataLoader(rows, batch_size=32, shuffle=True), (x[384:], y[384:])
""",
    "generator factory": """
def batches(start, stop):
    def make():
        for first in range(start, stop, 32):
            yield x[first:min(first + 32, stop)], y[first:min(first + 32, stop)]
    return make

def load_data():
    return batches(0, 384), batches(384, 480)
""",
}


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _workload(write_workload, kind):
    return write_workload(COMMON.format(load=LOADERS[kind]))


@pytest.mark.parametrize("kind", list(LOADERS))
def test_check_trains_and_diagnoses_a_pipeline_workload(write_workload, tmp_path, kind):
    result = invoke("check", _workload(write_workload, kind), "--json", "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["findings"] == []
    log = RunLog.load(tmp_path / "run" / "runlog.jsonl")
    run = log.of_type("run")[0]
    assert run["input_kind"] == kind and "batch_size" not in run["fit"]
    assert len(log.epochs) == 2 and "val_accuracy" in log.epochs[-1]["logs"]
    assert log.data("train")["sampled_rows"] == 256 and log.data("train")["sampled_batches"] == 8  # at most 8 batches
    assert log.data("probe")["samples"] == 128
    assert log.data("overlap")["val_in_train"] == 0
    assert any("grad_norm" in row for p in log.probes for row in p["variables"].values())


def test_lr_find_sweeps_over_the_batches_of_a_pipeline_pass_after_pass():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 8)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")

    def make():  # two batches a pass: a 30-step sweep takes fifteen passes
        for first in (0, 32):
            yield x[first:first + 32], y[first:first + 32]

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    before = [w.copy() for w in model.get_weights()]
    result = lr_find(model, make, num_steps=30, start_lr=1e-4, end_lr=1.0)
    assert len(result.learning_rates) == 30 and result.low < result.suggestion < result.high
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert len(list(zip(range(5), repeat_batches(make)))) == 5
    # A generator is one pass: the sweep ends with it, and two batches are too few.
    with pytest.raises(KerasDoctorError, match="ran out of batches after 2 step"):
        lr_find(model, make(), num_steps=30)


@pytest.mark.parametrize("kind", ["tf.data", "generator factory"])
def test_lr_find_command_on_a_pipeline_workload(write_workload, tmp_path, kind):
    result = invoke("lr-find", _workload(write_workload, kind), "--json", "--out", tmp_path / "lr")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["low"] < summary["suggestion"] < summary["high"]


def test_compare_on_a_pipeline_workload_and_a_clear_error_for_batch_sizes(write_workload, tmp_path):
    path = _workload(write_workload, "PyDataset")
    result = invoke("compare", path, "--optimizers", "adam,sgd", "--seeds", "1", "--epochs", "1",
                    "--json", "--out", tmp_path / "compare")
    assert result.exit_code == 0, result.output
    assert [row["variant"] for row in json.loads(result.stdout)["variants"]] == ["adam", "sgd"]
    result = invoke("compare", path, "--batch-sizes", "16,64", "--seeds", "1", "--epochs", "1")
    assert result.exit_code == 1 and "--batch-sizes needs arrays" in result.output


def test_tune_on_a_pipeline_workload_leaves_batch_size_out_of_the_default_space(write_workload, tmp_path):
    result = invoke("tune", _workload(write_workload, "tf.data"), "--trials", "2", "--epochs", "1", "--json",
                    "--storage", f"sqlite:///{tmp_path / 'studies.db'}", "--out", tmp_path / "tune")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["n_complete"] == 2 and "batch_size" not in summary["best_params"]


@pytest.mark.parametrize("load, message", [
    ("def load_data():\n    return tf.data.Dataset.from_tensor_slices((x, y)).batch(32)\n",
     "cannot split a pipeline"),
    ("def load_data():\n    return tf.data.Dataset.from_tensor_slices((x, y)).batch(32), None\n",
     "without validation data"),
    ("def batches():\n    yield x, y\n\ndef load_data():\n    return batches(), batches()\n",
     "Return the generator function itself"),
    ("def load_data():\n    return (lambda: [x, y]), (lambda: [x, y])\n", "must return a generator"),
    ("def batches():\n    return\n    yield\n\ndef load_data():\n    return batches, batches\n", "yields no batches"),
])
def test_pipelines_that_cannot_train_get_one_clear_message(write_workload, load, message):
    path = write_workload(COMMON.format(load="import tensorflow as tf\n\n" + load))
    result = invoke("check", path)
    assert result.exit_code == 1, result.output
    assert message in result.output and "Traceback" not in result.output


TWO_HEADS = """
import keras
import numpy as np

FIT = {"epochs": 2, "batch_size": 32}


def load_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 8)).astype("float32")
    return x, {"label": (x[:, 0] > 0).astype("int32"), "size": x[:, 1:2] * 2.0}


def build_model(hp=None):
    inputs = keras.Input((8,))
    hidden = keras.layers.Dense(16, activation="relu")(inputs)
    model = keras.Model(inputs, {"label": keras.layers.Dense(2, activation="softmax", name="label")(hidden),
                                 "size": keras.layers.Dense(1, name="size")(hidden)})
    model.compile(keras.optimizers.Adam(1e-2), loss={"label": "sparse_categorical_crossentropy", "size": "mse"},
                  metrics={"label": ["accuracy"]})
    return model
"""


def test_a_multi_output_workload_with_a_dict_of_labels_through_check_and_lr_find(write_workload, tmp_path):
    path = write_workload(TWO_HEADS)
    result = invoke("check", path, "--json", "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    log = RunLog.load(tmp_path / "run" / "runlog.jsonl")
    heads = log.data("train")["y_outputs"]
    assert heads["label"]["encoding"] == "index" and heads["size"]["encoding"] == "continuous"
    assert "val_label_accuracy" in log.epochs[-1]["logs"] and log.data("probe")["samples"] == 128
    result = invoke("lr-find", path, "--json", "--out", tmp_path / "lr")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["suggestion"] > 0
