"""repair's ``Change``, ``apply`` and planners on small real models: built, fitted one epoch at most."""

from kerasdoctor.errors import KerasDoctorError  # before Keras: importing kerasdoctor chooses the backend

import copy

import keras
import numpy as np
import pytest

from kerasdoctor.diagnose import CAUSE_ORDER, Finding
from kerasdoctor.monitor.datastats import summarize
from kerasdoctor.monitor.describe import describe_model
from kerasdoctor.repair.changes import Change, apply, apply_to_fit, apply_to_model, dumps, inner_layers, loads
from kerasdoctor.repair.planners import (
    DECLINE, PLANNERS, decline_reason, facts_from_log, plan, plan_frozen_or_dead, with_inner_layers,
)
from kerasdoctor.tune.space import default_learning_rate
from kerasdoctor.runlog import SCHEMA_VERSION, RunLog
from kerasdoctor.workload.loader import Workload

ROWS = 64


def _x(features=8, seed=0):
    return (np.random.default_rng(seed).normal(size=(ROWS, features)) * 5 + 3).astype("float32")


def _y(classes=3, seed=0):
    return np.random.default_rng(seed).integers(0, classes, ROWS)


def _mlp(hidden=("tanh", "tanh"), classes=3, output=None, loss="sparse_categorical_crossentropy", seed=0):
    keras.utils.set_random_seed(seed)
    layers = [keras.layers.Dense(16, activation=a, name=f"hidden_{i + 1}") for i, a in enumerate(hidden)]
    output_layer = keras.layers.Dense(classes, activation=output, name="output")
    model = keras.Sequential([keras.Input((8,)), *layers, output_layer], name="mlp")
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss=loss, metrics=["accuracy"])
    return model


def _functional(seed=0):
    """A Functional model with a Sequential block nested in it."""
    keras.utils.set_random_seed(seed)
    block = keras.Sequential([keras.Input((8,)), keras.layers.Dense(12, activation="sigmoid", name="inner_1"),
                              keras.layers.Dense(12, activation="sigmoid", name="inner_2")], name="block")
    inputs = keras.Input((8,), name="features")
    hidden = keras.layers.Dense(10, activation="tanh", name="top")(block(inputs))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="head")(hidden), name="net")
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _wrapped(seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((5, 4)),
        keras.layers.TimeDistributed(keras.layers.Dense(6, activation="tanh"), name="steps"),
        keras.layers.Bidirectional(keras.layers.SimpleRNN(7, activation="tanh"), name="both_ways"),
        keras.layers.Dense(1, activation="sigmoid", name="output"),
    ])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


class Classifier(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = keras.layers.Dense(16, activation="sigmoid", name="hidden")
        self.out = keras.layers.Dense(3, activation="softmax", name="probabilities")

    def call(self, x):
        return self.out(self.hidden(x))


def _subclassed():
    model = Classifier()
    model(np.zeros((1, 8), "float32"))
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    return model


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)


def _layer(model, name):
    found = [layer for layer in _all_layers(model) if layer.name == name]
    assert len(found) == 1, f"{name} in {[layer.name for layer in _all_layers(model)]}"
    return found[0]


def _same_weights(a, b):
    return len(a) == len(b) and all(np.array_equal(u, v) for u, v in zip(a, b))


def _trains(model, x, y):
    loss = model.fit(x, y, epochs=1, batch_size=ROWS, verbose=0).history["loss"][0]
    assert np.isfinite(loss)


# -- Change ----------------------------------------------------------------------------------------

EXAMPLES = [
    Change.make("layer", ["hidden_1", "hidden_2"], "VANISHING_GRADIENTS", activation="relu",
                kernel_initializer="he_normal"),
    Change.make("insert", ["hidden_1"], "OVERFITTING", layer="Dropout", rate=0.3),
    Change.make("input", why="INPUT_NOT_NORMALIZED", layer="Normalization"),
    Change.make("compile", why="LEARNING_RATE_TOO_HIGH", learning_rate="lr_find"),
    Change.make("fit", why="BAD_LABELS", class_weight="balanced", batch_size=32),
]


@pytest.mark.parametrize("change", EXAMPLES, ids=lambda c: c.kind)
def test_change_round_trips_through_a_dict(change):
    record = change.to_dict()
    assert Change.from_dict(record) == change
    assert record["kind"] == change.kind and record["settings"] == change.params


def test_dumps_and_loads_round_trip_a_list_of_changes():
    text = dumps(EXAMPLES)
    assert loads(text) == EXAMPLES
    assert '"learning_rate": "lr_find"' in text


def test_make_orders_settings_so_equal_changes_compare_equal():
    assert Change.make("layer", ["a"], units=3, activation="relu") == Change.make("layer", ["a"], activation="relu",
                                                                                  units=3)
    assert Change.make("layer", ["a"], units=3) != Change.make("layer", ["a"], units=4)


def test_an_unknown_setting_raises_value_error_naming_it():
    with pytest.raises(ValueError, match=r"A compile change takes .*Received: \['momentum'\]"):
        Change.make("compile", momentum=0.9)
    with pytest.raises(ValueError, match=r"A layer change takes .*Received: \['rate'\]"):
        Change.make("layer", ["hidden_1"], rate=0.5)
    with pytest.raises(ValueError, match=r"An input change takes \('layer',\). Received: \['rate'\]"):
        Change.make("input", layer="Normalization", rate=0.5)


def test_a_bad_kind_raises_value_error_naming_it():
    with pytest.raises(ValueError, match=r"kind must be one of .*Received: kind='reshape'"):
        Change.make("reshape")


def test_layer_and_insert_changes_must_name_their_layers():
    with pytest.raises(ValueError, match=r"A layer change names the layers it applies to"):
        Change.make("layer", activation="relu")
    with pytest.raises(ValueError, match=r"An insert change names the layers"):
        Change.make("insert", layer="Dropout")


def test_an_insert_change_takes_only_the_layers_repair_can_insert():
    with pytest.raises(ValueError, match=r"An insert change inserts one of .*Received: layer='Conv2D'"):
        Change.make("insert", ["hidden_1"], layer="Conv2D")
    with pytest.raises(ValueError, match=r"Received: layer=None"):
        Change.make("insert", ["hidden_1"], rate=0.3)


