"""Every rule of the catalog on synthetic RunLogs: it fires on its problem and stays silent on a healthy run."""

import math
from pathlib import Path

import pytest

from kerasdoctor.diagnose import CAUSE_ORDER, RULES, diagnose
from kerasdoctor.diagnose.rules.activations import DyingRelu, FrozenOrDeadLayer, SaturatedActivations
from kerasdoctor.diagnose.rules.data import BadInputs, BadLabels, InputNotNormalized
from kerasdoctor.diagnose.rules.gradients import ExplodingGradients, VanishingGradients
from kerasdoctor.diagnose.rules.initialization import PoorInitialization
from kerasdoctor.diagnose.rules.learning_rate import LearningRateTooHigh, LearningRateTooLow
from kerasdoctor.diagnose.rules.loss_diverged import LossDiverged
from kerasdoctor.diagnose.rules.output_loss import OutputLossMismatch
from kerasdoctor.diagnose.rules.progress import (
    LossOscillating, NotLearning, Overfitting, SlowConvergence, Underfitting,
)

from .synthetic import LogBuilder, classes_stats, dense, healthy, mlp

DOCS = Path(__file__).resolve().parents[2] / "docs" / "rules"
LN10 = math.log(10)


def test_a_healthy_run_gets_no_finding():
    assert diagnose(healthy().log) == []


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_every_rule_has_a_docs_page_a_rank_and_is_silent_on_a_healthy_run(rule):
    assert (DOCS / f"{rule.code}.md").is_file()
    assert rule.code in CAUSE_ORDER
    assert rule().check(healthy().log) is None


def test_every_docs_page_belongs_to_a_rule():
    assert {p.stem for p in DOCS.glob("*.md")} == {r.code for r in RULES}


# Data.

def test_bad_inputs_fires_on_nan_inputs_before_training():
    log = LogBuilder().data(x={"shape": [100, 8], "nan": 3, "inf": 1}).log
    finding = BadInputs().check(log)
    assert finding.severity == "error" and finding.step is None
    assert finding.evidence["nan"] == 3 and finding.evidence["inf"] == 1


def test_bad_inputs_fires_on_validation_samples_copied_from_training():
    builder = healthy()
    builder.log.append("data", split="overlap", val_samples=200, val_in_train=60)
    finding = BadInputs().check(builder.log)
    assert finding.evidence["problem"] == "train_val_overlap" and finding.evidence["shared_fraction"] == 0.3


def test_bad_inputs_tolerates_a_few_shared_samples():
    builder = healthy()
    builder.log.append("data", split="overlap", val_samples=200, val_in_train=3)
    assert BadInputs().check(builder.log) is None


def test_bad_labels_fires_on_constant_labels_and_on_extreme_imbalance():
    constant = LogBuilder().data(y=classes_stats(1, 100)).log
    assert BadLabels().check(constant).evidence["problem"] == "constant"
    skewed = LogBuilder().data(y=classes_stats(2, 1000, counts=[970, 30])).log
    finding = BadLabels().check(skewed)
    assert finding.evidence["problem"] == "imbalance" and finding.evidence["ratio"] == pytest.approx(970 / 30)


def test_bad_labels_accepts_imbalance_when_class_weight_is_passed():
    builder = LogBuilder()
    builder.log.append("run", fit={"class_weight": {0: 1.0, 1: 30.0}})
    builder.data(y=classes_stats(2, 1000, counts=[970, 30]))
    assert BadLabels().check(builder.log) is None


def test_input_not_normalized_fires_on_raw_pixels_and_on_uneven_features():
    pixels = {"shape": [100, 64], "nan": 0, "inf": 0, "min": 0.0, "max": 255.0, "mean": 90.0, "std": 80.0}
    assert InputNotNormalized().check(LogBuilder().data(x=pixels).log).evidence["max"] == 255.0
    uneven = {"shape": [100, 8], "nan": 0, "inf": 0, "min": -4.0, "max": 4.0, "mean": 0.0, "std": 1.0,
              "feature_std_min": 0.001, "feature_std_max": 3.0}
    assert InputNotNormalized().check(LogBuilder().data(x=uneven).log).evidence["feature_std_ratio"] == 3000


