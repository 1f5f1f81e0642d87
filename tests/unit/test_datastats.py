import numpy as np
import pytest

from kerasdoctor.monitor.datastats import bounded_summary, estimated_overlap, overlap, sample_labels, summarize


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


def test_tabular_inputs_record_the_spread_of_feature_scales():
    x = np.random.default_rng(0).normal(size=(20_000, 3)) * np.array([0.01, 1.0, 300.0])
    stats = summarize(x.astype("float32"))["x"]
    assert stats["feature_std_min"] == pytest.approx(0.01, rel=0.05)
    assert stats["feature_std_max"] == pytest.approx(300.0, rel=0.05)


def test_overlap_counts_validation_samples_copied_from_training():
    x = np.arange(40, dtype="float32").reshape(20, 2)
    x_val = np.concatenate([x[:3], x[:3] + 0.5])
    assert overlap(x, x_val) == {"val_samples": 6, "val_in_train": 3}
    assert overlap({"a": x, "b": x[:, :1]}, {"a": x_val, "b": x_val[:, :1]})["val_in_train"] == 3


def test_saturation_is_measured_for_every_saturating_activation_in_the_vocabulary():
    from kerasdoctor.monitor.signals import saturated_fraction
    from kerasdoctor.vocabulary import SATURATING

    flat = {"sigmoid": [0.0, 1.0], "tanh": [-1.0, 1.0], "hard_sigmoid": [0.0, 1.0], "softsign": [-0.99, 0.99]}
    middle = {"sigmoid": [0.5, 0.4], "tanh": [0.0, 0.3], "hard_sigmoid": [0.5, 0.6], "softsign": [0.0, 0.5]}
    for kind in SATURATING:
        assert saturated_fraction(np.array(flat[kind]), kind) == 1.0, kind
        assert saturated_fraction(np.array(middle[kind]), kind) == 0.0, kind


def test_a_list_of_targets_is_recorded_like_outputs_and_a_list_of_inputs_is_one_row_key():
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=(20, 3)), rng.normal(size=(20, 2))
    classes, values = rng.integers(0, 3, 20), rng.normal(size=(20, 1))
    summary = summarize([x1, x2], [classes, values])
    assert set(summary["x"]) == {"0", "1"} and summary["x"]["1"]["shape"] == [20, 2]
    assert summary["y_outputs"]["0"]["encoding"] == "index" and summary["y_outputs"]["1"]["encoding"] == "continuous"
    assert overlap([x1, x2], [x1[:5], x2[:5]]) == {"val_samples": 5, "val_in_train": 5}
    assert overlap([x1, x2], [x1[:5], x2[5:10]])["val_in_train"] == 0  # both inputs make a sample


def test_a_watched_fit_records_each_output_of_a_list_or_dict_of_targets():
    rows, y = np.array([0, 2]), [np.arange(4), np.arange(4) * 10]
    assert [a.tolist() for a in sample_labels(y, rows, 4)] == [[0, 2], [0, 20]]
    assert sample_labels({"a": np.arange(4)}, rows, 4)["a"].tolist() == [0, 2]
    assert sample_labels([1, 0, 1, 0], rows, 4).tolist() == [1, 1]  # a plain list of labels is one array
    assert sample_labels(None, rows, 4) is None


def test_lr_find_builds_a_model_without_an_input_from_one_row_of_each_listed_input():
    from kerasdoctor.tune.lr_find import _first_inputs

    x = [np.zeros((8, 3)), np.ones((8, 2))]
    first, same = _first_inputs(x, np.zeros(8))
    assert [a.shape for a in first] == [(1, 3), (1, 2)] and same is x


def test_overlap_estimated_from_the_probe_rows_scales_to_the_training_set():
    rng = np.random.default_rng(0)
    x_train = rng.normal(size=(1000, 5)).astype("float32")
    x_val = np.concatenate([x_train[::4], rng.normal(size=(250, 5)).astype("float32")])  # 250 copied of 500
    probe = x_train[rng.choice(1000, 128, replace=False)]
    record = estimated_overlap(probe, x_val, len(x_val), train_samples=1000)
    assert record["train_rows_compared"] == 128
    assert 15 <= record["train_rows_in_val"] <= 50  # about a quarter of the probe rows
    assert 150 <= record["val_in_train"] <= 400  # about 250
    assert overlap(x_train, x_val)["val_in_train"] == 250
    unknown = estimated_overlap(probe, x_val, len(x_val))  # the training set's size unknown: a lower bound
    assert unknown["val_in_train"] == unknown["train_rows_in_val"]
    clean = estimated_overlap(probe, rng.normal(size=(300, 5)).astype("float32"), 300, train_samples=1000)
    assert clean["val_in_train"] == 0


def test_a_bounded_summary_reads_at_most_its_rows_and_keeps_the_true_count():
    x = np.arange(60, dtype="float32").reshape(30, 2)
    fields, sample = bounded_summary(x, np.arange(30) % 3, seed=0, max_rows=10)
    assert fields["samples"] == 30 and fields["sampled_rows"] == 10 and len(sample) == 10
    assert sum(fields["y"]["counts"]) == 10