def test_from_dict_of_a_broken_record_raises_a_keras_doctor_error():
    with pytest.raises(KerasDoctorError, match=r"Not a keras-doctor change: .*Received: \{'target'"):
        Change.from_dict({"target": ["a"]})
    with pytest.raises(KerasDoctorError, match=r"Not a keras-doctor change"):
        loads('[{"kind": "compile", "settings": {"momentum": 0.9}}]')


@pytest.mark.parametrize("change, line", [
    (EXAMPLES[0], "hidden_1, hidden_2: activation relu, kernel_initializer he_normal"),
    (EXAMPLES[1], "after hidden_1: insert Dropout (rate 0.3)"),
    (EXAMPLES[2], "inputs: Normalization adapted on the training data"),
    (EXAMPLES[3], "compile: learning_rate lr_find"),
    (EXAMPLES[4], "FIT: batch_size 32, class_weight balanced"),
    (Change.make("compile", learning_rate=0.0012345, learning_rate_scale=0.1), "compile: learning_rate 0.00123, "
                                                                              "learning_rate_scale x0.1"),
    (Change.make("layer", ["a", "b", "c", "d", "e"], l2=1e-4), "a, b, c and 2 more: l2 0.0001"),
], ids=lambda value: value.kind if isinstance(value, Change) else None)
def test_describe_is_one_readable_line(change, line):
    assert change.describe() == line


def test_measured_is_true_only_while_the_learning_rate_is_left_to_lr_find():
    measured = EXAMPLES[3]
    assert measured.measured
    assert not measured.with_settings(learning_rate=0.003).measured
    assert measured.with_settings(learning_rate=0.003).params == {"learning_rate": 0.003}
    assert not Change.make("compile", learning_rate=0.01).measured
    assert not EXAMPLES[0].measured


def test_a_measured_change_cannot_be_applied():
    with pytest.raises(KerasDoctorError, match=r"still to be measured \(lr_find\)"):
        apply_to_model(_mlp(), [EXAMPLES[3]])


# -- apply_to_model ----------------------------------------------------------------------------------

def test_apply_to_a_sequential_lands_every_model_and_compile_change():
    x, y = _x(), _y()
    model = _mlp()
    new = apply_to_model(model, [
        Change.make("layer", ["hidden_1"], activation="relu", kernel_initializer="he_normal", units=32, l2=1e-3),
        Change.make("layer", ["hidden_2"], trainable=False),
        Change.make("insert", ["hidden_1"], layer="BatchNormalization"),
        Change.make("insert", ["hidden_2"], layer="Dropout", rate=0.25),
        Change.make("input", layer="Normalization"),
        Change.make("compile", learning_rate=0.05, clipnorm=1.0),
        Change.make("compile", loss="sparse_categorical_crossentropy", from_logits=True),
    ], x)
    assert [layer.name for layer in new.layers] == [
        "input_normalization", "hidden_1", "hidden_1_batchnormalization0", "hidden_2", "hidden_2_dropout0", "output"]
    hidden_1 = new.get_layer("hidden_1")
    assert hidden_1.activation.__name__ == "relu" and hidden_1.units == 32
    assert isinstance(hidden_1.kernel_initializer, keras.initializers.HeNormal)
    assert hidden_1.kernel_regularizer.get_config()["l2"] == pytest.approx(1e-3)
    assert new.get_layer("hidden_2").trainable is False
    assert new.get_layer("hidden_2_dropout0").rate == 0.25
    assert new.get_layer("output").activation.__name__ == "linear"
    normalized = keras.ops.convert_to_numpy(new.get_layer("input_normalization")(x))
    np.testing.assert_allclose(normalized.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(normalized.std(axis=0), 1.0, atol=1e-3)
    compiled = new.get_compile_config()
    assert compiled["optimizer"]["class_name"] == "SGD"
    assert compiled["optimizer"]["config"]["learning_rate"] == pytest.approx(0.05)
    assert compiled["optimizer"]["config"]["clipnorm"] == 1.0
    assert compiled["loss"]["class_name"] == "SparseCategoricalCrossentropy"
    assert compiled["loss"]["config"]["from_logits"] is True
    assert compiled["metrics"] == ["accuracy"]
    frozen = new.get_layer("hidden_2").get_weights()
    kernel = new.get_layer("hidden_1").get_weights()[0]
    history = new.fit(x, y, epochs=1, batch_size=ROWS, verbose=0).history
    assert np.isfinite(history["loss"][0]) and "accuracy" in history
    assert _same_weights(new.get_layer("hidden_2").get_weights(), frozen)
    assert not np.array_equal(new.get_layer("hidden_1").get_weights()[0], kernel)


def test_apply_to_a_functional_model_edits_the_layers_of_a_nested_sequential():
    x, y = _x(), _y()
    model = _functional()
    new = apply_to_model(model, [
        Change.make("layer", ["inner_1", "top"], activation="relu", kernel_initializer="he_normal"),
        Change.make("insert", ["inner_1", "top"], layer="BatchNormalization"),
        Change.make("input", layer="Normalization"),
        Change.make("compile", optimizer="sgd"),
    ], x)
    for name, activation in (("inner_1", "relu"), ("inner_2", "sigmoid"), ("top", "relu"), ("head", "softmax")):
        assert _layer(new, name).activation.__name__ == activation
    assert isinstance(_layer(new, "top").kernel_initializer, keras.initializers.HeNormal)
    block = [layer.name for layer in _layer(new, "block").layers]
    assert block == ["inner_1", "inner_1_batchnormalization0", "inner_2"]
    normalized = keras.ops.convert_to_numpy(_layer(new, "input_normalization")(x))
    np.testing.assert_allclose(normalized.mean(axis=0), 0.0, atol=1e-4)
    compiled = new.get_compile_config()
    assert compiled["optimizer"]["class_name"] == "SGD"
    assert compiled["optimizer"]["config"]["learning_rate"] == pytest.approx(0.01)  # the user's rate, kept
    assert compiled["metrics"] == ["accuracy"]
    _trains(new, x, y)
    for name in ("inner_1_batchnormalization0", "top_batchnormalization0"):  # on the path: they saw data
        moving_mean = _layer(new, name).moving_mean
        assert np.abs(keras.ops.convert_to_numpy(moving_mean)).sum() > 0


def test_apply_edits_both_directions_of_a_bidirectional_and_the_layer_a_time_distributed_wraps():
    model = _wrapped()
    new = apply_to_model(model, [
        Change.make("layer", ["steps"], activation="relu", units=9),
        Change.make("layer", ["both_ways"], activation="relu", kernel_initializer="he_normal"),
        Change.make("insert", ["both_ways"], layer="LayerNormalization"),
    ])
    steps = new.get_layer("steps").layer
    assert steps.activation.__name__ == "relu" and steps.units == 9
    both_ways = new.get_layer("both_ways")
    for direction in (both_ways.forward_layer, both_ways.backward_layer):
        assert direction.activation.__name__ == "relu"
        assert isinstance(direction.cell.kernel_initializer, keras.initializers.HeNormal)
    assert both_ways.backward_layer.go_backwards
    assert [layer.name for layer in new.layers][2] == "both_ways_layernormalization0"
    x = np.random.default_rng(0).normal(size=(4, 5, 4)).astype("float32")
    assert tuple(new(x).shape) == (4, 1)  # the recurrent layers read steps 9 wide, not the 6 they were built for
    widened = apply_to_model(model, [Change.make("layer", ["steps"], units=9)])  # the wrapper itself unchanged
    assert tuple(widened(x).shape) == (4, 1)


def test_compile_edits_scale_the_rate_and_swap_the_optimizer_keeping_the_rate():
    model = _mlp()  # SGD at 0.01
    swapped = apply_to_model(model, [Change.make("compile", optimizer="adam")]).get_compile_config()["optimizer"]
    assert swapped["class_name"] == "Adam" and swapped["config"]["learning_rate"] == pytest.approx(0.01)
    both = apply_to_model(model, [Change.make("compile", optimizer="adam", learning_rate_scale=0.1)])
    assert type(both.optimizer).__name__ == "Adam"
    assert float(keras.ops.convert_to_numpy(both.optimizer.learning_rate)) == pytest.approx(0.001)
    scaled = apply_to_model(model, [Change.make("compile", learning_rate_scale=10.0)]).get_compile_config()
    assert scaled["optimizer"]["config"]["learning_rate"] == pytest.approx(0.1)


def test_a_loss_change_builds_the_named_loss():
    model = _mlp(classes=1, output="sigmoid", loss="mse")
    regression = apply_to_model(model, [Change.make("compile", loss="binary_crossentropy", from_logits=False)])
    loss = regression.get_compile_config()["loss"]
    assert loss["class_name"] == "BinaryCrossentropy" and loss["config"]["from_logits"] is False
    squared = apply_to_model(model, [Change.make("compile", loss="mean_squared_error", from_logits=None)])
    assert squared.get_compile_config()["loss"]["class_name"] == "MeanSquaredError"


def test_from_logits_alone_keeps_the_losses_other_settings():
    model = _mlp()
    model.compile(optimizer="adam", loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1, name="smoothed"))
    loss = apply_to_model(model, [Change.make("compile", from_logits=True)]).get_compile_config()["loss"]
    assert loss["class_name"] == "CategoricalCrossentropy"
    assert loss["config"]["from_logits"] is True
    assert loss["config"]["label_smoothing"] == 0.1 and loss["config"]["name"] == "smoothed"