def test_input_not_normalized_is_silent_when_the_model_normalizes_or_embeds():
    pixels = {"shape": [100, 64], "nan": 0, "inf": 0, "min": 0.0, "max": 255.0, "mean": 90.0, "std": 80.0}
    layers = [{"name": "rescale", "class_name": "Rescaling", "activation": None, "variables": []}] + mlp()
    assert InputNotNormalized().check(LogBuilder(layers=layers).data(x=pixels).log) is None


# Output and loss.

@pytest.mark.parametrize(
    "output, units, loss, from_logits, labels, problem",
    [
        (None, 10, "sparse_categorical_crossentropy", False, classes_stats(10, 100), "logits_without_from_logits"),
        ("sigmoid", 10, "sparse_categorical_crossentropy", False, classes_stats(10, 100), "sigmoid_multiclass"),
        ("softmax", 1, "binary_crossentropy", False, classes_stats(2, 100), "softmax_single_unit"),
        ("softmax", 5, "sparse_categorical_crossentropy", False, classes_stats(10, 100), "labels_out_of_range"),
        ("softmax", 10, "mean_squared_error", False, classes_stats(10, 100), "regression_loss_on_classes"),
        ("sigmoid", 1, "mean_squared_error", False,
         {"encoding": "continuous", "min": -2.0, "max": 3.0, "std": 1.0}, "labels_out_of_range"),
        ("linear", 1, "binary_crossentropy", True,
         {"encoding": "continuous", "min": -2.0, "max": 3.0, "std": 1.0}, "labels_out_of_range"),
        ("softmax", 10, "categorical_crossentropy", False, classes_stats(10, 100), "indices_with_categorical_loss"),
    ],
)
def test_output_loss_mismatch_fires_on_each_known_mismatch(output, units, loss, from_logits, labels, problem):
    layers = mlp(classes=units, output=output)
    log = LogBuilder(layers=layers, loss=loss, from_logits=from_logits).data(y=labels).log
    finding = OutputLossMismatch().check(log)
    assert finding is not None and problem in finding.evidence["problems"]


@pytest.mark.parametrize(
    "output, units, loss, from_logits, labels",
    [
        ("softmax", 10, "sparse_categorical_crossentropy", False, classes_stats(10, 100)),
        (None, 10, "SparseCategoricalCrossentropy", True, classes_stats(10, 100)),
        ("sigmoid", 1, "binary_crossentropy", False, classes_stats(2, 100)),
        (None, 1, "mse", False, {"encoding": "continuous", "min": -2.0, "max": 3.0, "std": 1.0}),
    ],
)
def test_output_loss_mismatch_is_silent_on_matching_pairs(output, units, loss, from_logits, labels):
    log = LogBuilder(layers=mlp(classes=units, output=output), loss=loss, from_logits=from_logits).data(y=labels).log
    assert OutputLossMismatch().check(log) is None


# Initialization.

def test_poor_initialization_fires_on_zero_kernels_from_the_model_record():
    log = LogBuilder(layers=mlp(initializer="Zeros")).log
    assert PoorInitialization().check(log).evidence["problem"] == "constant_kernel"


def test_poor_initialization_fires_on_kernels_far_above_he_scale():
    builder = LogBuilder(layers=mlp(widths=(32, 16)))
    # 256 weights over 16 units: fan_in 16, He scale 0.35; RMS 80 / 16 = 5.
    builder.probe(0, weights={"hidden_1": 80.0}, sizes={"hidden_1": 256.0})
    finding = PoorInitialization().check(builder.log)
    assert finding.evidence["problem"] == "huge_scale" and finding.evidence["worst_layer"] == "hidden_1"


def test_poor_initialization_fires_on_a_deep_glorot_relu_stack_whose_signal_shrinks():
    builder = LogBuilder(layers=mlp(widths=(32,) * 8))
    stds = {f"hidden_{i}": {"std": 0.5 ** i, "dead_fraction": 0.0} for i in range(8)}
    builder.probe(0, layers=stds)
    assert PoorInitialization().check(builder.log).evidence["problem"] == "activation_mismatch"


def test_poor_initialization_is_silent_on_the_same_stack_with_he_normal():
    builder = LogBuilder(layers=mlp(widths=(32,) * 8, initializer="HeNormal"))
    builder.probe(0, layers={f"hidden_{i}": {"std": 0.5 ** i} for i in range(8)})
    assert PoorInitialization().check(builder.log) is None


# Gradients.

