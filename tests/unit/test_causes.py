"""Symptom linking: only causes the table names are linked; a crash is explained only by a
static error that predicts it."""

import kerasdoctor.diagnose as diagnosis
from kerasdoctor.diagnose import diagnose

from .synthetic import LogBuilder, classes_stats, mlp


def test_an_imbalance_warning_does_not_make_an_output_loss_error_its_symptom():
    layers = mlp(classes=2, output=None)
    builder = LogBuilder(layers=layers, loss="binary_crossentropy").data(y=classes_stats(2, 1000, counts=[970, 30]))
    findings = {f.code: f for f in diagnose(builder.log)}
    assert {"BAD_LABELS", "OUTPUT_LOSS_MISMATCH"} <= set(findings)
    assert findings["OUTPUT_LOSS_MISMATCH"].caused_by is None


def test_a_finding_the_table_does_not_link_keeps_its_own_fix():
    builder = LogBuilder(lr=1.0).data().data("val")
    builder.log.append("data", split="overlap", val_samples=200, val_in_train=60)
    for step, loss in ((0, 2.3), (1, 9.0), (2, 30.0), (4, 30.0), (8, 30.0)):
        builder.probe(step, loss=loss, per_step=0.3)
    for epoch in range(3):
        builder.epoch(epoch, loss=30.0, val_loss=30.0, accuracy=0.1, val_accuracy=0.1)
    findings = {f.code: f for f in diagnose(builder.log)}
    # Validation samples copied from training do not make the learning rate too high.
    assert findings["BAD_INPUTS"].evidence["problem"] == "train_val_overlap"
    assert findings["LEARNING_RATE_TOO_HIGH"].caused_by is None
    assert findings["LOSS_DIVERGED"].caused_by == "LEARNING_RATE_TOO_HIGH"
    assert "LOSS_DIVERGED" in diagnosis.CAUSES["LEARNING_RATE_TOO_HIGH"]


def test_a_crash_is_explained_only_by_a_static_error_that_predicts_it():
    shape_error = LogBuilder(layers=mlp(classes=10), loss="categorical_crossentropy").data().log
    assert diagnosis.crash_explanation(diagnose(shape_error))[0].code == "OUTPUT_LOSS_MISMATCH"
    imbalance = LogBuilder().data(y=classes_stats(10, 1000, counts=[910] + [10] * 9)).log
    assert [f.code for f in diagnose(imbalance)] == ["BAD_LABELS"]
    assert diagnosis.crash_explanation(diagnose(imbalance)) == []