def test_an_embedding_takes_initializer_and_l2_changes_on_its_table():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5,), dtype="int32"), keras.layers.Embedding(20, 8, name="embedding"),
                              keras.layers.Flatten(), keras.layers.Dense(1, name="output")])
    model.compile(optimizer="adam", loss="mse")
    new = apply_to_model(model, [Change.make("layer", ["embedding"], kernel_initializer="he_normal",
                                             bias_initializer="zeros", l2=1e-4)])
    embedding = new.get_layer("embedding")
    assert isinstance(embedding.embeddings_initializer, keras.initializers.HeNormal)
    assert embedding.embeddings_regularizer.get_config()["l2"] == pytest.approx(1e-4)
    with pytest.raises(KerasDoctorError, match=r"Layer embedding has no activation to change"):
        apply_to_model(model, [Change.make("layer", ["embedding"], activation="relu")])


# -- the user's model --------------------------------------------------------------------------------

def _state(model):
    return copy.deepcopy(model.get_config()), model.get_weights(), copy.deepcopy(model.get_compile_config())


@pytest.mark.parametrize("build, changes", [
    (_mlp, [Change.make("layer", ["hidden_1"], activation="relu", units=32),
            Change.make("layer", ["hidden_2"], trainable=False), Change.make("insert", ["hidden_1"], layer="Dropout"),
            Change.make("input", layer="Normalization"),
            Change.make("compile", optimizer="adam", learning_rate=0.5, from_logits=True)]),
    (_functional, [Change.make("layer", ["inner_1"], activation="relu"),
                   Change.make("insert", ["top"], layer="BatchNormalization"),
                   Change.make("input", layer="Normalization"), Change.make("compile", clipnorm=1.0)]),
], ids=["sequential", "functional"])
def test_the_users_model_is_not_changed(build, changes):
    model = build()
    config, weights, compiled = _state(model)
    new = apply_to_model(model, changes, _x())
    assert new is not model
    after_config, after_weights, after_compiled = _state(model)
    assert after_config == config and after_compiled == compiled
    assert _same_weights(after_weights, weights)
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(
        compiled["optimizer"]["config"]["learning_rate"])


def test_layers_no_change_touched_keep_the_originals_weights():
    model = _functional()
    new = apply_to_model(model, [Change.make("layer", ["top"], activation="relu", kernel_initializer="he_normal")])
    for name in ("inner_1", "inner_2", "head"):
        assert _same_weights(_layer(new, name).get_weights(), _layer(model, name).get_weights()), name
    assert not _same_weights(_layer(new, "top").get_weights(), _layer(model, "top").get_weights())


