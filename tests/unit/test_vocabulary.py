"""The one vocabulary: layer families, metric directions, the objective; and its users."""

import logging

import keras
import numpy as np
import pytest

from kerasdoctor import vocabulary
from kerasdoctor.checkup import summarize_metrics
from kerasdoctor.runlog import RunLog
from kerasdoctor.tune.space import reinitialize


@pytest.mark.parametrize(
    "name, direction",
    [
        ("acc", "max"), ("val_acc", "max"), ("val_binary_accuracy", "max"), ("val_out_a_accuracy", "max"),
        ("val_auc_1", "max"), ("val_r2_score", "max"), ("val_precision", "max"),
        ("loss", "min"), ("val_mae", "min"), ("val_root_mean_squared_error", "min"), ("val_out_b_loss", "min"),
        ("val_logcosh", "min"), ("val_binary_crossentropy", "min"), ("val_false_negatives", "min"),
    ],
)
def test_metric_directions(name, direction):
    assert vocabulary.direction(name) == direction


def test_an_unknown_metric_has_no_direction_unless_a_default_is_given():
    assert vocabulary.direction("val_my_score") is None
    assert vocabulary.direction("val_my_score", default="max") == "max"


@pytest.mark.parametrize(
    "names, objective",
    [
        (["loss", "acc", "val_loss", "val_acc"], ("val_acc", "max")),
        (["loss", "binary_accuracy", "val_loss", "val_binary_accuracy"], ("val_binary_accuracy", "max")),
        (["loss", "out_accuracy", "val_loss", "val_out_accuracy"], ("val_out_accuracy", "max")),
        (["loss", "mae", "val_loss", "val_mae"], ("val_loss", "min")),
        (["loss", "accuracy"], ("accuracy", "max")),
        (["loss"], ("loss", "min")),
    ],
)
def test_the_objective_is_the_validation_accuracy_else_the_validation_loss(names, objective):
    assert vocabulary.objective(names) == objective


def test_summarized_metrics_take_their_direction_from_the_vocabulary():
    log = RunLog()
    for epoch, (auc, loss) in enumerate([(0.6, 0.9), (0.9, 0.3), (0.7, 0.5)]):
        log.append("epoch", epoch=epoch, step=epoch, seconds=1.0,
                   logs={"val_auc": auc, "val_false_negatives": loss * 10, "val_logcosh": loss})
    assert summarize_metrics(log)["best"] == {"val_auc": 0.9, "val_false_negatives": 3.0, "val_logcosh": 0.3}


def _recurrent_model():
    model = keras.Sequential([
        keras.Input((5, 3)),
        keras.layers.LSTM(4, return_sequences=True),
        keras.layers.Bidirectional(keras.layers.GRU(4)),
        keras.layers.Dense(2),
    ])
    model.compile("adam", "mse")
    return model


def test_reinitializing_with_he_normal_draws_the_recurrent_layers_input_kernels_too(caplog):
    model = _recurrent_model()
    before = {v.path: keras.ops.convert_to_numpy(v) for v in model.trainable_variables}
    with caplog.at_level(logging.INFO, logger="kerasdoctor.tune.space"):
        reinitialize(model, "he_normal", seed=3)
    after = {v.path: keras.ops.convert_to_numpy(v) for v in model.trainable_variables}
    changed = {p for p in before if not np.array_equal(before[p], after[p])}
    kernels = {p for p in before if p.endswith("/kernel")}
    assert len(kernels) == 4 and changed == kernels  # LSTM, both GRU directions, Dense
    assert "recurrent kernel(s) keep their own initializer" in caplog.text


def test_every_layer_family_is_named_once():
    families = (vocabulary.DENSE_LAYERS, vocabulary.CONV_LAYERS, vocabulary.RECURRENT_LAYERS,
                vocabulary.ATTENTION_LAYERS, vocabulary.EMBEDDING_LAYERS)
    names = [name for family in families for name in family]
    assert len(names) == len(set(names)) and set(names) == set(vocabulary.KERNEL_LAYERS)
    assert set(vocabulary.RECTIFIERS) <= set(vocabulary.RELU_FAMILY)
