"""Static reading of small real Keras models (built, never fitted) and of real label arrays."""

import logging

import keras
import numpy as np
import pytest

from kerasdoctor.diagnose import diagnose
from kerasdoctor.diagnose.rules.output_loss import OutputLossMismatch
from kerasdoctor.monitor.datastats import summarize
from kerasdoctor.monitor.describe import describe_model
from kerasdoctor.runlog import RunLog


def _sequential(*layers, shape=(8,)):
    return keras.Sequential([keras.Input(shape), *layers])


def _nested():
    inner = _sequential(keras.layers.Dense(16, activation="relu"), keras.layers.Dense(3, activation="softmax"))
    inputs = keras.Input((8,))
    return keras.Model(inputs, inner(inputs))


@pytest.mark.parametrize(
    "build, expected",
    [
        (lambda: _sequential(keras.layers.Dense(3), keras.layers.Softmax()), "softmax"),
        (lambda: _sequential(keras.layers.Dense(1), keras.layers.Activation("sigmoid")), "sigmoid"),
        (lambda: _sequential(keras.layers.Dense(1), keras.layers.ReLU()), "relu"),
        (lambda: _sequential(keras.layers.Dense(1), keras.layers.LeakyReLU()), "leaky_relu"),
        (lambda: _sequential(keras.layers.Dense(3), keras.layers.Softmax(), keras.layers.Dropout(0.1)), "softmax"),
        (lambda: _sequential(keras.layers.TimeDistributed(keras.layers.Dense(3, activation="softmax")),
                             shape=(5, 4)), "softmax"),
        (lambda: _sequential(keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True)),
                             keras.layers.TimeDistributed(keras.layers.Dense(2, activation="sigmoid")),
                             shape=(5, 4)), "sigmoid"),
        (_nested, "softmax"),
        (lambda: _sequential(keras.layers.Dense(3)), "linear"),
    ],
    ids=["Softmax", "Activation", "ReLU", "LeakyReLU", "behind-Dropout", "TimeDistributed",
         "Bidirectional+TimeDistributed", "nested-model", "linear"],
)
def test_output_activation_is_read_through_activation_layers_wrappers_and_nested_models(build, expected):
    assert describe_model(build())["output_activation"] == expected


class _Unreadable(keras.layers.Layer):
    def call(self, x):
        return keras.ops.softmax(x)

    def get_config(self):
        raise RuntimeError("not serializable")


def test_a_layer_whose_get_config_fails_is_a_note_and_not_no_activation(caplog):
    model = _sequential(keras.layers.Dense(3), _Unreadable())
    with caplog.at_level(logging.WARNING, logger="kerasdoctor.monitor.describe"):
        record = describe_model(model)
        describe_model(model)
    assert record["output_activation_known"] is False
    assert any("get_config failed" in note for note in record["notes"])
    assert sum("get_config failed" in r.getMessage() for r in caplog.records) <= 1


class _CustomSoftmax(keras.layers.Layer):
    def call(self, x):
        return keras.ops.softmax(x)


def test_a_custom_output_layer_without_an_activation_setting_is_not_read_as_logits():
    model = _compiled(_sequential(keras.layers.Dense(3), _CustomSoftmax()), "sparse_categorical_crossentropy")
    record = describe_model(model)
    assert record["output_activation_known"] is False and record["notes"]
    assert _mismatch(model, RNG.integers(0, 3, 60)) is None


def _compiled(model, loss):
    model.compile(optimizer="adam", loss=loss)
    return model


def _mismatch(model, y, x=None):
    log = RunLog()
    log.append("model", **describe_model(model))
    x = np.zeros((len(y), *model.inputs[0].shape[1:]), "float32") if x is None else x
    log.append("data", split="train", **summarize(x, y))
    return OutputLossMismatch().check(log)


RNG = np.random.default_rng(0)


@pytest.mark.parametrize(
    "build",
    [
        lambda: _compiled(_sequential(keras.layers.Dense(3), keras.layers.Softmax()), "sparse_categorical_crossentropy"),
        lambda: _compiled(_sequential(keras.layers.TimeDistributed(keras.layers.Dense(3, activation="softmax")),
                                      shape=(5, 4)), "sparse_categorical_crossentropy"),
        lambda: _compiled(_nested(), "sparse_categorical_crossentropy"),
        lambda: _compiled(_sequential(keras.layers.Dense(3), _Unreadable()), "sparse_categorical_crossentropy"),
    ],
    ids=["Softmax", "TimeDistributed", "nested-model", "unreadable"],
)
def test_no_logits_without_from_logits_error_when_the_softmax_is_elsewhere(build):
    model = build()
    sequence = len(model.outputs[0].shape) == 3
    y = RNG.integers(0, 3, size=(60, 5) if sequence else 60)
    assert _mismatch(model, y) is None