def test_a_compile_only_change_keeps_every_weight():
    model = _mlp()
    new = apply_to_model(model, [Change.make("compile", learning_rate=0.1)])
    assert new is not model and _same_weights(new.get_weights(), model.get_weights())


def test_freezing_or_regularizing_a_layer_keeps_its_weights():
    model = _mlp()
    new = apply_to_model(model, [Change.make("layer", ["hidden_1"], trainable=False),
                                 Change.make("layer", ["hidden_2"], l2=1e-4)])
    assert _same_weights(new.get_weights(), model.get_weights())
    assert new.get_layer("hidden_1").trainable is False


def test_a_nested_model_can_be_unfrozen_by_name_and_keeps_its_weights():
    model = _functional()
    model.get_layer("block").trainable = False
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    kept = apply_to_model(model, [Change.make("compile", learning_rate=0.1)])
    assert len(kept.trainable_weights) == len(model.trainable_weights) == 4  # top and head
    unfrozen = apply_to_model(model, [Change.make("layer", ["block"], trainable=True)])
    assert len(unfrozen.trainable_weights) == 8
    assert _same_weights(_layer(unfrozen, "inner_1").get_weights(), _layer(model, "inner_1").get_weights())
    frozen = apply_to_model(model, [Change.make("layer", ["top"], l2=1e-4)])
    assert _layer(frozen, "block").trainable is False and len(frozen.trainable_weights) == 4
    with pytest.raises(KerasDoctorError, match=r"block is a nested model: a layer change can only set its trainable"):
        apply_to_model(model, [Change.make("layer", ["block"], activation="relu")])


# -- what cannot be applied --------------------------------------------------------------------------

def test_a_layer_change_on_a_subclassed_model_says_only_compile_and_fit_can_change():
    with pytest.raises(KerasDoctorError, match=r"subclassed \(Classifier\).*can change only compile and FIT for it. "
                                               r"Received: layer changes hidden: activation relu"):
        apply_to_model(_subclassed(), [Change.make("layer", ["hidden"], activation="relu")])


def test_compile_changes_apply_to_a_subclassed_model():
    new = apply_to_model(_subclassed(), [Change.make("compile", learning_rate=0.05, clipnorm=2.0)])
    config = new.get_compile_config()["optimizer"]["config"]
    assert config["learning_rate"] == pytest.approx(0.05) and config["clipnorm"] == 2.0
    assert new.get_compile_config()["loss"] == "sparse_categorical_crossentropy"


def test_a_change_naming_a_missing_layer_names_it():
    with pytest.raises(KerasDoctorError, match=r"The model has no layer named \['dense_7'\]"):
        apply_to_model(_mlp(), [Change.make("layer", ["hidden_1", "dense_7"], activation="relu")])
    with pytest.raises(KerasDoctorError, match=r"no layer named \['nowhere'\]"):
        apply_to_model(_functional(), [Change.make("insert", ["nowhere"], layer="Dropout")])


def test_an_input_normalization_needs_the_training_inputs():
    with pytest.raises(KerasDoctorError, match=r"pass x_train"):
        apply_to_model(_mlp(), [Change.make("input", layer="Normalization")])


# -- FIT and the workload ----------------------------------------------------------------------------

def test_apply_to_fit_edits_batch_size_and_epochs_on_a_copy():
    fit = {"epochs": 5, "batch_size": 16}
    new = apply_to_fit(fit, [Change.make("fit", batch_size=32, epochs=2), Change.make("compile", learning_rate=0.1)])
    assert new == {"epochs": 2, "batch_size": 32}
    assert fit == {"epochs": 5, "batch_size": 16}


@pytest.mark.parametrize("one_hot", [False, True])
def test_balanced_class_weights_are_the_inverse_class_frequency(one_hot):
    y = np.array([0] * 48 + [1] * 12 + [2] * 4)
    labels = np.eye(3)[y] if one_hot else y
    fit = apply_to_fit({"epochs": 1}, [Change.make("fit", class_weight="balanced")], labels)
    assert fit["class_weight"] == pytest.approx({0: 64 / (3 * 48), 1: 64 / (3 * 12), 2: 64 / (3 * 4)})
    with pytest.raises(KerasDoctorError, match=r"pass y_train"):
        apply_to_fit({}, [Change.make("fit", class_weight="balanced")])


def _workload(tmp_path):
    x = _x(seed=1)
    y = np.array([0] * 36 + [1] * 12 + [0] * 12 + [1] * 4)

    def load():
        return (x[:48], y[:48]), (x[48:], y[48:])

    return Workload(tmp_path / "workload.py", name="workload", build=lambda: _mlp(classes=2), load=load,
                    fit={"epochs": 3, "batch_size": 16}, accepts_hp=False)


def test_apply_gives_a_new_workload_with_the_changes_and_leaves_the_original_alone(tmp_path):
    workload = _workload(tmp_path)
    changes = [Change.make("layer", ["hidden_1"], activation="relu"), Change.make("compile", learning_rate=0.05),
               Change.make("fit", batch_size=32, class_weight="balanced"), Change.make("input", layer="Normalization")]
    repaired = apply(changes, workload)
    assert repaired is not workload and repaired.changes == changes
    y_train = workload.load_data(0).y_train
    counts = np.bincount(y_train)
    assert repaired.fit == {"epochs": 3, "batch_size": 32,
                            "class_weight": {0: len(y_train) / (2 * counts[0]), 1: len(y_train) / (2 * counts[1])}}
    assert workload.fit == {"epochs": 3, "batch_size": 16}
    model = repaired.build_model()
    assert model.get_layer("hidden_1").activation.__name__ == "relu"
    assert model.layers[0].name == "input_normalization"
    assert model.get_compile_config()["optimizer"]["config"]["learning_rate"] == pytest.approx(0.05)
    assert workload.build_model().get_layer("hidden_1").activation.__name__ == "tanh"
    np.testing.assert_array_equal(repaired.load_data(0).x_train, workload.load_data(0).x_train)


