"""Workloads whose load_data returns lists of arrays: a two-input model (model.fit([x1, x2], y)) and
a two-output one (model.fit(x, [y1, y2])), through check and lr-find."""

import json

import kerasdoctor  # noqa: F401, I001  (chooses the backend)
import pytest
from typer.testing import CliRunner

from kerasdoctor.cli.app import app
from kerasdoctor.runlog import RunLog

pytestmark = pytest.mark.integration

TWO_INPUTS = """
import keras
import numpy as np

FIT = {"epochs": 2, "batch_size": 32}


def load_data():
    rng = np.random.default_rng(0)
    left = rng.normal(size=(320, 6)).astype("float32")
    right = (rng.normal(size=(320, 3)) * 400.0).astype("float32")  # unscaled
    return [left, right], (left[:, 0] + right[:, 0] / 400.0 > 0).astype("int32")


def build_model(hp=None):
    left, right = keras.Input((6,), name="left"), keras.Input((3,), name="right")
    hidden = keras.layers.Dense(16, activation="relu")(keras.layers.Concatenate()([left, right]))
    model = keras.Model([left, right], keras.layers.Dense(2, activation="softmax")(hidden))
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
"""

TWO_OUTPUTS = """
import keras
import numpy as np

FIT = {"epochs": 2, "batch_size": 32}


def load_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(320, 8)).astype("float32")
    return x, [(x[:, 0] > 0).astype("int32"), x[:, 1:2] * 2.0]


def build_model(hp=None):
    inputs = keras.Input((8,))
    hidden = keras.layers.Dense(16, activation="relu")(inputs)
    model = keras.Model(inputs, [keras.layers.Dense(2, activation="softmax", name="label")(hidden),
                                 keras.layers.Dense(1, name="size")(hidden)])
    model.compile(keras.optimizers.Adam(1e-2), loss=["sparse_categorical_crossentropy", "mse"])
    return model
"""

BOTH_READINGS = """
import numpy as np


def load_data():
    x, y = np.zeros((40, 3), "float32"), np.arange(40) % 2
    return [x, y], [x, y]


def build_model(hp=None):
    pass
"""


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_check_on_a_two_input_list_workload_judges_every_input(write_workload, tmp_path):
    result = invoke("check", write_workload(TWO_INPUTS), "--json", "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    log = RunLog.load(tmp_path / "run" / "runlog.jsonl")
    inputs = log.data("train")["x"]
    assert [inputs["0"]["shape"], inputs["1"]["shape"]] == [[256, 6], [256, 3]]
    assert log.data("val")["samples"] == 64 and log.data("probe")["samples"] == 128
    assert log.data("overlap") == {"type": "data", "split": "overlap", "val_samples": 64, "val_in_train": 0}
    unscaled = [f for f in json.loads(result.stdout)["findings"] if f["code"] == "INPUT_NOT_NORMALIZED"]
    assert len(unscaled) == 1 and unscaled[0]["evidence"]["array"] == "1"
    assert "The training inputs (x[1]) are not normalized" in unscaled[0]["message"]


def test_check_on_a_two_output_list_workload_records_the_labels_of_each_output(write_workload, tmp_path):
    result = invoke("check", write_workload(TWO_OUTPUTS), "--json", "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    log = RunLog.load(tmp_path / "run" / "runlog.jsonl")
    heads = log.data("train")["y_outputs"]
    assert heads["0"]["encoding"] == "index" and heads["1"]["encoding"] == "continuous"
    assert heads["0"]["shape"] == [256] and log.data("val")["y_outputs"]["1"]["shape"] == [64, 1]
    assert {"label_loss", "size_loss", "val_label_loss", "val_size_loss"} <= set(log.epochs[-1]["logs"])


@pytest.mark.parametrize("source", [TWO_INPUTS, TWO_OUTPUTS], ids=["two inputs", "two outputs"])
def test_lr_find_sweeps_a_list_workload(write_workload, tmp_path, source):
    result = invoke("lr-find", write_workload(source), "--steps", "20", "--json", "--out", tmp_path / "lr")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    # at most the 20 steps asked for: the sweep stops where the loss diverges
    assert 3 <= summary["steps"] <= 20 and summary["low"] <= summary["suggestion"] <= summary["high"]


def test_two_pairs_of_lists_that_read_both_ways_stop_check_with_one_line(write_workload, tmp_path):
    result = invoke("check", write_workload(BOTH_READINGS), "--out", tmp_path / "run")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "two pairs of arrays of 40 samples each" in result.output
    assert "Return tuples for training and validation data" in " ".join(result.output.split())
    assert not (tmp_path / "run").exists()


def test_a_wrong_loss_in_a_list_of_losses_is_found_on_its_output(write_workload, tmp_path):
    wrong = TWO_OUTPUTS.replace('loss=["sparse_categorical_crossentropy", "mse"]',
                                'loss=["sparse_categorical_crossentropy", "categorical_crossentropy"]')
    result = invoke("check", write_workload(wrong), "--json", "--out", tmp_path / "run")
    findings = json.loads(result.stdout)["findings"]
    mismatch = [f for f in findings if f["code"] == "OUTPUT_LOSS_MISMATCH"]
    assert mismatch and "on the output 'size'" in mismatch[0]["message"]
    assert RunLog.load(tmp_path / "run" / "runlog.jsonl").model["output_names"] == ["label", "size"]