def test_vanishing_gradients_fires_when_the_first_layer_gets_a_ten_millionth_of_the_output_gradient():
    builder = LogBuilder(layers=mlp(widths=(32,) * 6, activation="sigmoid"))
    for step in (0, 10, 20):
        builder.probe(step, grads={"hidden_0": 1e-7, "output": 1.0})
    finding = VanishingGradients().check(builder.log)
    assert finding.severity == "error" and finding.evidence["median_ratio"] == pytest.approx(1e-7)


def test_vanishing_gradients_needs_two_probes():
    builder = LogBuilder(layers=mlp(widths=(32,) * 6)).probe(0, grads={"hidden_0": 1e-6})
    assert VanishingGradients().check(builder.log) is None


def test_exploding_gradients_fires_when_the_norm_grows_a_thousandfold():
    builder = LogBuilder()
    builder.probe(0).probe(10, grads={"hidden_0": 3000.0}).probe(20, grads={"hidden_0": 5000.0})
    finding = ExplodingGradients().check(builder.log)
    assert finding.step == 10 and finding.evidence["growth"] > 100


# Activations.

def _relu_layers(dead):
    return {name: {"dead_fraction": value, "saturated_fraction": 0.0, "std": 1.0} for name, value in dead.items()}


def test_dying_relu_fires_when_most_units_stay_dead():
    builder = LogBuilder()
    for step in (0, 10, 20):
        builder.probe(step, layers=_relu_layers({"hidden_0": 0.1, "hidden_1": 0.95}))
    finding = DyingRelu().check(builder.log)
    assert finding.severity == "error" and finding.evidence["worst_layer"] == "hidden_1"


