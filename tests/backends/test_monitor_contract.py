"""The Monitor's contract, run on whichever backend is active.

`tests/integration/test_backends.py` runs this file once per backend (JAX,
TensorFlow, PyTorch), each in its own process, since Keras fixes its backend
at import.
"""

import numpy as np
import pytest

import kerasdoctor  # noqa: F401  (chooses the backend)
import keras

from kerasdoctor import Monitor
from kerasdoctor.diagnose import diagnose

RNG = np.random.default_rng(0)
X = RNG.normal(size=(8, 4)).astype("float32")
Y = RNG.normal(size=(8, 3)).astype("float32")
W0 = RNG.normal(size=(4, 3)).astype("float32")
B0 = RNG.normal(size=(3,)).astype("float32")


def _linear_model(learning_rate=0.1):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="linear")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss="mse")
    model.get_layer("linear").set_weights([W0, B0])
    return model


def _hand_gradients(weight, bias):
    # MSE over all N x 3 outputs: dL/dW = 2/(N*3) x^T (xW + b - y).
    residual = X.astype("float64") @ weight + bias - Y
    scale = 2.0 / residual.size
    return scale * X.T.astype("float64") @ residual, scale * residual.sum(axis=0)


def _probe(log, step):
    return next(p for p in log.probes if p["step"] == step)


def _row(rows, suffix):
    """The row of the variable whose path ends with ``suffix`` (paths start with the model name)."""
    return next(row for name, row in rows.items() if name.endswith(suffix))


def test_monitor_gradients_match_a_hand_computed_reference():
    model = _linear_model()
    monitor = Monitor((X, Y), every_n_steps=1)
    model.fit(X, Y, batch_size=8, epochs=1, shuffle=False, verbose=0, callbacks=[monitor])
    grad_w, grad_b = _hand_gradients(W0, B0)
    first = _probe(monitor.log, 0)
    kernel, bias = _row(first["variables"], "linear/kernel"), _row(first["variables"], "linear/bias")
    np.testing.assert_allclose(kernel["grad_norm"], np.linalg.norm(grad_w), rtol=1e-5)
    np.testing.assert_allclose(bias["grad_norm"], np.linalg.norm(grad_b), rtol=1e-5)
    np.testing.assert_allclose(kernel["weight_norm"], np.linalg.norm(W0), rtol=1e-5)
    expected_loss = np.mean((X @ W0 + B0 - Y) ** 2)
    np.testing.assert_allclose(first["loss"], expected_loss, rtol=1e-5)
    # One full-batch SGD step: w1 = w0 - 0.1 g0, so the update ratio is 0.1|g0| / |w1|.
    second = _row(_probe(monitor.log, 1)["variables"], "linear/kernel")
    w1 = W0 - 0.1 * grad_w
    np.testing.assert_allclose(second["update_ratio"], 0.1 * np.linalg.norm(grad_w) / np.linalg.norm(w1), rtol=1e-4)


def test_monitor_activation_statistics_match_numpy():
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(16, activation="relu", name="hidden")(inputs)
    squashed = keras.layers.Dense(8, activation="tanh", name="squash")(hidden)
    model = keras.Model(inputs, keras.layers.Dense(3, name="out")(squashed))
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    monitor = Monitor((X, Y), every_n_steps=1)
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0, callbacks=[monitor])
    w1, b1 = model.get_layer("hidden").get_weights()
    w2, b2 = model.get_layer("squash").get_weights()
    relu = np.maximum(X @ w1 + b1, 0.0)
    tanh = np.tanh(relu @ w2 + b2)
    layers = _probe(monitor.log, 0)["layers"]
    np.testing.assert_allclose(layers["hidden"]["mean"], relu.mean(), rtol=1e-4)
    np.testing.assert_allclose(layers["hidden"]["std"], relu.std(), rtol=1e-4)
    assert layers["hidden"]["zero_fraction"] == pytest.approx((relu == 0).mean())
    assert layers["squash"]["saturated_fraction"] == pytest.approx((np.abs(tanh) > 0.999).mean())


