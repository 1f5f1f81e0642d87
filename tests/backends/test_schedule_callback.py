"""ScheduleCallback gives a compiled model the same run as compiling the schedule in, on every backend."""

import keras
import numpy as np
import pytest

from kerasdoctor.schedules import OneCycle, ScheduleCallback


def _data():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(192, 6)).astype("float32")
    y = (x[:, :2].sum(axis=1) > 0).astype("int32")
    return x, y


def _model(learning_rate):
    keras.utils.set_random_seed(5)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(12, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.Adam(learning_rate), "sparse_categorical_crossentropy")
    return model


def test_callback_run_matches_the_compiled_schedule():
    x, y = _data()
    total = 3 * 6  # 3 epochs of 6 batches of 32
    compiled = _model(OneCycle(0.05, total_steps=total))
    scheduled = _model(0.05)
    callback = ScheduleCallback(OneCycle(0.05, total_steps=total))
    compiled.fit(x, y, epochs=3, batch_size=32, shuffle=False, verbose=0)
    scheduled.fit(x, y, epochs=3, batch_size=32, shuffle=False, verbose=0, callbacks=[callback])
    assert callback.step == total
    last = float(keras.ops.convert_to_numpy(OneCycle(0.05, total_steps=total)(total - 1)))
    assert float(keras.ops.convert_to_numpy(scheduled.optimizer.learning_rate)) == pytest.approx(last, rel=1e-5)
    for a, b in zip(compiled.get_weights(), scheduled.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    # and it is not the constant-rate run
    constant = _model(0.05)
    constant.fit(x, y, epochs=3, batch_size=32, shuffle=False, verbose=0)
    assert not np.allclose(constant.get_weights()[0], scheduled.get_weights()[0], atol=1e-4)


def test_rejects_what_is_not_a_schedule():
    with pytest.raises(ValueError, match="schedule"):
        ScheduleCallback(0.1)


def test_steps_per_execution_keeps_the_count_in_steps():
    x, y = _data()
    total = 3 * 6
    model = _model(0.05)
    model.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy", steps_per_execution=3)
    schedule = OneCycle(0.05, total_steps=total)
    callback = ScheduleCallback(schedule)
    if keras.backend.backend() == "torch":  # Keras runs one step per execution there (so speed does not offer it)
        with pytest.raises(ValueError, match="steps_per_execution"):
            model.fit(x, y, epochs=3, batch_size=32, shuffle=False, verbose=0, callbacks=[callback])
        return
    model.fit(x, y, epochs=3, batch_size=32, shuffle=False, verbose=0, callbacks=[callback])
    assert callback.step == total
    # the rate is written before each execution of 3 steps: the last one starts at step 15
    last = float(keras.ops.convert_to_numpy(schedule(total - 3)))
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(last, rel=1e-5)
