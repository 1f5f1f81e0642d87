"""Rules on synthetic RunLogs for the cases a user hits off the tuned path: other losses and
label shapes, a zero-initialized output unit, unrelated findings, crashes and old logs."""

import math

import pytest

from kerasdoctor.diagnose.rules.initialization import PoorInitialization
from kerasdoctor.diagnose.rules.learning_rate import LearningRateTooHigh
from kerasdoctor.diagnose.rules.output_loss import OutputLossMismatch
from kerasdoctor.diagnose.rules.progress import NotLearning, Underfitting
from kerasdoctor.diagnose.series import trivial_loss

from .synthetic import LogBuilder, classes_stats, dense, mlp


def _regression_targets(values):
    """The label summary the data statistics write for 1-D continuous targets."""
    import numpy as np

    from kerasdoctor.monitor.datastats import summarize

    return summarize(np.zeros((len(values), 2)), np.asarray(values, "float64"))["y"]


TARGETS = [float(v) for v in [0.1, 0.4, 0.5, 0.9, 1.3, 2.0, 2.2, 3.1, 4.0, 9.0] * 10]
MEDIAN = sorted(TARGETS)[len(TARGETS) // 2]


def _regression_log(loss, config=None):
    builder = LogBuilder(layers=mlp(classes=1, output=None), loss=loss)
    builder.log.model["loss"]["config"].update(config or {})
    return builder.data(y=_regression_targets(TARGETS)).data("val", y=_regression_targets(TARGETS))


def test_the_trivial_mae_is_the_mean_absolute_deviation_from_the_median():
    expected = sum(abs(v - MEDIAN) for v in TARGETS) / len(TARGETS)
    assert trivial_loss(_regression_log("mean_absolute_error").log) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(
    "loss, config, function",
    [
        ("huber", {"delta": 1.0}, lambda e: 0.5 * e * e if abs(e) <= 1 else abs(e) - 0.5),
        ("log_cosh", {}, lambda e: math.log(math.cosh(e))),
        ("mean_squared_error", {}, lambda e: e * e),
        ("mean_absolute_percentage_error", {}, None),
    ],
)
def test_the_trivial_loss_is_the_best_constant_prediction(loss, config, function):
    value = trivial_loss(_regression_log(loss, config).log)
    assert value is not None and value > 0
    if function is not None:  # no constant does better, the best one found does about as well
        best = min(sum(function(v - c / 100) for v in TARGETS) / len(TARGETS) for c in range(0, 1000))
        assert value == pytest.approx(best, rel=0.03)


@pytest.mark.parametrize("loss", ["mean_absolute_error", "huber", "log_cosh", "mean_squared_logarithmic_error"])
def test_not_learning_fires_for_regression_losses_other_than_mse(loss):
    builder = _regression_log(loss)
    trivial = trivial_loss(builder.log)
    for epoch in range(3):
        builder.epoch(epoch, loss=trivial * 1.01, val_loss=trivial * 1.02)
    assert NotLearning().check(builder.log) is not None


def test_underfitting_fires_for_a_huber_regression_stalled_at_two_thirds_of_the_trivial_loss():
    builder = _regression_log("huber")
    trivial = trivial_loss(builder.log)
    for epoch, share in enumerate((0.8, 0.7, 0.68, 0.68, 0.68, 0.68)):
        builder.epoch(epoch, loss=trivial * share, val_loss=trivial * share)
    assert Underfitting().check(builder.log) is not None


def test_the_trivial_binary_crossentropy_of_multi_hot_labels_averages_the_labels():
    rates = [0.5, 0.1]
    y = {"shape": [100, 2], "nan": 0, "inf": 0, "min": 0.0, "max": 1.0, "mean": 0.3,
         "encoding": "multi_hot", "labels": 2, "positive_rates": rates}
    log = LogBuilder(layers=mlp(classes=2, output="sigmoid"), loss="binary_crossentropy").data(y=y).log
    entropy = lambda p: -(p * math.log(p) + (1 - p) * math.log(1 - p))
    assert trivial_loss(log) == pytest.approx((entropy(0.5) + entropy(0.1)) / 2)


def test_label_smoothing_raises_the_trivial_crossentropy():
    y = dict(classes_stats(3, 100, counts=[50, 30, 20]), encoding="one_hot")
    plain = LogBuilder(loss="categorical_crossentropy").data(y=y)
    smoothed = LogBuilder(loss="categorical_crossentropy").data(y=y)
    smoothed.log.model["loss"]["config"]["label_smoothing"] = 0.1
    prior = [0.5, 0.3, 0.2]
    assert trivial_loss(plain.log) == pytest.approx(-sum(p * math.log(p) for p in prior))
    assert trivial_loss(smoothed.log) > trivial_loss(plain.log)


# A zero-initialized output unit.

def _zero_output_unit():
    layers = [dense("hidden", 16), dense("output", 1, "sigmoid", initializer="Zeros")]
    builder = LogBuilder(layers=layers, loss="binary_crossentropy").data(y=classes_stats(2, 100))
    builder.probe(0, weights={"output": 0.0}, per_step=0.002)
    for step in (1, 2, 4, 8):
        builder.probe(step, per_step=0.002)
    # The output kernel grows from zero: each of its first updates is most of its norm.
    for probe in builder.log.probes[1:]:
        probe["variables"]["m/output/kernel"]["update_ratio"] = 0.9
    return builder


def test_poor_initialization_does_not_call_a_single_zero_initialized_unit_symmetric():
    assert PoorInitialization().check(_zero_output_unit().log) is None


def test_poor_initialization_still_fires_on_a_zero_initialized_hidden_layer():
    layers = [dense("hidden", 16, initializer="Zeros"), dense("output", 1, "sigmoid")]
    log = LogBuilder(layers=layers, loss="binary_crossentropy").log
    assert PoorInitialization().check(log).evidence["layers"] == ["hidden"]


def test_learning_rate_too_high_ignores_update_ratios_of_a_kernel_that_started_at_zero():
    assert LearningRateTooHigh().check(_zero_output_unit().log) is None


# Old logs.

def test_an_old_log_that_called_sparse_sequence_labels_one_hot_is_not_a_sparse_loss_error():
    old = {"shape": [60, 6], "nan": 0, "inf": 0, "min": 0.0, "max": 4.0, "mean": 2.0, "std": 1.4,
           "encoding": "one_hot", "classes": [0, 1, 2, 3, 4, 5], "counts": [10] * 6, "num_classes": 6}
    layers = mlp(classes=5)
    layers[-1]["output_shape"] = [None, 6, 5]
    log = LogBuilder(layers=layers).data(y=old).log
    log.model["output_shape"] = [None, 6, 5]
    assert OutputLossMismatch().check(log) is None


def test_underfitting_reads_the_fit_of_a_dropout_model_on_its_validation_loss():
    # Heavy Dropout holds the training loss (training mode) at 65% of the trivial loss while the
    # same weights reach 38% of it on validation (inference mode), where they stopped improving:
    # the model fits; the training loss is the thinned network's.
    binary = [float(v) for v in [0, 1] * 50]
    builder = LogBuilder(layers=mlp(classes=1, output="sigmoid"), loss="binary_crossentropy")
    builder.data(y=_regression_targets(binary)).data("val", y=_regression_targets(binary))
    trivial = trivial_loss(builder.log)
    for epoch in range(12):
        builder.epoch(epoch, loss=trivial * 0.65, val_loss=trivial * 0.38)
    assert Underfitting().check(builder.log) is None
    stalled = LogBuilder(layers=mlp(classes=1, output="sigmoid"), loss="binary_crossentropy")
    stalled.data(y=_regression_targets(binary)).data("val", y=_regression_targets(binary))
    for epoch in range(12):
        stalled.epoch(epoch, loss=trivial * 0.65, val_loss=trivial * 0.64)
    finding = Underfitting().check(stalled.log)
    assert finding is not None and finding.evidence["fit_to_trivial"] == pytest.approx(0.64)