def _regularized_model():
    keras.utils.set_random_seed(7)
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(3),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    return model


def test_training_with_and_without_the_monitor_gives_identical_weights():
    x = RNG.normal(size=(64, 4)).astype("float32")
    y = RNG.normal(size=(64, 3)).astype("float32")
    weights = []
    monitor = Monitor((x[:16], y[:16]), every_n_steps=1, compile_in_background=False)
    for callbacks in ([], [monitor]):
        model = _regularized_model()
        keras.utils.set_random_seed(11)
        model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=callbacks)
        weights.append(model.get_weights())
    assert [p["step"] for p in monitor.log.probes] == list(range(17))  # and the trained weights
    for plain, monitored in zip(*weights):
        np.testing.assert_array_equal(plain, monitored)


def test_nan_in_the_probe_batch_is_recorded_without_stopping_training():
    x = X.copy()
    x[0, 0] = np.nan
    model = _linear_model(learning_rate=0.01)
    monitor = Monitor((x, Y), every_n_steps=1)
    model.fit(X, Y, batch_size=4, epochs=1, verbose=0, callbacks=[monitor])
    first = _probe(monitor.log, 0)
    assert np.isnan(first["loss"])
    assert _row(first["variables"], "linear/kernel")["nonfinite_grad"] > 0
    assert monitor.log.data("probe")["x"]["nan"] == 1
    assert np.all(np.isfinite(model.get_layer("linear").get_weights()[0]))
    # The NaN is in the data: that is the cause, the NaN loss and gradients its symptom.
    assert [(f.code, f.caused_by) for f in diagnose(monitor.log)] == [("BAD_INPUTS", None), ("NAN_OR_INF", "BAD_INPUTS")]


def test_nan_in_the_training_data_shows_in_the_log():
    x = X.copy()
    x[3, 1] = np.nan
    model = _linear_model()
    monitor = Monitor((x, Y), every_n_steps=1)
    model.fit(x, Y, batch_size=8, epochs=2, verbose=0, callbacks=[monitor])
    assert np.isnan(monitor.log.epochs[-1]["logs"]["loss"])
    findings = diagnose(monitor.log)
    assert findings[0].code == "BAD_INPUTS" and "NAN_OR_INF" in [f.code for f in findings]


class TwoLayerNet(keras.Model):
    def __init__(self):
        super().__init__()
        self.hidden = keras.layers.Dense(5, activation="relu")
        self.out = keras.layers.Dense(3)

    def call(self, inputs):
        return self.out(self.hidden(inputs))


def test_subclassed_model_records_gradients_and_says_activations_are_skipped():
    model = TwoLayerNet()
    model.compile(optimizer="sgd", loss="mse")
    monitor = Monitor((X, Y), every_n_steps=1)
    model.fit(X, Y, batch_size=4, epochs=1, verbose=0, callbacks=[monitor])
    probe = monitor.log.probes[0]
    assert probe["variables"] and all(row["grad_norm"] > 0 for row in probe["variables"].values())
    assert probe["layers"] == {}
    assert any("activations are skipped" in note for note in monitor.log.notes)


def test_monitor_without_probe_data_records_epochs_and_weights_and_says_what_it_skipped():
    model = _linear_model()
    monitor = Monitor()
    model.fit(X, Y, batch_size=4, epochs=2, verbose=0, callbacks=[monitor])
    assert [e["epoch"] for e in monitor.log.epochs] == [0, 1]
    assert monitor.log.epochs[0]["learning_rate"] == pytest.approx(0.1)
    assert "weight_norm" in _row(monitor.log.probes[0]["variables"], "linear/kernel")
    assert any("no probe_data" in note for note in monitor.log.notes)


