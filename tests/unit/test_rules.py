import pytest

from kerasdoctor.diagnose import diagnose, rank
from kerasdoctor.diagnose.base import Finding
from kerasdoctor.diagnose.rules.activations import FrozenOrDeadLayer
from kerasdoctor.diagnose.rules.loss_diverged import LossDiverged
from kerasdoctor.diagnose.rules.nan_or_inf import NanOrInf

from .synthetic import LogBuilder, clean_data, dense, make_log

NAN = float("nan")


def test_nan_in_the_inputs_is_reported_as_bad_inputs_with_the_nan_loss_under_it():
    data = clean_data()
    data["train"]["x"]["nan"] = 7
    findings = diagnose(make_log(losses=[NAN], data=data))
    assert [f.code for f in findings] == ["BAD_INPUTS", "NAN_OR_INF"]
    assert findings[0].step is None and "7 NaN" in findings[0].message and "impute" in findings[0].fix
    assert findings[1].caused_by == "BAD_INPUTS"


def test_nan_or_inf_fires_on_the_first_non_finite_gradient():
    rows = {1: {"dense/kernel": {"grad_norm": NAN, "nonfinite_grad": 12.0, "nonfinite_weight": 0.0}}}
    finding = NanOrInf().check(make_log(probe_losses=[2.0, 3.0, NAN], probe_rows=rows, data=clean_data()))
    assert finding.step == 10
    assert finding.evidence["source"] == "gradient" and finding.evidence["variable"] == "dense/kernel"


def test_nan_or_inf_fires_on_a_nan_epoch_loss():
    finding = NanOrInf().check(make_log(losses=[2.0, NAN], data=clean_data()))
    assert finding.evidence["source"] == "epoch_logs" and finding.step == 20


def test_nan_or_inf_is_silent_on_a_finite_run():
    assert NanOrInf().check(make_log(losses=[2.0, 1.0], probe_losses=[2.0, 1.5], data=clean_data())) is None


def test_loss_diverged_fires_when_loss_exceeds_factor_times_best_and_its_start():
    finding = LossDiverged(factor=4.0).check(make_log(probe_losses=[2.3, 1.0, 0.9, 5.0, 40.0]))
    assert finding.code == "LOSS_DIVERGED" and finding.step == 30
    assert finding.evidence["best_loss"] == 0.9 and finding.evidence["loss"] == 5.0


def test_loss_diverged_fires_when_a_finite_loss_turns_nan():
    finding = LossDiverged().check(make_log(losses=[2.3, 2.0, NAN]))
    assert finding.evidence["became"] == "non-finite" and finding.step == 30


def test_loss_diverged_is_silent_on_a_noisy_but_falling_loss():
    assert LossDiverged().check(make_log(probe_losses=[2.3, 1.2, 1.4, 0.6, 0.9, 0.3], losses=[1.5, 0.8, 0.5])) is None


def test_loss_diverged_ignores_a_rebound_that_stays_below_the_start():
    # 0.01 -> 0.08 is 8x the best, but far below the initial 2.3: noise near zero, not divergence.
    assert LossDiverged().check(make_log(probe_losses=[2.3, 0.01, 0.08])) is None


def test_loss_diverged_rejects_a_factor_that_is_not_above_one():
    with pytest.raises(ValueError, match="factor"):
        LossDiverged(factor=1.0)


def test_findings_put_bad_data_before_divergence_and_divergence_before_nan():
    data_nan = Finding("BAD_INPUTS", "error", None, "m", {"problem": "non_finite"}, "f")
    training_nan = Finding("NAN_OR_INF", "error", 5, "m", {"source": "loss"}, "f")
    diverged = Finding("LOSS_DIVERGED", "error", 3, "m", {}, "f")
    assert rank([training_nan, diverged]) == [diverged, training_nan]
    assert rank([diverged, data_nan]) == [data_nan, diverged]


def test_diagnose_reports_divergence_as_the_root_cause_of_a_nan_loss():
    findings = diagnose(make_log(probe_losses=[2.3, 50.0, NAN], losses=[NAN], data=clean_data()))
    assert [f.code for f in findings] == ["LOSS_DIVERGED", "NAN_OR_INF"]


def test_finding_rejects_an_unknown_severity():
    with pytest.raises(ValueError, match="Severity"):
        Finding("X", "fatal", None, "m")


def test_finding_to_dict_has_the_public_fields():
    assert set(Finding("X", "info", 1, "m", {"a": 1}, "f").to_dict()) == {
        "code", "severity", "step", "message", "evidence", "fix", "caused_by"}


# FROZEN_OR_DEAD_LAYER: frozen layers judged by whether the model fits.

def _frozen_run(losses):
    layers = [dense("backbone", 64, trainable=False, params=4800), dense("output", 10, "softmax")]
    builder = LogBuilder(layers=layers).data()
    for epoch, loss in enumerate(losses):
        builder.epoch(epoch, loss, val_loss=loss)
    return builder.log


def test_frozen_layers_are_a_warning_when_the_model_stalls_far_from_a_fit():
    finding = FrozenOrDeadLayer().check(_frozen_run([2.29, 2.25, 2.2, 2.18]))
    assert finding.severity == "warning" and finding.evidence["problem"] == "frozen_stalled"
    assert finding.evidence["layers"] == ["backbone"] and finding.evidence["fit_to_trivial"] > 0.9


def test_frozen_layers_stay_information_when_the_model_fits_through_them():
    finding = FrozenOrDeadLayer().check(_frozen_run([1.2, 0.6, 0.4, 0.3]))
    assert finding.severity == "info" and finding.evidence["problem"] == "frozen"


def test_frozen_layers_are_not_judged_by_the_loss_before_min_epochs():
    assert FrozenOrDeadLayer().check(_frozen_run([2.3, 2.3])).severity == "info"


def test_frozen_or_dead_layer_refuses_a_stalled_loss_outside_zero_to_one():
    with pytest.raises(ValueError, match="stalled_loss"):
        FrozenOrDeadLayer(stalled_loss=1.5)