def test_dying_relu_is_information_on_a_model_that_fitted_its_data():
    # Zoo seed 77: 70% of a layer dead, the training loss 3-9% of the trivial loss, 0.99 accuracy.
    builder = LogBuilder().data()
    for step, loss in ((0, 2.0), (10, 0.3), (20, 0.1)):
        builder.probe(step, layers=_relu_layers({"hidden_1": 0.95}))
        builder.epoch(step // 10, loss=loss)
    finding = DyingRelu().check(builder.log)
    assert finding.severity == "info" and finding.evidence["fit_to_trivial"] < 0.5
    assert DyingRelu(trained_well=0.01).check(builder.log).severity == "error"


def test_dying_relu_ignores_a_layer_that_recovered():
    builder = LogBuilder()
    for step, dead in ((0, 0.9), (10, 0.9), (20, 0.3)):
        builder.probe(step, layers=_relu_layers({"hidden_1": dead}))
    assert DyingRelu().check(builder.log) is None


def test_saturated_activations_fires_on_saturated_tanh_layers():
    builder = LogBuilder(layers=mlp(activation="tanh"))
    for step in (0, 10):
        builder.probe(step, layers={"hidden_0": {"saturated_fraction": 0.8, "dead_fraction": 0.0}})
    assert SaturatedActivations().check(builder.log).evidence["worst_layer"] == "hidden_0"


def test_a_saturated_sigmoid_output_of_a_model_with_two_outputs_is_not_a_saturated_hidden_layer():
    layers = [dense("hidden_0", 32, "tanh"), dense("kind", 1, "sigmoid"), dense("size", 1, None)]
    builder = LogBuilder(layers=layers)
    builder.log.model["output_names"] = ["kind", "size"]
    for step in (0, 10):
        builder.probe(step, layers={"kind": {"saturated_fraction": 0.9, "dead_fraction": 0.0}})
    assert SaturatedActivations().check(builder.log) is None
    for step in (20, 30):
        builder.probe(step, layers={"kind": {"saturated_fraction": 0.9, "dead_fraction": 0.0},
                                    "hidden_0": {"saturated_fraction": 0.8, "dead_fraction": 0.0}})
    assert SaturatedActivations().check(builder.log).evidence["layers"] == {"hidden_0": 0.8}


def test_frozen_or_dead_layer_fires_on_a_kernel_without_gradient():
    builder = LogBuilder()
    for step in (0, 10, 20):
        builder.probe(step, grads={"hidden_0": 0.0})
    finding = FrozenOrDeadLayer().check(builder.log)
    assert finding.severity == "warning" and finding.evidence["layers"] == ["hidden_0"]


def test_frozen_or_dead_layer_reports_frozen_layers_as_information():
    layers = [dense("hidden_0", 32, trainable=False), dense("output", 10, "softmax")]
    assert FrozenOrDeadLayer().check(LogBuilder(layers=layers).log).severity == "info"


# Learning rate.

def test_learning_rate_too_high_fires_when_steps_move_weights_by_a_fifth():
    builder = LogBuilder(lr=1.0)
    for step in (0, 1, 2, 4, 8):
        builder.probe(step, per_step=0.2)
    finding = LearningRateTooHigh().check(builder.log)
    assert finding.severity == "error" and finding.evidence["early_update_ratio"] == pytest.approx(0.2)


def test_learning_rate_too_high_fires_when_the_loss_blows_up_in_the_first_epoch():
    builder = LogBuilder(lr=1.0)
    for step, loss in ((0, 2.3), (1, 3.0), (2, 40.0)):
        builder.probe(step, loss=loss)
    assert LearningRateTooHigh().check(builder.log).step == 2


def _jolted_start(later_losses, **epoch_logs):
    """A run whose probe loss blows up in the first epoch, then epochs with ``later_losses``."""
    builder = LogBuilder(lr=1.0).data()
    for step, loss in ((0, 2.3), (1, 3.0), (2, 40.0), (4, 30.0), (8, 2.0), (16, 1.0)):
        builder.probe(step, loss=loss)
    for epoch, loss in enumerate(later_losses):
        builder.epoch(epoch, loss=loss, **{key: values[epoch] for key, values in epoch_logs.items()})
        builder.probe(10 * (epoch + 2), epoch=epoch + 1, loss=loss)
    return builder


def test_a_jolted_start_the_run_recovered_from_is_information():
    # Zoo seeds 259, 362 and 397: the probe loss rose 4-10x in the first steps, then the models
    # trained to 3-14% of the trivial loss.
    log = _jolted_start([1.0, 0.3, 0.1]).log
    finding = LearningRateTooHigh().check(log)
    assert finding.severity == "error" and finding.evidence["recovered_to_trivial"] < 0.5
    reported = {f.code: f for f in diagnose(log)}
    assert reported["LEARNING_RATE_TOO_HIGH"].severity == "info" and "recovered" in reported["LEARNING_RATE_TOO_HIGH"].message
    assert reported["LOSS_DIVERGED"].severity == "info"  # the spike came back within 4x of its best


def test_a_jolted_start_stays_an_error_beside_another_training_problem():
    # As the BiLSTM at 1000x its learning rate of the fault benchmark: its loss came down, and
    # its gradients still explode. Here the other problem is an overfit.
    builder = _jolted_start([1.0, 0.3, 0.1, 0.05, 0.02], val_loss=[1.0, 0.8, 1.5, 2.0, 2.5],
                            accuracy=[0.7, 0.9, 1.0, 1.0, 1.0], val_accuracy=[0.7, 0.75, 0.72, 0.7, 0.7])
    codes = {f.code: f.severity for f in diagnose(builder.log)}
    assert codes["LEARNING_RATE_TOO_HIGH"] == "error" and codes["OVERFITTING"] == "warning"
    assert LearningRateTooHigh().check(_jolted_start([2.2, 2.1, 2.0]).log).evidence.get("recovered_to_trivial") is None


def test_loss_diverged_marks_a_spike_the_run_came_back_from():
    # Zoo seed 293: the probe loss jumped to 30x its best, then came back within 2x of it.
    builder = LogBuilder().data()
    probes = ((0, 2.3), (10, 1.0), (20, 0.5), (30, 0.3), (40, 0.2), (50, 0.1), (55, 3.0), (60, 2.5),
              (70, 0.4), (80, 0.2), (90, 0.15), (100, 0.13), (110, 0.12), (120, 0.11))
    for step, loss in probes:
        builder.probe(step, loss=loss)
    for epoch, loss in enumerate((0.6, 0.3, 0.15, 0.12)):
        builder.epoch(epoch, loss=loss, steps=30)
    finding = LossDiverged().check(builder.log)
    assert finding.evidence["recovered_to_trivial"] < 0.5
    assert [f.severity for f in diagnose(builder.log) if f.code == "LOSS_DIVERGED"] == ["info"]
    builder.probe(130, loss=2.0)  # ends far above its best: not recovered
    assert "recovered_to_trivial" not in LossDiverged().check(builder.log).evidence


def test_learning_rate_too_low_fires_on_tiny_steps_and_a_flat_loss():
    builder = LogBuilder(lr=1e-7).data()
    for step in (0, 1, 2, 4, 8, 16):
        builder.probe(step, per_step=1e-6, loss=LN10 - 1e-4 * step)
    finding = LearningRateTooLow().check(builder.log)
    assert finding.evidence["early_update_ratio"] == pytest.approx(1e-6)


def test_learning_rate_too_low_is_silent_when_the_loss_falls_despite_small_steps():
    builder = LogBuilder(lr=1e-4).data()
    for step, loss in ((0, 2.3), (1, 2.0), (2, 1.6), (4, 1.2), (8, 0.9)):
        builder.probe(step, per_step=5e-5, loss=loss)
    assert LearningRateTooLow().check(builder.log) is None


# The loss curve.

def test_loss_oscillating_fires_when_the_probe_loss_swings_up_and_down():
    builder = LogBuilder().data()
    for index, step in enumerate(range(0, 80, 10)):
        builder.probe(step, loss=2.3 + (0.5 if index % 2 else 0.0))
    assert LossOscillating().check(builder.log).evidence["rise_to_fall_ratio"] >= 0.5


def test_loss_oscillating_is_silent_on_a_loss_that_wobbles_down_out_of_its_band():
    # The IMDB Transformer's healthy seed 0 of the fault benchmark: over the second half the
    # probe loss rose 40% as much as it fell, yet fell from 0.55 to 0.32 of the trivial loss,
    # four times the spread of its wobbles around that trend.
    falling, flat = LogBuilder().data(), LogBuilder().data()
    for index, step in enumerate(range(0, 160, 10)):
        wobble = 0.04 if index % 2 else -0.04  # rises 45% as large as the falls
        falling.probe(step, loss=LN10 * (0.9 - 0.03 * index + wobble))
        flat.probe(step, loss=LN10 * (0.5 + wobble))
    assert LossOscillating().check(falling.log) is None
    finding = LossOscillating().check(flat.log)
    assert finding.evidence["trend_fall_to_trivial"] < finding.evidence["band"] * finding.evidence["spread_to_trivial"]
    assert LossOscillating(band=100.0).check(falling.log) is not None


def test_not_learning_fires_at_the_trivial_loss_and_chance_accuracy():
    builder = LogBuilder().data().data("val")
    for epoch in range(3):
        builder.epoch(epoch, loss=2.29, val_loss=2.3, accuracy=0.1, val_accuracy=0.11)
    finding = NotLearning().check(builder.log)
    assert finding.evidence["trivial_loss"] == pytest.approx(LN10)


def test_not_learning_says_below_chance_when_the_accuracy_is_below_it():
    builder = LogBuilder().data().data("val")
    for epoch in range(3):
        builder.epoch(epoch, loss=2.29, val_loss=2.3, accuracy=0.1, val_accuracy=0.06)
    assert "accuracy 0.060 is below chance (0.100" in NotLearning().check(builder.log).message


def test_not_learning_waits_for_two_epochs():
    builder = LogBuilder().data().data("val").epoch(0, loss=2.3, accuracy=0.1, val_accuracy=0.1)
    assert NotLearning().check(builder.log) is None


def test_slow_convergence_reports_a_loss_still_falling_far_from_done():
    builder = LogBuilder().data()
    for epoch, loss in enumerate((2.0, 1.9, 1.8, 1.7, 1.6, 1.5)):
        builder.epoch(epoch, loss=loss)
    assert SlowConvergence().check(builder.log).severity == "info"


def test_overfitting_fires_on_a_large_loss_and_accuracy_gap():
    builder = LogBuilder().data()
    for epoch in range(5):
        builder.epoch(epoch, loss=0.5 / (epoch + 1), val_loss=0.6 + 0.1 * epoch, accuracy=0.99, val_accuracy=0.8)
    assert Overfitting().check(builder.log).evidence["ratio"] > 2


def test_overfitting_is_silent_when_accuracy_agrees():
    builder = LogBuilder().data()
    for epoch in range(5):
        builder.epoch(epoch, loss=0.05, val_loss=0.5, accuracy=0.95, val_accuracy=0.94)
    assert Overfitting().check(builder.log) is None


def test_overfitting_is_silent_while_the_validation_loss_still_improves():
    # A gap between the losses with validation still at its best at the end: stopping earlier
    # would not help (zoo seed 16: ratio 2.03, best validation loss at the last of 51 epochs).
    builder = LogBuilder().data()
    for epoch in range(20):
        builder.epoch(epoch, loss=0.5 / (epoch + 1), val_loss=0.9 - 0.01 * epoch, accuracy=0.99, val_accuracy=0.85)
    assert Overfitting().check(builder.log) is None
    for epoch in range(20, 23):  # then it stalls above its best for the last tenth of the run
        builder.epoch(epoch, loss=0.02, val_loss=0.8, accuracy=0.99, val_accuracy=0.85)
    assert Overfitting().check(builder.log).evidence["best_val_epoch"] == 20


def test_underfitting_fires_on_a_bottleneck_narrower_than_the_output():
    builder = LogBuilder(layers=mlp(widths=(32, 2))).data()
    for epoch, loss in enumerate((2.2, 2.0, 1.8, 1.6)):
        builder.epoch(epoch, loss=loss, val_loss=loss * 1.01)
    assert Underfitting().check(builder.log).evidence["bottleneck"] == ["hidden_1", 2, 10]


def test_a_narrow_head_of_a_model_with_two_outputs_is_not_a_bottleneck():
    layers = [dense("hidden_0", 32), dense("ink", 1, None), dense("digit", 10, "softmax")]
    builder = LogBuilder(layers=layers).data()
    for epoch, loss in enumerate((2.0, 1.6, 1.3, 1.2)):
        builder.epoch(epoch, loss=loss, val_loss=loss)
    # Read as one output, the one-unit layer before it would be a bottleneck...
    assert Underfitting().check(builder.log).evidence["bottleneck"] == ["ink", 1, 10]
    # ...but it is an output of its own.
    builder.log.model["output_names"] = ["ink", "digit"]
    assert Underfitting().check(builder.log) is None


def test_underfitting_fires_on_a_high_plateau():
    builder = LogBuilder().data()
    for epoch, loss in enumerate((2.0, 1.5, 1.45, 1.45, 1.45, 1.45)):
        builder.epoch(epoch, loss=loss, val_loss=loss)
    assert "stopped improving (0.0% of it over the last 2 epochs)" in Underfitting().check(builder.log).message


def test_underfitting_and_slow_convergence_agree_on_a_loss_that_still_falls_slowly():
    builder = LogBuilder().data()
    for epoch, loss in enumerate((2.2, 2.0, 1.9, 1.86, 1.82, 1.78)):
        builder.epoch(epoch, loss=loss, val_loss=loss)
    underfit, slow = Underfitting().check(builder.log).message, SlowConvergence().check(builder.log).message
    assert "improves only slowly (3.5% of it over the last 2 epochs)" in underfit and "stopped" not in underfit
    assert "still falling (3.5% of it over the last 2 epoch(s))" in slow


def test_underfitting_says_the_loss_rose_when_it_rose():
    builder = LogBuilder().data()
    for epoch, loss in enumerate((2.0, 1.5, 1.45, 1.45, 1.5, 1.6)):
        builder.epoch(epoch, loss=loss, val_loss=loss)
    message = Underfitting().check(builder.log).message
    assert "rose by 6.5% of it over the last 2 epochs" in message and "stopped improving" not in message


# Ranking.

def test_root_cause_comes_first_and_its_symptoms_point_to_it():
    builder = LogBuilder(lr=1.0).data().data("val")
    for step, loss in ((0, 2.3), (1, 9.0), (2, 30.0), (4, 30.0), (8, 30.0)):
        builder.probe(step, loss=loss, per_step=0.3)
    for epoch in range(3):
        builder.epoch(epoch, loss=30.0, val_loss=30.0, accuracy=0.1, val_accuracy=0.1)
    findings = diagnose(builder.log)
    assert findings[0].code == "LEARNING_RATE_TOO_HIGH"
    assert {"LOSS_DIVERGED", "NOT_LEARNING"} <= {f.code for f in findings}
    assert all(f.caused_by == "LEARNING_RATE_TOO_HIGH" for f in findings[1:] if f.severity != "info")


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_every_rule_survives_an_empty_log(rule):
    assert rule().check(LogBuilder().log) is None or rule.code == "POOR_INITIALIZATION"