def test_monitor_writes_the_runlog_as_training_goes(tmp_path):
    from kerasdoctor.runlog import RunLog

    path = tmp_path / "runlog.jsonl"
    model = _linear_model()
    model.fit(X, Y, batch_size=4, epochs=2, verbose=0, callbacks=[Monitor((X, Y), path=path)])
    loaded = RunLog.load(path)
    assert loaded.model["layers"][0]["name"] == "linear"
    assert len(loaded.epochs) == 2 and loaded.end["status"] == "completed"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"every_n_steps": 0}, "every_n_steps"),
        ({"overhead_budget": 1.5}, "overhead_budget"),
        ({"probe_data": X}, "probe_data"),
        ({"probe_data": (X, Y[:3])}, "as many labels as inputs"),
        ({"validation_data": X}, "validation_data"),
        ({"validation_data": (X, Y, None, None)}, "validation_data"),
        ({"validation_data": (X, Y[:3])}, "as many labels as inputs"),
    ],
)
def test_monitor_rejects_bad_arguments_with_a_clear_message(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Monitor(**kwargs)


def test_a_monitor_reused_for_a_second_fit_starts_its_update_ratios_afresh():
    model = _linear_model()
    monitor = Monitor((X, Y), every_n_steps=1, compile_in_background=False)
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0, callbacks=[monitor])
    first_of_second_fit = len(monitor.log.probes)
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0, callbacks=[monitor])
    second = monitor.log.probes[first_of_second_fit]
    assert second["step"] == 0
    assert _row(second["variables"], "linear/kernel")["update_ratio"] is None


def _small_classifier():
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    return model


def test_default_monitor_in_a_plain_fit_probes_the_first_steps_even_while_its_probe_compiles():
    x = RNG.normal(size=(64, 4)).astype("float32")
    y = RNG.integers(0, 3, size=64)
    logs = []
    for background in (True, False):
        keras.utils.set_random_seed(5)
        monitor = Monitor((x[:16], y[:16]), compile_in_background=background)
        _small_classifier().fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, callbacks=[monitor])
        logs.append({p["step"]: p for p in monitor.log.probes})
        assert monitor.log.end["monitor_cpu_seconds"] > 0
        assert monitor.log.end["probe_compile_seconds"] > 0  # the compile finished during the fit
    kept, on_time = logs
    assert {0, 1, 2, 4, 8} <= set(kept) and {0, 1, 2, 4, 8} <= set(on_time)
    for step in (0, 1, 2, 4, 8):  # weights kept while compiling give the same figures as on time
        assert kept[step]["loss"] == pytest.approx(on_time[step]["loss"], rel=1e-5)
        norms = [[row["grad_norm"] for row in log[step]["variables"].values()] for log in (kept, on_time)]
        np.testing.assert_allclose(norms[0], norms[1], rtol=1e-4)


def test_monitor_train_labels_record_the_class_distribution_of_the_training_set():
    y = np.array([0] * 60 + [1] * 4)
    x = RNG.normal(size=(64, 4)).astype("float32")
    monitor = Monitor((x[:8], y[:8]), train_labels=y)
    _small_classifier().fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[monitor])
    assert monitor.log.data("train")["y"]["counts"] == [60, 4]
    assert monitor.log.data("train")["samples"] == 64


def test_monitor_validation_data_records_the_validation_set_and_its_copies_of_training_samples():
    x = RNG.normal(size=(200, 4)).astype("float32")
    y = RNG.integers(0, 3, size=200)
    x_val, y_val = np.concatenate([x[:50], x[-10:] + 10]), np.concatenate([y[:50], y[-10:]])  # 50 of 60 copied
    monitor = Monitor((x[:64], y[:64]), train_labels=y, validation_data=(x_val, y_val))
    _small_classifier().fit(x, y, batch_size=16, epochs=1, verbose=0, validation_data=(x_val, y_val),
                            callbacks=[monitor])
    assert monitor.log.data("val")["samples"] == 60
    overlap = monitor.log.data("overlap")
    assert overlap["train_rows_compared"] == 64 and overlap["train_rows_in_val"] == 50
    finding = next(f for f in diagnose(monitor.log) if f.code == "BAD_INPUTS")
    assert finding.evidence["problem"] == "train_val_overlap" and finding.message.startswith("About 60 of 60")
    clean = Monitor((x[:64], y[:64]), validation_data=(x_val[50:], y_val[50:]))
    _small_classifier().fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[clean])
    assert clean.log.data("overlap")["val_in_train"] == 0