def test_apply_refuses_changes_still_to_be_measured(tmp_path):
    with pytest.raises(KerasDoctorError, match=r"still to be measured cannot be applied: compile: learning_rate "
                                               r"lr_find"):
        apply([EXAMPLES[3]], _workload(tmp_path))


# -- planners --------------------------------------------------------------------------------------

def _facts(model, x=None, y=None, fit=None, input_kind="arrays"):
    x = _x() if x is None else x
    y = _y() if y is None else y
    log = RunLog(records=[
        {"type": "header", "schema": SCHEMA_VERSION},
        {"type": "run", "fit": fit or {"epochs": 10, "batch_size": 16}, "input_kind": input_kind},
        {"type": "model", **describe_model(model)},
        {"type": "data", "split": "train", **summarize(x, y)},
    ])
    return facts_from_log(log)


def test_the_outputs_of_a_model_with_several_are_not_hidden_layers_to_plan_for():
    inputs = keras.Input((4,))
    trunk = keras.layers.Dense(8, activation="sigmoid", name="trunk")(inputs)
    kind = keras.layers.Dense(1, activation="sigmoid", name="kind")(trunk)
    size = keras.layers.Dense(1, name="size")(trunk)
    model = keras.Model(inputs, {"kind": kind, "size": size})
    model.compile("adam", {"kind": "binary_crossentropy", "size": "mse"})
    facts = _facts(model, x=_x(4), y={"kind": np.zeros(ROWS, "int32"), "size": np.zeros(ROWS, "float32")})
    assert facts["hidden"] == ["trunk"]


def _finding(code, **evidence):
    return Finding(code, "warning", None, f"{code} (synthetic)", evidence, "")


def test_facts_read_layers_output_loss_labels_and_fit_from_the_log():
    facts = _facts(_mlp(output="softmax"))
    assert facts["graph"] and facts["model_class"] == "Sequential"
    assert facts["kernel_layers"] == ["hidden_1", "hidden_2", "output"] and facts["hidden"] == ["hidden_1", "hidden_2"]
    assert facts["output_layer"] == "output" and facts["output_units"] == 3 and facts["output_activation"] == "softmax"
    assert facts["loss"] == "sparse_categorical_crossentropy" and facts["from_logits"] is False
    assert facts["labels"]["encoding"] == "index" and facts["optimizer"] == "SGD"
    assert facts["learning_rate"] == pytest.approx(0.01)
    assert (facts["batch_size"], facts["epochs"], facts["train_samples"]) == (16, 10, ROWS)


def test_a_sigmoid_output_on_ten_class_index_labels_is_planned_as_softmax():
    model = _mlp(classes=10, output="sigmoid")
    facts = _facts(model, y=_y(classes=10))
    finding = _finding("OUTPUT_LOSS_MISMATCH", loss="sparse_categorical_crossentropy", output_activation="sigmoid",
                       output_units=10, label_encoding="index", problems=["sigmoid_multiclass"])
    candidates = plan(finding, facts)
    assert candidates[0] == (Change.make("layer", ["output"], "OUTPUT_LOSS_MISMATCH", activation="softmax"),)
    assert apply_to_model(model, candidates[0]).get_layer("output").activation.__name__ == "softmax"


def test_logits_without_from_logits_are_planned_as_from_logits_first():
    facts = _facts(_mlp(classes=10), y=_y(classes=10))
    finding = _finding("OUTPUT_LOSS_MISMATCH", loss="sparse_categorical_crossentropy", output_activation="linear",
                       problems=["logits_without_from_logits"])
    candidates = plan(finding, facts)
    assert candidates[0] == (Change.make("compile", why="OUTPUT_LOSS_MISMATCH", loss="sparse_categorical_crossentropy",
                                         from_logits=True),)
    assert candidates[1] == (Change.make("layer", ["output"], "OUTPUT_LOSS_MISMATCH", activation="softmax"),)


def test_soft_labels_on_a_sigmoid_output_are_planned_as_softmax():
    y = np.random.default_rng(0).dirichlet(np.ones(4), ROWS).astype("float32")
    facts = _facts(_mlp(classes=4, output="sigmoid", loss="categorical_crossentropy"), y=y)
    assert facts["labels"]["encoding"] == "distribution"
    candidates = plan(_finding("OUTPUT_LOSS_MISMATCH", problems=["sigmoid_multiclass"]), facts)
    assert candidates[0] == (Change.make("layer", ["output"], "OUTPUT_LOSS_MISMATCH", activation="softmax"),)


def test_vanishing_gradients_in_a_deep_sigmoid_mlp_are_planned_as_selu_then_relu_then_batchnorm():
    facts = _facts(_mlp(hidden=("sigmoid",) * 6, output="softmax"))
    hidden = tuple(f"hidden_{i}" for i in range(1, 7))
    candidates = plan(_finding("VANISHING_GRADIENTS", median_ratio=1e-4, first_layer="hidden_1",
                               output_layer="output"), facts)
    assert candidates[0] == (Change.make("layer", hidden, "VANISHING_GRADIENTS", activation="selu",
                                         kernel_initializer="lecun_normal"),)
    assert candidates[1] == (Change.make("layer", hidden, "VANISHING_GRADIENTS", activation="relu",
                                         kernel_initializer="he_normal"),)
    assert all("output" not in change.target for candidate in candidates for change in candidate)
    assert candidates[2][0].kind == "insert" and candidates[2][0].params == {"layer": "BatchNormalization"}


def test_vanishing_gradients_through_time_swap_a_simple_rnn_for_an_lstm_of_its_width_then_a_gru():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((20, 4)), keras.layers.SimpleRNN(8, name="rnn"),
                              keras.layers.Dense(1, activation="sigmoid", name="output")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    x = np.random.default_rng(0).normal(size=(ROWS, 20, 4)).astype("float32")
    facts = _facts(model, x=x, y=_y(classes=2))
    candidates = plan(_finding("VANISHING_GRADIENTS", layer="rnn", length=20, recurrent=True), facts)
    assert [c[0].params for c in candidates] == [{"class_name": "LSTM"}, {"class_name": "GRU"}]
    swapped = apply_to_model(model, candidates[0]).get_layer("rnn")
    assert type(swapped).__name__ == "LSTM" and swapped.units == 8