def test_sparse_sequence_labels_with_a_sparse_loss_are_not_one_hot():
    model = _compiled(_sequential(keras.layers.Embedding(20, 8),
                                  keras.layers.TimeDistributed(keras.layers.Dense(2, activation="softmax")),
                                  shape=(6,)), "sparse_categorical_crossentropy")
    # Binary tags per position: 2-D rows of 0/1, the shape one-hot labels would have.
    y = np.zeros((60, 6), "int32")
    y[np.arange(60), RNG.integers(0, 6, 60)] = 1
    assert _mismatch(model, y, x=RNG.integers(0, 20, (60, 6))) is None
    tokens = RNG.integers(0, 2, (60, 6))
    assert _mismatch(model, tokens, x=RNG.integers(0, 20, (60, 6))) is None


def test_one_hot_labels_with_a_sparse_loss_are_still_an_error():
    model = _compiled(_sequential(keras.layers.Dense(3, activation="softmax")), "sparse_categorical_crossentropy")
    finding = _mismatch(model, np.eye(3)[RNG.integers(0, 3, 60)])
    assert finding is not None and "one_hot_with_sparse_loss" in finding.evidence["problems"]


@pytest.mark.parametrize(
    "y, encoding",
    [
        (RNG.integers(0, 4, 50), "index"),
        (np.eye(4)[RNG.integers(0, 4, 50)], "one_hot"),
        ((RNG.random((50, 4)) < 0.4).astype("float32"), "multi_hot"),
        (RNG.integers(0, 7, (50, 6)), "index_sequence"),
        (RNG.normal(size=50), "continuous"),
        (RNG.normal(size=(50, 3)), "continuous"),
    ],
    ids=["indices", "one-hot", "multi-hot", "sparse-sequence", "continuous", "multi-target"],
)
def test_label_encodings_are_told_apart_by_shape_and_values(y, encoding):
    stats = summarize(np.zeros((50, 2)), y)["y"]
    assert stats["encoding"] == encoding


def test_multi_target_and_multi_label_targets_are_not_summarized_as_classes():
    targets = summarize(np.zeros((50, 2)), RNG.normal(size=(50, 3)))["y"]
    multi_hot = summarize(np.zeros((50, 2)), (RNG.random((50, 4)) < 0.4).astype("float32"))["y"]
    assert "counts" not in targets and targets["targets"] == 3
    assert "counts" not in multi_hot and len(multi_hot["positive_rates"]) == 4


def test_multi_label_sigmoid_with_binary_crossentropy_is_a_match():
    model = _compiled(_sequential(keras.layers.Dense(4, activation="sigmoid")), "binary_crossentropy")
    assert _mismatch(model, (RNG.random((60, 4)) < 0.3).astype("float32")) is None


def test_softmax_with_binary_crossentropy_on_one_hot_multiclass_labels_is_a_warning():
    model = _compiled(_sequential(keras.layers.Dense(5, activation="softmax")), "binary_crossentropy")
    finding = _mismatch(model, np.eye(5)[RNG.integers(0, 5, 60)])
    assert finding.severity == "warning" and finding.evidence["problems"] == ["softmax_binary_crossentropy"]


def test_a_diagnosis_of_a_healthy_static_sequence_tagger_is_empty():
    model = _compiled(_sequential(keras.layers.Embedding(20, 8),
                                  keras.layers.Bidirectional(keras.layers.GRU(4, return_sequences=True)),
                                  keras.layers.TimeDistributed(keras.layers.Dense(5, activation="softmax")),
                                  shape=(6,)), "sparse_categorical_crossentropy")
    log = RunLog()
    log.append("model", **describe_model(model))
    log.append("data", split="train", **summarize(RNG.integers(0, 20, (60, 6)), RNG.integers(0, 5, (60, 6))))
    assert diagnose(log) == []


def test_a_wrapped_layer_is_described_by_its_own_settings_and_counts_as_a_kernel_layer():
    from kerasdoctor.diagnose.series import kernel_layers

    model = _sequential(keras.layers.TimeDistributed(keras.layers.Dense(8, activation="relu")),
                        keras.layers.Bidirectional(keras.layers.LSTM(4)), keras.layers.Dense(1), shape=(5, 3))
    record = describe_model(model)
    wrapped, bidirectional = record["layers"][0], record["layers"][1]
    assert (wrapped["activation"], wrapped["units"]) == ("relu", 8)
    assert (bidirectional["activation"], bidirectional["units"]) == ("tanh", 4)
    log = RunLog()
    log.append("model", **record)
    assert [layer["class_name"] for layer, _ in kernel_layers(log)] == ["TimeDistributed", "Bidirectional", "Dense"]


class _Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.hidden = keras.layers.Dense(16, activation="relu")
        self.scores = keras.layers.Dense(3)

    def call(self, x):
        return keras.ops.softmax(self.scores(self.hidden(x)))


def test_a_subclassed_model_output_activation_is_not_guessed_from_its_layer_order():
    model = _Subclassed()
    model(np.zeros((2, 8), "float32"))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    record = describe_model(model)
    assert record["output_activation_known"] is False and any("subclassed" in n for n in record["notes"])
    log = RunLog()
    log.append("model", **record)
    log.append("data", split="train", **summarize(np.zeros((60, 8), "float32"), RNG.integers(0, 3, 60)))
    assert OutputLossMismatch().check(log) is None