def test_probe_loss_counts_add_loss_and_activity_regularizer_terms():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(
        3, activity_regularizer=keras.regularizers.L2(0.5), name="linear")])
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    model.get_layer("linear").set_weights([W0, B0])
    expected = model.evaluate(X, Y, batch_size=8, verbose=0)
    monitor = Monitor((X, Y), every_n_steps=1)
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0, callbacks=[monitor])
    assert expected > np.mean((X @ W0 + B0 - Y) ** 2) * 1.5  # the regularizer is a large part
    np.testing.assert_allclose(_probe(monitor.log, 0)["loss"], expected, rtol=1e-4)


def _two_input_model():
    left, right = keras.Input((4,), name="left"), keras.Input((2,), name="right")
    joined = keras.layers.Concatenate()([keras.layers.Dense(3)(left), right])
    model = keras.Model([left, right], keras.layers.Dense(3, name="out")(joined))
    model.compile(optimizer="sgd", loss="mse")
    return model


class DelegatingTrainStep(keras.Model):
    """A model with its own train_step (here it adds nothing but a call through)."""

    def train_step(self, *args, **kwargs):
        return super().train_step(*args, **kwargs)


def _custom_train_step_model():
    inputs = keras.Input((4,))
    model = DelegatingTrainStep(inputs, keras.layers.Dense(3)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    return model


def _dict_output_model():
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(5, activation="relu")(inputs)
    model = keras.Model(inputs, {"a": keras.layers.Dense(3, name="a")(hidden),
                                 "b": keras.layers.Dense(1, name="b")(hidden)})
    model.compile(optimizer="sgd", loss={"a": "mse", "b": "mse"})
    return model


class AddsLoss(keras.layers.Layer):
    def call(self, inputs):
        self.add_loss(0.1 * keras.ops.mean(keras.ops.square(inputs)))
        return inputs


def _add_loss_model():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(3)(AddsLoss()(keras.layers.Dense(4)(inputs))))
    model.compile(optimizer="sgd", loss="mse")
    return model


@pytest.mark.parametrize(
    "build, data",
    [
        (_two_input_model, lambda: ([X, X[:, :2]], Y)),
        (_custom_train_step_model, lambda: (X, Y)),
        (_dict_output_model, lambda: (X, {"a": Y, "b": Y[:, :1]})),
        (_add_loss_model, lambda: (X, Y)),
    ],
    ids=["multi-input-list", "custom-train-step", "dict-outputs", "add-loss"],
)
def test_monitor_never_raises_inside_fit_and_records_what_it_could(build, data):
    x, y = data()
    model = build()
    monitor = Monitor((x, y))  # default settings
    history = model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[monitor])
    assert len(history.history["loss"]) == 2
    assert monitor.log.probes and monitor.log.end["status"] == "completed"
    assert [e["epoch"] for e in monitor.log.epochs] == [0, 1]
    assert not [note for note in monitor.log.notes if "internal error" in note]


def test_an_internal_failure_is_one_note_and_training_goes_on():
    model = _linear_model()
    monitor = Monitor((X, Y), every_n_steps=1)

    def broken(step):
        raise RuntimeError("a bug in the schedule")

    monitor._schedule.due = broken
    history = model.fit(X, Y, batch_size=4, epochs=2, verbose=0, callbacks=[monitor])
    assert len(history.history["loss"]) == 2
    notes = [n for n in monitor.log.notes if "internal error" in n]
    assert len(notes) == 1 and "a bug in the schedule" in notes[0]
    assert monitor.log.end["status"] == "completed"