def test_unnormalized_inputs_are_planned_as_an_input_normalization():
    candidates = plan(_finding("INPUT_NOT_NORMALIZED"), _facts(_mlp()))
    assert candidates == [(Change.make("input", why="INPUT_NOT_NORMALIZED", layer="Normalization"),)]


def test_a_learning_rate_too_high_is_planned_as_the_measured_rate_first():
    candidates = plan(_finding("LEARNING_RATE_TOO_HIGH"), _facts(_mlp()))
    first = candidates[0][0]
    assert first.kind == "compile" and first.measured and first.params == {"learning_rate": "lr_find"}
    assert [c[0].params for c in candidates[1:]] == [{"learning_rate_scale": 0.1}, {"learning_rate_scale": 0.01}]


def _recompiled(model, optimizer):
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_a_rate_far_below_its_optimizers_default_gets_the_default_after_the_measured_rate():
    facts = _facts(_recompiled(_mlp(), keras.optimizers.Adam(1e-6)))
    assert facts["optimizer"] == "Adam" and facts["default_learning_rate"] == pytest.approx(1e-3)
    candidates = plan(_finding("LEARNING_RATE_TOO_LOW"), facts)
    assert candidates[0][0].measured
    assert [c[0].params for c in candidates[1:]] == [
        {"learning_rate": 1e-3}, {"learning_rate_scale": 10.0}, {"learning_rate_scale": 100.0}]


def test_a_rate_far_above_its_optimizers_default_gets_the_default_after_the_measured_rate():
    facts = _facts(_recompiled(_mlp(), keras.optimizers.SGD(2.0)))
    candidates = plan(_finding("LEARNING_RATE_TOO_HIGH"), facts)
    assert [c[0].params for c in candidates[1:]] == [
        {"learning_rate": 0.01}, {"learning_rate_scale": 0.1}, {"learning_rate_scale": 0.01}]
    # A rate within a factor 3 of the default, or the wrong way off, does not get it.
    for rate, code in ((5e-4, "LEARNING_RATE_TOO_LOW"), (1e-5, "LEARNING_RATE_TOO_HIGH")):
        facts = _facts(_recompiled(_mlp(), keras.optimizers.Adam(rate)))
        assert not any("learning_rate" in c[0].params and not c[0].measured
                       for c in plan(_finding(code), facts)), (rate, code)


def test_the_default_rate_is_read_from_the_optimizer_class_and_none_for_one_it_does_not_know():
    assert default_learning_rate("SGD") == pytest.approx(0.01)
    assert default_learning_rate("adamw") == pytest.approx(1e-3)
    assert default_learning_rate("Prodigy") == pytest.approx(1.0)  # keras-doctor's own: a multiplier
    assert default_learning_rate("MyOptimizer") is None and default_learning_rate(None) is None


def test_an_imbalance_is_planned_as_balanced_class_weights_for_arrays_only():
    finding = _finding("BAD_LABELS", problem="imbalance", ratio=12.0)
    assert plan(finding, _facts(_mlp())) == [(Change.make("fit", why="BAD_LABELS", class_weight="balanced"),)]
    assert plan(finding, _facts(_mlp(), input_kind="dataset")) == []
    assert decline_reason(finding) is None


def test_frozen_layers_of_a_stalled_model_are_planned_as_unfrozen():
    model = _mlp()
    model.get_layer("hidden_1").trainable = False
    facts = _facts(model)
    finding = _finding("FROZEN_OR_DEAD_LAYER", problem="frozen_stalled", layers=["hidden_1"])
    assert plan(finding, facts) == [(Change.make("layer", ["hidden_1"], "FROZEN_OR_DEAD_LAYER", trainable=True),)]


@pytest.mark.parametrize("problem", ["non_finite", "train_val_overlap"])
def test_bad_inputs_are_declined_with_the_manual_fix_and_no_plan(problem):
    finding = _finding("BAD_INPUTS", problem=problem)
    assert decline_reason(finding) == DECLINE[f"BAD_INPUTS:{problem}"]
    assert plan(finding, _facts(_mlp())) == []
    assert "NaN" in decline_reason(_finding("BAD_INPUTS", problem="non_finite"))


def test_bad_labels_other_than_an_imbalance_are_declined():
    for problem in ("non_finite", "constant", "unseen_classes", "missing_in_validation", "something_new"):
        finding = Finding("BAD_LABELS", "error", None, "labels", {"problem": problem}, "Fix the labels.")
        assert decline_reason(finding), problem
        assert plan(finding, _facts(_mlp())) == []


def test_a_subclassed_models_facts_keep_only_compile_and_fit_candidates():
    facts = _facts(_subclassed())
    assert facts["graph"] is False and facts["model_class"] == "Classifier"
    assert plan(_finding("VANISHING_GRADIENTS"), facts) == []
    assert plan(_finding("INPUT_NOT_NORMALIZED"), facts) == []
    for code in ("LEARNING_RATE_TOO_HIGH", "NOT_LEARNING", "EXPLODING_GRADIENTS", "UNDERFITTING", "DYING_RELU",
                 "OVERFITTING"):
        candidates = plan(_finding(code), facts)
        assert candidates, code
        assert {change.kind for candidate in candidates for change in candidate} <= {"compile", "fit"}, code


# Codes that no planner addresses because no change of a model, compile or FIT can: each has its manual fix.
DECLINED_ONLY = {"BAD_INPUTS"}


def test_every_code_has_a_planner_or_a_decline_path():
    assert set(CAUSE_ORDER) == set(PLANNERS) | DECLINED_ONLY
    assert not set(PLANNERS) & DECLINED_ONLY
    for code in DECLINED_ONLY:
        assert any(key.startswith(f"{code}:") for key in DECLINE), code
    assert {key.split(":")[0] for key in DECLINE} <= set(CAUSE_ORDER)


EVIDENCE = {
    "OUTPUT_LOSS_MISMATCH": {"problems": ["sigmoid_multiclass"]},
    "FROZEN_OR_DEAD_LAYER": {"problem": "dead"},
    "BAD_LABELS": {"problem": "imbalance"},
}


