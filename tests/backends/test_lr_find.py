"""The learning-rate range test leaves the model exactly as it found it, on every backend."""

import keras
import numpy as np

from kerasdoctor.tune.lr_find import lr_find


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8)).astype("float32")
    y = (x[:, :3].sum(axis=1) > 0).astype("int32")
    return x, y


def _model(seed=3):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.BatchNormalization(), keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.Adam(2e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _state(model):
    return ([np.array(w) for w in model.get_weights()],
            [np.array(keras.ops.convert_to_numpy(v)) for v in model.optimizer.variables])


def test_lr_find_restores_weights_optimizer_state_and_learning_rate():
    x, y = _data()
    model = _model()
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)  # optimizer state that is not zero
    before = _state(model)
    result = lr_find(model, x, y, batch_size=32, num_steps=30)
    after = _state(model)
    assert len(result.learning_rates) >= 3 and result.low <= result.suggestion <= result.high
    for a, b in zip(before[0] + before[1], after[0] + after[1]):
        np.testing.assert_array_equal(a, b)
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == np.float32(2e-3)


def test_training_after_lr_find_is_identical_to_training_without_it():
    x, y = _data()
    plain, probed = _model(), _model()
    lr_find(probed, x, y, batch_size=32, num_steps=30)
    for model in (plain, probed):
        keras.utils.set_random_seed(11)
        model.fit(x, y, epochs=2, batch_size=32, verbose=0, shuffle=False)
    for a, b in zip(plain.get_weights(), probed.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)