def test_fixed_schedule_probes_depend_on_the_step_count_only():
    from kerasdoctor.monitor.schedule import FixedSchedule

    schedule = FixedSchedule()
    schedule.start(steps_per_epoch=100, epochs=50)  # 5,000 steps: about 200 probes
    steps = []
    for step in range(5000):
        if schedule.due(step):
            schedule.taken(step)
            steps.append(step)
    assert steps[:8] == [0, 1, 2, 4, 8, 16, 25, 32]
    assert 195 <= len(steps) <= 210


def _fit_with_a_probe_that_fails_once(monitor, epochs):
    """Trains the linear model with batch size 1 (8 steps an epoch); the third probe raises."""
    from kerasdoctor.monitor.probe import ProbeProgram

    calls, finish = {"count": 0}, ProbeProgram.finish  # every probe ends in finish

    def fails_on_the_third_call(self, *args, **kwargs):
        calls["count"] += 1
        if calls["count"] == 3:
            raise RuntimeError("a probe that fails once")
        return finish(self, *args, **kwargs)

    ProbeProgram.finish = fails_on_the_third_call
    try:
        return _linear_model(learning_rate=0.01).fit(X, Y, batch_size=1, epochs=epochs, verbose=0,
                                                     callbacks=[monitor])
    finally:
        ProbeProgram.finish = finish


def test_after_a_failed_probe_the_monitor_records_weights_on_schedule_to_the_end():
    monitor = Monitor((X, Y), every_n_steps=5)
    _fit_with_a_probe_that_fails_once(monitor, epochs=15)  # 120 steps
    steps = [p["step"] for p in monitor.log.probes]
    assert steps == list(range(0, 121, 5))
    assert "weight_norm" in _row(monitor.log.probes[-1]["variables"], "linear/kernel")
    assert not [note for note in monitor.log.notes if "while the probe step compiled" in note]


def test_a_fixed_schedule_refuses_a_background_compilation():
    with pytest.raises(ValueError, match="fixed schedule compiles the probe step before the first step"):
        Monitor((X, Y), schedule="fixed", compile_in_background=True)


def _early_stopped_fit(callbacks_before, callbacks_after, restore=True, patience=2):
    """A linear model whose validation targets are the training targets negated, so that its
    validation loss is best after the first epoch and rises from then on."""
    x = RNG.normal(size=(64, 4)).astype("float32")
    y = (x @ W0[::-1] - B0).astype("float32")  # not the weights the model starts from
    model = _linear_model(learning_rate=0.05)
    stopper = keras.callbacks.EarlyStopping(patience=patience, restore_best_weights=restore)
    saved = []
    keep = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: saved.append(model.get_weights()))
    monitor = Monitor((x[:16], y[:16]), every_n_steps=4, compile_in_background=False)
    callbacks = [keep] + [monitor if c == "monitor" else stopper for c in callbacks_before + callbacks_after]
    keras.utils.set_random_seed(3)
    model.fit(x, y, validation_data=(x, -y), batch_size=16, epochs=20, verbose=0, callbacks=callbacks)
    return model, monitor, saved


@pytest.mark.parametrize("order", [("stopper", "monitor"), ("monitor", "stopper")])
def test_the_monitor_records_the_epoch_whose_weights_early_stopping_restored(order):
    model, monitor, saved = _early_stopped_fit(list(order), [])
    epochs = len(monitor.log.epochs)
    assert epochs < 20  # it stopped early
    best = min(range(epochs), key=lambda e: monitor.log.epochs[e]["logs"]["val_loss"])
    if order[0] == "stopper":  # Keras restores in on_train_end: a Monitor after it sees it
        assert monitor.log.end["restored_epoch"] == best < epochs - 1
        for restored, final in zip(saved[best], model.get_weights()):
            np.testing.assert_array_equal(restored, final)
    else:  # a Monitor before it ends first and cannot know (the docstring says so)
        assert "restored_epoch" not in monitor.log.end