def _text_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,), dtype="int32"), keras.layers.Embedding(30, 8, name="embedding"),
                              keras.layers.SimpleRNN(8, name="rnn"),
                              keras.layers.Dense(3, activation="sigmoid", name="output")])
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy")
    return model, np.random.default_rng(0).integers(0, 30, (ROWS, 6))


@pytest.mark.parametrize("kind", ["mlp", "text"])
def test_every_planners_candidates_apply_to_the_model_they_were_planned_for(kind):
    model, x = (_mlp(hidden=("sigmoid", "relu")), _x()) if kind == "mlp" else _text_model()
    facts = _facts(model, x=x)
    planned = set()
    for code in PLANNERS:
        evidence = dict(EVIDENCE.get(code, {}))
        if code == "FROZEN_OR_DEAD_LAYER":
            evidence["layers"] = facts["hidden"]
        for candidate in plan(_finding(code, **evidence), facts):
            resolved = [c.with_settings(learning_rate=1e-3) if c.measured else c for c in candidate]
            assert apply_to_model(model, resolved, x) is not model
            planned.add(code)
    assert planned == set(PLANNERS)


def test_a_single_layer_name_is_one_target():
    assert Change.make("layer", "dense", activation="relu").target == ("dense",)


def test_dead_layers_get_the_initializer_of_their_own_activation():
    facts = {"layers": [{"name": "hidden", "class_name": "Dense", "activation": "relu"},
                        {"name": "out", "class_name": "Dense", "activation": "sigmoid"}],
             "kernel_layers": ["hidden", "out"], "activations": {"hidden": "relu", "out": "sigmoid"}, "graph": True}
    finding = Finding("FROZEN_OR_DEAD_LAYER", "warning", None, "", {"problem": "dead", "layers": ["hidden", "out"]})
    first = plan_frozen_or_dead(finding, facts)[0]
    assert {c.target: c.params["kernel_initializer"] for c in first} == {("hidden",): "he_normal",
                                                                          ("out",): "glorot_uniform"}


