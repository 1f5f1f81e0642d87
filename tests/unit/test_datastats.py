import numpy as np
import pytest

from kerasdoctor.monitor.datastats import summarize


def test_input_statistics_match_numpy_and_skip_non_finite_values():
    x = np.random.default_rng(0).normal(3.0, 2.0, size=(500, 7)).astype("float32")
    x[1, 2], x[4, 0] = np.nan, np.inf
    stats = summarize(x, np.arange(500) % 3)["x"]
    finite = x[np.isfinite(x)].astype(np.float64)
    assert stats["nan"] == 1 and stats["inf"] == 1
    assert stats["mean"] == pytest.approx(finite.mean(), rel=1e-9)
    assert stats["std"] == pytest.approx(finite.std(), rel=1e-6)
    assert stats["min"] == pytest.approx(finite.min()) and stats["max"] == pytest.approx(finite.max())


def test_integer_inputs_and_label_counts():
    summary = summarize(np.array([[0, 255], [128, 64]], dtype="uint8"), np.array([1, 1]))
    assert summary["x"]["max"] == 255 and summary["x"]["nan"] == 0
    assert summary["y"]["classes"] == [1] and summary["y"]["counts"] == [2]


def test_one_hot_and_continuous_labels_are_told_apart():
    assert summarize(np.zeros((3, 2)), np.eye(3))["y"]["encoding"] == "one_hot"
    assert summarize(np.zeros((3, 2)), np.array([0.1, 0.5, 2.7]))["y"]["encoding"] == "continuous"