def test_the_monitor_records_no_restored_epoch_when_the_weights_are_the_last_epochs():
    _, monitor, _ = _early_stopped_fit(["stopper", "monitor"], [], restore=False)
    assert "restored_epoch" not in monitor.log.end
    _, monitor, _ = _early_stopped_fit(["stopper", "monitor"], [], patience=100)  # never stops, restores the best
    assert len(monitor.log.epochs) == 20
    assert monitor.log.end.get("restored_epoch") == min(
        range(20), key=lambda e: monitor.log.epochs[e]["logs"]["val_loss"])


def test_a_default_monitor_leaves_training_unchanged_and_records_its_probes_in_step_order():
    # The default Monitor compiles in the background while training starts, keeps the steps due
    # meanwhile as copies of the weights, and most steps return before its watched hook.
    x = RNG.normal(size=(64, 4)).astype("float32")
    y = RNG.normal(size=(64, 3)).astype("float32")
    weights, monitor = [], Monitor((x[:16], y[:16]))
    for callbacks in ([], [monitor]):
        model = _regularized_model()
        keras.utils.set_random_seed(11)
        model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=callbacks)
        weights.append(model.get_weights())
    for plain, monitored in zip(*weights):
        np.testing.assert_array_equal(plain, monitored)
    steps = [p["step"] for p in monitor.log.probes]
    assert steps == sorted(set(steps)) and {0, 1, 2, 4, 8, 16, 24} <= set(steps)  # 24: the trained weights
    assert all("grad_norm" in row for p in monitor.log.probes for row in p["variables"].values())
    assert monitor.log.end["status"] == "completed" and not monitor.log.notes


def test_a_probe_that_fails_under_a_default_monitor_is_one_note_and_the_run_goes_on():
    monitor = Monitor((X, Y))
    history = _fit_with_a_probe_that_fails_once(monitor, epochs=5)  # 40 steps
    assert len(history.history["loss"]) == 5 and monitor.log.end["status"] == "completed"
    notes = [note for note in monitor.log.notes if "a probe failed" in note]
    assert len(notes) == 1 and "a probe that fails once" in notes[0]
    probes = monitor.log.probes
    assert "grad_norm" in _row(probes[1]["variables"], "linear/kernel")
    assert all("grad_norm" not in _row(p["variables"], "linear/kernel") for p in probes[2:])
    assert probes[-1]["step"] == 40  # the trained weights, as weight statistics


def test_the_restored_epoch_is_found_when_the_weights_are_summed_on_the_device(monkeypatch):
    from kerasdoctor.monitor import monitor as monitor_module

    monkeypatch.setattr(monitor_module, "HOST_SUM_ELEMENTS", 0)  # every variable as if it were large
    model, monitor, saved = _early_stopped_fit(["stopper", "monitor"], [])
    best = min(range(len(monitor.log.epochs)), key=lambda e: monitor.log.epochs[e]["logs"]["val_loss"])
    assert monitor.log.end["restored_epoch"] == best < len(monitor.log.epochs) - 1


@pytest.mark.parametrize("dtype", ["float32", "int32", "float64", "int64", "bool"])
def test_probe_data_goes_to_the_device_as_keras_would_convert_it(dtype):
    from kerasdoctor import _backends

    value = (RNG.normal(size=(5, 3)) * 4).astype(dtype)
    moved, converted = _backends.to_device(value), keras.ops.convert_to_tensor(value)
    assert keras.backend.standardize_dtype(moved.dtype) == keras.backend.standardize_dtype(converted.dtype)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(moved), keras.ops.convert_to_numpy(converted))