def test_a_poor_initializer_is_replaced_in_every_layer_built_with_it_not_only_in_those_the_finding_names():
    keras.utils.set_random_seed(0)
    huge = keras.initializers.RandomNormal(stddev=5.0)
    model = keras.Sequential([keras.Input((8,)), *[keras.layers.Dense(16, activation="relu", kernel_initializer=huge,
                                                                     name=f"hidden_{i}") for i in (1, 2, 3)],
                              keras.layers.Dense(3, activation="softmax", name="output")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    finding = _finding("POOR_INITIALIZATION", problem="huge_scale", layers=["hidden_2", "hidden_3"])
    (change,) = plan(finding, _facts(model))[0]
    # hidden_1 was built with the same initializer; the output layer, with Keras's default, keeps its own.
    assert sorted(change.target) == ["hidden_1", "hidden_2", "hidden_3"]
    assert change.params == {"kernel_initializer": "he_normal", "bias_initializer": "zeros"}


def test_an_activation_mismatch_changes_only_the_layers_it_names_and_frozen_layers_keep_their_weights():
    keras.utils.set_random_seed(0)
    layers = [keras.layers.Dense(16, activation="relu", name=f"hidden_{i}") for i in (1, 2, 3)]
    model = keras.Sequential([keras.Input((8,)), *layers, keras.layers.Dense(3, activation="softmax", name="output")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    mismatch = _finding("POOR_INITIALIZATION", problem="activation_mismatch", layers=["hidden_1", "hidden_2"])
    # Glorot in hidden_3 and the output is no fault of theirs: only the layers named change.
    assert [c.target for c in plan(mismatch, _facts(model))[0]] == [("hidden_1", "hidden_2")]
    keras.utils.set_random_seed(0)
    layers = [keras.layers.Dense(16, activation="relu", kernel_initializer="zeros", name=f"hidden_{i}")
              for i in (1, 2, 3)]
    layers[2].trainable = False
    model = keras.Sequential([keras.Input((8,)), *layers, keras.layers.Dense(3, activation="softmax", name="output")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    constant = _finding("POOR_INITIALIZATION", problem="constant_kernel", layers=["hidden_1"])
    # hidden_2 shares the zeros; the frozen hidden_3 keeps its weights, the output its Glorot.
    assert [c.target for c in plan(constant, _facts(model))[0]] == [("hidden_1", "hidden_2")]


def _backbone_net(bias=-5.0, seed=0):
    """A Functional model around a nested backbone, every ReLU layer with a bias of ``bias``."""
    keras.utils.set_random_seed(seed)
    init = keras.initializers.Constant(bias)
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(4, 3, activation="relu", bias_initializer=init, name="conv_0")(inputs)
    backbone = keras.Model(inputs, keras.layers.GlobalAveragePooling2D(name="pool")(x), name="backbone")
    outer = keras.Input((8, 8, 1))
    hidden = keras.layers.Dense(8, activation="relu", bias_initializer=init, name="hidden")(backbone(outer))
    model = keras.Model(outer, keras.layers.Dense(3, activation="softmax", name="output")(hidden), name="net")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def test_a_dying_bias_is_reset_in_the_layers_of_a_nested_model_built_with_it():
    model = _backbone_net()
    x = np.random.default_rng(0).normal(size=(ROWS, 8, 8, 1)).astype("float32")
    facts = _facts(model, x=x)
    assert "conv_0" not in facts["activations"]  # the log describes the top level only
    with_inner_layers(facts, inner_layers(model))
    assert [layer["name"] for layer in facts["inner_layers"]] == ["conv_0", "pool"]
    first = plan(_finding("DYING_RELU", layers={"hidden": 1.0}), facts)[0]
    assert first == (Change.make("layer", ("hidden", "conv_0"), "DYING_RELU", bias_initializer="zeros"),)
    repaired = apply_to_model(model, first)
    for layer in (repaired.get_layer("backbone").get_layer("conv_0"), repaired.get_layer("hidden")):
        assert np.all(keras.ops.convert_to_numpy(layer.bias) == 0.0)


def test_the_layers_of_a_nested_subclassed_model_are_left_out_since_it_is_not_rebuilt():
    class Block(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.inside = keras.layers.Dense(4, name="inside")

        def call(self, x):
            return self.inside(x)

    inputs = keras.Input((8,))
    model = keras.Model(inputs, keras.layers.Dense(2, name="head")(Block(name="block")(inputs)))
    assert inner_layers(model) == []
    assert [layer["name"] for layer in inner_layers(_functional())] == ["inner_1", "inner_2"]


def test_an_activation_layer_stands_for_the_kernel_layer_before_it():
    layers = [{"name": "conv", "class_name": "Conv1D", "activation": "linear"},
              {"name": "conv_relu", "class_name": "ReLU", "activation": "relu"},
              {"name": "out", "class_name": "Dense", "activation": "softmax"}]
    facts = {"layers": layers, "kernel_layers": ["conv", "out"], "hidden": ["conv"],
             "activations": {layer["name"]: layer["activation"] for layer in layers}, "graph": True}
    finding = Finding("DYING_RELU", "warning", 5, "", {"layers": {"conv_relu": 0.9}})
    first = plan(finding, facts)[0]
    assert [c.target for c in first] == [("conv",)] and first[0].params["bias_initializer"] == "zeros"


def test_a_head_with_the_wrong_loss_gets_its_own_loss():
    evidence = {"output": "ink", "loss": "binary_crossentropy", "from_logits": False, "output_activation": None,
                "output_units": 1, "label_encoding": "continuous", "problems": ["regression_with_classification_loss"]}
    finding = Finding("OUTPUT_LOSS_MISMATCH", "error", None, "", evidence)
    candidates = plan(finding, {"multiple_outputs": True, "graph": True})
    assert candidates[0][0].kind == "compile"
    assert candidates[0][0].params["output"] == "ink" and candidates[0][0].params["loss"] == "mean_squared_error"
    inputs = keras.Input((4,))
    model = keras.Model(inputs, {"digit": keras.layers.Dense(3, activation="softmax", name="digit")(inputs),
                                 "ink": keras.layers.Dense(1, name="ink")(inputs)})
    model.compile("adam", loss={"digit": "sparse_categorical_crossentropy", "ink": "binary_crossentropy"})
    rebuilt = apply_to_model(model, candidates[0])
    losses = rebuilt.get_compile_config()["loss"]
    assert "MeanSquaredError" in str(losses["ink"]) and "sparse_categorical_crossentropy" in str(losses["digit"])


def test_changes_planned_on_one_build_apply_to_a_later_build_whose_names_were_numbered_on():
    def build():
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="sigmoid"),
                                  keras.layers.Dense(8, activation="sigmoid"), keras.layers.Dense(2)])
        model.compile("adam", "mse")
        return model

    keras.backend.clear_session()
    first = build()
    names = [layer.name for layer in first.layers]
    later = build()  # the same build_model, later in the session: its layers are numbered on
    assert [layer.name for layer in later.layers] != names
    change = Change.make("layer", names[:2], activation="relu")
    rebuilt = apply_to_model(later, [change])
    assert [layer.get_config()["activation"] for layer in rebuilt.layers] == ["relu", "relu", "linear"]


def test_overfitting_is_planned_first_as_early_stopping_with_a_patience_measured_on_the_run():
    finding = Finding("OVERFITTING", "warning", None, "overfits",
                      {"best_val_epoch": 12, "longest_wait_before_best": 3}, "Stop early.")
    candidates = plan(finding, _facts(_mlp()))
    assert candidates[0] == (Change.make("fit", why="OVERFITTING", early_stopping=4),)
    assert {c.params.get("layer") for candidate in candidates[1:] for c in candidate} >= {"Dropout"}
    # With no measurement (a finding without evidence), the shortest patience that tells a wobble.
    assert plan(_finding("OVERFITTING"), _facts(_mlp()))[0][0].params == {"early_stopping": 2}


def test_an_early_stopping_change_adds_a_callback_that_restores_the_best_epoch():
    change = Change.make("fit", why="OVERFITTING", early_stopping=4)
    stopper = keras.callbacks.EarlyStopping(monitor="loss")
    fit = apply_to_fit({"epochs": 30, "batch_size": 32, "callbacks": [stopper]}, [change])
    assert fit["callbacks"][0] is stopper  # the workload's own callbacks stay
    added = fit["callbacks"][1]
    assert (added.monitor, added.patience, added.restore_best_weights) == ("val_loss", 4, True)
    assert "EarlyStopping(monitor='val_loss', patience=4, restore_best_weights=True)" in change.describe()
    assert Change.from_dict(change.to_dict()) == change
    with pytest.raises(KerasDoctorError, match="positive integer"):
        apply_to_fit({"epochs": 3}, [Change.make("fit", early_stopping=0)])


def test_oscillation_at_a_tiny_batch_is_planned_as_a_larger_batch_with_and_without_a_new_rate():
    facts = dict(_facts(_mlp()), batch_size=1, input_kind="arrays")
    assert facts["epochs"] == 10
    candidates = plan(_finding("LOSS_OSCILLATING"), facts)
    # The epochs grow with the square root of the batch ratio: 10 x sqrt(32 / 1) = 56.6.
    batch = Change.make("fit", why="LOSS_OSCILLATING", batch_size=32, epochs=57)
    assert candidates[0][0] == batch and candidates[0][1].measured
    assert candidates[1] == (batch,)  # kept when the range test finds no clear fall
    assert all(c.kind == "compile" for candidate in candidates[2:] for c in candidate)
    assert not any(c.kind == "fit" for candidate in plan(_finding("LOSS_OSCILLATING"), dict(facts, batch_size=64))
                   for c in candidate)
    eight = plan(_finding("LOSS_OSCILLATING"), dict(facts, batch_size=8, epochs=3))[1]
    assert eight == (Change.make("fit", why="LOSS_OSCILLATING", batch_size=32, epochs=6),)  # 3 x sqrt(4)
    unknown = plan(_finding("LOSS_OSCILLATING"), dict(facts, epochs=None))[1]
    assert unknown == (Change.make("fit", why="LOSS_OSCILLATING", batch_size=32),)  # FIT's epochs kept
