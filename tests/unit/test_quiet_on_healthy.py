"""Rules stay quiet on the healthy patterns of long runs and still fire on the faults they exist for."""

import math

import numpy as np
import pytest

from kerasdoctor.diagnose import blocking, diagnose
from kerasdoctor.diagnose.rules.activations import SaturatedActivations
from kerasdoctor.diagnose.rules.progress import LossOscillating
from tests.unit.synthetic import LogBuilder, mlp

LN10 = math.log(10)


def _swinging_probes(builder, epochs, steps_per_epoch=10):
    """Probe losses that jump between 0.2 and 0.4 of ln 10 at every probe, all run long."""
    steps = range(0, epochs * steps_per_epoch + 1, steps_per_epoch // 2)
    for index, step in enumerate(steps):
        builder.probe(step, epoch=step // steps_per_epoch, loss=LN10 * (0.4 if index % 2 else 0.2))
    return builder


def test_loss_oscillating_is_quiet_when_only_the_training_mode_probe_swings():
    # Dropout draws a new mask at every probe: the probe loss swings while the validation loss,
    # computed without dropout, falls smoothly. The weights have settled.
    builder = _swinging_probes(LogBuilder().data().data("val"), epochs=40)
    for epoch in range(40):
        builder.epoch(epoch, loss=0.7, val_loss=0.5 * 0.98 ** epoch)
    assert LossOscillating().check(builder.log) is None


def test_loss_oscillating_fires_when_the_validation_loss_swings_with_the_probe():
    builder = _swinging_probes(LogBuilder().data().data("val"), epochs=40)
    for epoch in range(40):
        builder.epoch(epoch, loss=0.7, val_loss=LN10 * (0.45 if epoch % 2 else 0.25))
    finding = LossOscillating().check(builder.log)
    assert finding is not None
    assert finding.evidence["epoch_curve"] == "val_loss"
    assert 0.5 <= finding.evidence["epoch_rise_to_fall_ratio"] <= 2.0
    assert "validation loss swings too" in finding.message


def test_loss_oscillating_reads_the_training_curve_without_validation():
    quiet = _swinging_probes(LogBuilder().data(), epochs=40)
    loud = _swinging_probes(LogBuilder().data(), epochs=40)
    for epoch in range(40):
        quiet.epoch(epoch, loss=2.0 * 0.97 ** epoch)
        loud.epoch(epoch, loss=LN10 * (0.45 if epoch % 2 else 0.25))
    assert LossOscillating().check(quiet.log) is None
    assert LossOscillating().check(loud.log).evidence["epoch_curve"] == "loss"


def test_loss_oscillating_judges_a_short_run_by_its_probes_alone():
    # Batch size 1 with momentum for 3 epochs: too few epoch ends to tell, the probes decide.
    builder = _swinging_probes(LogBuilder().data().data("val"), epochs=3, steps_per_epoch=400)
    for epoch, val_loss in enumerate((0.9, 0.6, 0.55)):
        builder.epoch(epoch, loss=0.7, val_loss=val_loss, steps=400)
    finding = LossOscillating().check(builder.log)
    assert finding is not None and "epoch_curve" not in finding.evidence


def test_loss_oscillating_asks_the_epoch_curve_from_four_epoch_ends_in_the_window():
    # An 8-epoch run (a prefix of a longer one): 4 epoch ends in the second half, a validation
    # loss that only falls there, and a probe loss that swings (Dropout): the weights settle.
    builder = _swinging_probes(LogBuilder().data().data("val"), epochs=8)
    for epoch in range(8):
        builder.epoch(epoch, loss=0.7, val_loss=0.8 * 0.9 ** epoch)
    assert LossOscillating().check(builder.log) is None
    assert LossOscillating(min_epochs=6).check(builder.log) is not None  # the earlier default


def test_loss_oscillating_epoch_check_does_not_depend_on_the_number_of_epochs():
    rng = np.random.default_rng(0)
    for epochs in (20, 200):
        builder = _swinging_probes(LogBuilder().data().data("val"), epochs=epochs)
        for epoch in range(epochs):
            smooth = 0.3 + 0.5 * math.exp(-epoch / (epochs / 4)) + rng.normal(scale=0.002)
            builder.epoch(epoch, loss=0.7, val_loss=smooth)
        assert LossOscillating().check(builder.log) is None, epochs


def _saturated_run(final_loss):
    """Hidden sigmoid layers with 80% of their outputs saturated at every probe."""
    builder = LogBuilder(layers=mlp(widths=(32, 16), activation="sigmoid")).data()
    saturated = {name: {"saturated_fraction": 0.8} for name in ("hidden_0", "hidden_1")}
    for step in range(0, 60, 10):
        builder.probe(step, loss=LN10, layers=saturated)
    for epoch, loss in enumerate(np.linspace(LN10, final_loss, 6)):
        builder.epoch(epoch, loss=float(loss))
    return builder.log


def test_saturated_activations_is_quiet_when_the_model_fitted_its_data():
    assert SaturatedActivations().check(_saturated_run(final_loss=0.1 * LN10)) is None


def test_saturated_activations_fires_while_the_loss_stays_near_the_trivial_loss():
    finding = SaturatedActivations().check(_saturated_run(final_loss=0.9 * LN10))
    assert finding is not None
    assert finding.evidence["fit_to_trivial"] == pytest.approx(0.9)
    assert "90% of the trivial loss" in finding.message


def test_saturated_activations_judges_by_saturation_alone_without_a_trivial_loss():
    log = _saturated_run(final_loss=0.1 * LN10)
    log.records = [r for r in log.records if r.get("type") != "data"]
    assert SaturatedActivations().check(log) is not None


def _swinging_losses(accuracies, epochs=40, val_samples=10_000):
    """A classifier whose probe and validation losses swing, with the given validation accuracy
    at each epoch end (cycled)."""
    builder = _swinging_probes(LogBuilder().data().data("val", samples=val_samples), epochs=epochs)
    for epoch in range(epochs):
        builder.epoch(epoch, loss=0.7, val_loss=LN10 * (0.45 if epoch % 2 else 0.25), accuracy=0.99,
                      val_accuracy=accuracies[epoch % len(accuracies)])
    return builder


def test_loss_oscillating_is_quiet_when_the_loss_swings_and_the_accuracy_holds_still():
    # A high learning rate on an easy task: a few confident mistakes come and go, so the
    # cross-entropy swings, while the predictions, and the accuracy, stay put.
    steady = _swinging_losses([0.95, 0.96])
    assert LossOscillating().check(steady.log) is None
    # One point of accuracy from epoch to epoch is 1.1% of the room above chance (0.1).
    assert LossOscillating(min_metric_swing=0.01).check(steady.log) is not None


def test_loss_oscillating_is_quiet_when_the_accuracy_swings_less_than_its_standard_error():
    # Zoo seed 486 (breast cancer, 143 validation samples): the validation accuracy moved by a
    # median of 0.014 an epoch, one or two samples, while its standard error is about 0.017.
    # Here: 4 points an epoch, 4.4% of the room above chance (above min_metric_swing), which on
    # 40 samples is 1.6 samples and below the standard error sqrt(0.9 * 0.1 / 40) = 0.047.
    swing = [0.88, 0.92]
    assert LossOscillating().check(_swinging_losses(swing, val_samples=40).log) is None
    large = LossOscillating().check(_swinging_losses(swing, val_samples=10_000).log)
    assert large is not None
    # sqrt(p (1 - p) / n) at the window's median accuracy, one of the two levels, over 1 - chance.
    error = large.evidence["metric_standard_error_to_room"] * 0.9
    assert any(error == pytest.approx((p * (1 - p) / 10_000) ** 0.5) for p in swing)


def test_loss_oscillating_fires_when_the_accuracy_swings_with_the_loss():
    finding = LossOscillating().check(_swinging_losses([0.9, 0.7]).log)
    assert finding is not None
    assert finding.evidence["metric"] == "val_accuracy"
    assert finding.evidence["metric_median_swing_to_room"] == pytest.approx(0.2 / 0.9)


def test_loss_oscillating_reads_the_training_accuracy_without_validation():
    builder = _swinging_probes(LogBuilder().data(), epochs=40)
    for epoch in range(40):
        builder.epoch(epoch, loss=LN10 * (0.45 if epoch % 2 else 0.25), accuracy=0.95 + 0.001 * (epoch % 2))
    assert LossOscillating().check(builder.log) is None


def test_loss_oscillating_rejects_a_metric_swing_outside_zero_to_one():
    for value in (0, 1.5):
        with pytest.raises(ValueError, match="min_metric_swing"):
            LossOscillating(min_metric_swing=value)


def _overfit_after_epoch_5(restored_epoch=None, samples=100, val_accuracy=0.9):
    """Training loss to zero, validation loss best at epoch 5 (0-based) and 3x higher at the end;
    training accuracy 1.0 from epoch 10. Ten classes."""
    builder = LogBuilder().data(samples=samples).data("val")
    for epoch in range(20):
        val_loss = 0.5 - 0.05 * epoch if epoch <= 5 else 0.25 + 0.05 * (epoch - 5)
        builder.epoch(epoch, loss=max(0.5 * 0.7 ** epoch, 1e-3), val_loss=val_loss, accuracy=min(1.0, 0.8 + 0.02 * epoch),
                      val_accuracy=val_accuracy)
    end = {"status": "stopped", "step": 200}
    if restored_epoch is not None:
        end["restored_epoch"] = restored_epoch
    builder.log.append("end", **end)
    return builder.log


def test_overfitting_judges_the_weights_early_stopping_restored():
    from kerasdoctor.diagnose.rules.progress import Overfitting

    assert Overfitting().check(_overfit_after_epoch_5()) is not None
    # EarlyStopping(restore_best_weights=True) gave back epoch 6's weights, at the best
    # validation loss: the epochs after it did not reach the returned model.
    assert Overfitting().check(_overfit_after_epoch_5(restored_epoch=5)) is None
    # Restored at a later epoch (it watched another metric): judged as it stood then.
    finding = Overfitting().check(_overfit_after_epoch_5(restored_epoch=15))
    assert finding is not None and finding.evidence["restored_epoch"] == 16
    assert finding.evidence["val_loss"] == pytest.approx(0.75)
    assert "weights of epoch 16, restored at the end of training" in finding.message


def test_overfitting_is_information_while_the_validation_accuracy_holds():
    # Zoo seeds 87, 110, 390, 557: the validation loss rose 30-55% above its best while the
    # validation accuracy stayed 6-7 points below the training accuracy, 300+ samples per class.
    from kerasdoctor.diagnose.rules.progress import Overfitting

    finding = Overfitting().check(_overfit_after_epoch_5(samples=3000, val_accuracy=0.94))
    assert finding.severity == "info"
    assert finding.evidence["score_gap"] == pytest.approx(0.06) and finding.evidence["samples_per_class"] == 300
    assert "over-confident" in finding.message
    assert "OVERFITTING" not in {f.code for f in blocking(diagnose(_overfit_after_epoch_5(samples=3000, val_accuracy=0.94)))}
    # The same gap is a warning at a stricter threshold.
    assert Overfitting(warn_score_gap=0.05).check(_overfit_after_epoch_5(samples=3000, val_accuracy=0.94)).severity == "warning"


def test_overfitting_is_a_warning_when_the_accuracy_gap_is_large():
    from kerasdoctor.diagnose.rules.progress import Overfitting

    finding = Overfitting().check(_overfit_after_epoch_5(samples=3000, val_accuracy=0.85))
    assert finding.severity == "warning" and finding.evidence["score_gap"] == pytest.approx(0.15)


def test_overfitting_is_a_warning_on_few_samples_per_class_whatever_the_gap():
    # The fault benchmark's tiny_data_big_model on wine and breast cancer: 13-20 samples per
    # class, and validation accuracy only 6-7 points below the training accuracy.
    from kerasdoctor.diagnose.rules.progress import Overfitting

    finding = Overfitting().check(_overfit_after_epoch_5(samples=100, val_accuracy=0.94))
    assert finding.severity == "warning" and finding.evidence["samples_per_class"] == 10
    assert "10 training samples per class" in finding.message


def test_overfitting_of_a_regression_is_a_warning():
    # Its loss is its score: a validation loss 0.15 of the trivial loss above the training
    # loss is 0.15 of R^2 lost on new data.
    from kerasdoctor.diagnose.rules.progress import Overfitting

    builder = LogBuilder(layers=mlp(classes=1, output="linear"), loss="mean_squared_error")
    y = {"shape": [1000], "nan": 0, "inf": 0, "min": -3.0, "max": 3.0, "mean": 0.0, "std": 1.0,
         "encoding": "continuous", "targets": 1, "target_std": [1.0], "target_mad": [0.8]}
    builder.data(samples=1000, y=y).data("val", samples=250, y=y)
    for epoch in range(20):
        val_loss = 0.5 - 0.05 * epoch if epoch <= 5 else 0.25 + 0.02 * (epoch - 5)
        builder.epoch(epoch, loss=max(0.5 * 0.7 ** epoch, 1e-3), val_loss=val_loss)
    finding = Overfitting().check(builder.log)
    assert finding.severity == "warning" and finding.evidence["score_gap"] == pytest.approx(0.529, abs=1e-3)


def test_a_run_that_fits_in_inference_mode_recovered_from_a_jolted_start():
    # Zoo seed 469: Adagrad at 0.78 with Dropout 0.28 and BatchNorm; the first steps moved the
    # kernels by 20% of their norm, and the training loss, computed with Dropout, stayed at 69%
    # of the trivial loss while the validation loss fell to 19% and the accuracy to 0.996.
    from kerasdoctor.diagnose.rules.learning_rate import LearningRateTooHigh

    builder = LogBuilder(lr=0.78).data().data("val")
    for step in (0, 1, 2, 4, 8):
        builder.probe(step, per_step=0.2, loss=LN10 * (1.0 if step == 0 else 1.1))
    for epoch in range(10):
        builder.epoch(epoch, loss=LN10 * 0.69, val_loss=LN10 * max(0.19, 0.9 - 0.1 * epoch),
                      accuracy=0.8, val_accuracy=min(0.99, 0.5 + 0.1 * epoch))
    finding = LearningRateTooHigh().check(builder.log)
    assert finding.evidence["recovered_to_trivial"] == pytest.approx(0.19)
    assert "LEARNING_RATE_TOO_HIGH" not in {f.code for f in blocking(diagnose(builder.log))}