def test_a_snapshot_of_the_weights_keeps_its_values_when_the_weights_change():
    from kerasdoctor import _backends

    model = _linear_model()
    before = [np.array(v) for v in model.get_weights()]
    copies = _backends.snapshot(model.trainable_variables)
    for variable in model.trainable_variables:
        variable.assign(variable.value * 0.0 + 7.0)
    for copy, value in zip(copies, before):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(copy), value)


def test_a_probe_of_the_current_weights_equals_one_of_their_snapshot_and_leaves_them_usable():
    # A steady probe reads the weights as they are (no copy on JAX); it must record what a probe
    # of a copy records, and training must go on with the same weights afterwards.
    from kerasdoctor.monitor.probe import ProbeProgram

    model = _linear_model()
    program = ProbeProgram(model, X, Y)
    program.compile(program.snapshot())
    current = program.run(None)
    copied = program.run(None, program.snapshot())
    assert current[0] == copied[0] and current[1] == copied[1] and current[2] == copied[2]
    held = [np.array(w, copy=True) for w in current[3]]  # the weights the Monitor keeps as `previous`
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0)  # the next step may donate what the probe read
    for kept, copy in zip(current[3], held):
        np.testing.assert_array_equal(kept, copy)
    after = program.run(None)
    assert after[0] != current[0]
    np.testing.assert_array_equal(after[3][0], keras.ops.convert_to_numpy(model.trainable_variables[0].value))


def _probe_records(monkeypatch, asynchronous):
    """The probes of a fixed-schedule Monitor on a small model, and how many were started to be
    read back later; ``asynchronous=False`` runs every probe to its end at once."""
    from kerasdoctor import _backends
    from kerasdoctor.monitor import monitor as monitor_module

    monkeypatch.setattr(_backends, "ASYNC_DISPATCH", _backends.ASYNC_DISPATCH and asynchronous)
    started = {"count": 0}
    start_probe = monitor_module.Monitor._start_probe

    def counted(self, *args):
        started["count"] += 1
        return start_probe(self, *args)

    monkeypatch.setattr(monitor_module.Monitor, "_start_probe", counted)
    rng = np.random.default_rng(3)  # the same data for each call
    x = rng.normal(size=(64, 4)).astype("float32")
    y = rng.normal(size=(64, 3)).astype("float32")
    monitor = Monitor((x[:16], y[:16]), every_n_steps=3)
    keras.utils.set_random_seed(7)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.BatchNormalization(), keras.layers.Dense(3)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")  # no dropout: probes repeat exactly
    model.fit(x, y, batch_size=8, epochs=4, verbose=0, callbacks=[monitor])
    # Each model has its own layer names: rows are compared in order.
    probes = [{key: list(value.values()) if key in ("variables", "layers") else value
               for key, value in probe.items() if key != "seconds"} for probe in monitor.log.probes]
    return probes, started["count"], model.get_weights()


def test_probes_read_back_later_record_what_probes_run_to_their_end_record(monkeypatch):
    # Where the backend dispatches asynchronously (JAX), a probe of the current weights is started
    # at its step and recorded at a later hook; the record must be the same, in step order, and
    # training must not change.
    from kerasdoctor import _backends

    waited, none_started, weights = _probe_records(monkeypatch, asynchronous=False)
    later, started, later_weights = _probe_records(monkeypatch, asynchronous=True)
    assert none_started == 0
    # Step 0 reads the compilation's run, and the trained weights are probed at once.
    assert started == (len(later) - 2 if _backends.ASYNC_DISPATCH else 0)
    assert [p["step"] for p in later] == list(range(0, 31, 3)) + [32]  # 32: the trained weights
    assert later == waited
    for plain, other in zip(weights, later_weights):
        np.testing.assert_array_equal(plain, other)


def test_a_probe_read_back_later_that_fails_is_one_note_and_the_run_goes_on(monkeypatch):
    from kerasdoctor.monitor.probe import ProbeProgram

    calls, finish = {"count": 0}, ProbeProgram.finish

    def fails_on_the_fifth_call(self, *args, **kwargs):
        calls["count"] += 1
        if calls["count"] == 5:
            raise RuntimeError("a probe that fails once")
        return finish(self, *args, **kwargs)

    monkeypatch.setattr(ProbeProgram, "finish", fails_on_the_fifth_call)
    monitor = Monitor((X, Y), every_n_steps=4)
    history = _linear_model(learning_rate=0.01).fit(X, Y, batch_size=1, epochs=5, verbose=0, callbacks=[monitor])
    assert len(history.history["loss"]) == 5 and monitor.log.end["status"] == "completed"
    notes = [note for note in monitor.log.notes if "a probe failed" in note]
    assert len(notes) == 1 and "a probe that fails once" in notes[0]
    probes = monitor.log.probes
    assert [p["step"] for p in probes] == list(range(0, 41, 4))
    assert all("grad_norm" in _row(p["variables"], "linear/kernel") for p in probes[:4])
    assert all("grad_norm" not in _row(p["variables"], "linear/kernel") for p in probes[4:])
    assert all("weight_norm" in _row(p["variables"], "linear/kernel") for p in probes)


def test_the_probe_of_the_state_the_step_was_compiled_for_reads_the_compilations_run():
    # On JAX the compilation runs the step once (its first run sets up its kernels); the probe of
    # that same state reads that run instead of running the step again, and records the same.
    # Elsewhere the step first runs at the first probe.
    from kerasdoctor.monitor.probe import ProbeProgram

    program = ProbeProgram(_linear_model(), X, Y)
    state = program.snapshot()
    program.compile(state)
    calls, step = {"count": 0}, program._step

    def counted(*args):
        calls["count"] += 1
        return step(*args)

    program._step = counted
    read = 1 if keras.backend.backend() == "jax" else 0  # runs read from the compilation
    first = program.run(None, state)
    assert calls["count"] == 1 - read
    again = program.run(None, state)  # the compilation's run is read once only
    assert calls["count"] == 2 - read
    assert first[0] == again[0] and first[1] == again[1] and first[2] == again[2]


class _RaisesAt(keras.callbacks.Callback):
    def __init__(self, step):
        super().__init__()
        self.step = step

    def on_train_batch_begin(self, batch, logs=None):
        if batch == self.step:
            raise RuntimeError("the user's fit fails here")


def test_after_a_fit_that_raised_finish_probes_records_the_probes_still_running():
    # On JAX the probe of step 6 is started there and read back at a later hook; the failing
    # callback comes first, so no hook of the Monitor runs after it.
    monitor = Monitor((X, Y), every_n_steps=2)
    with pytest.raises(RuntimeError, match="fails here"):
        _linear_model(learning_rate=0.01).fit(X, Y, batch_size=1, epochs=2, verbose=0,
                                              callbacks=[_RaisesAt(7), monitor])
    monitor.finish_probes()
    monitor.finish_probes()  # nothing left: records nothing twice
    assert [p["step"] for p in monitor.log.probes] == [0, 2, 4, 6]
    assert all("grad_norm" in _row(p["variables"], "linear/kernel") for p in monitor.log.probes)


def test_a_model_whose_copies_would_take_too_much_memory_is_probed_at_once(monkeypatch):
    # Each probe read back later holds a copy of the weights: past MAX_PENDING_BYTES in flight the
    # Monitor probes at once, reading the weights without a copy, and records the same.
    from kerasdoctor.monitor import monitor as monitor_module

    monkeypatch.setattr(monitor_module, "MAX_PENDING_BYTES", 1)
    later, started, _ = _probe_records(monkeypatch, asynchronous=True)
    assert started == 0
    waited, _, _ = _probe_records(monkeypatch, asynchronous=False)
    assert later == waited
