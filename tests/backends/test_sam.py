"""SAM on the active backend: one step against a hand computation, fit, save and load."""

import numpy as np
import pytest

import kerasdoctor  # noqa: F401  (chooses the backend)
import keras

from kerasdoctor.optimizers import SAM

RNG = np.random.default_rng(5)
X = RNG.normal(size=(8, 4)).astype("float32")
Y = RNG.normal(size=(8, 2)).astype("float32")
W0 = RNG.normal(size=(4, 2)).astype("float32")
B0 = RNG.normal(size=(2,)).astype("float32")


def _mse_gradients(w, b):
    residual = X.astype(np.float64) @ w + b - Y
    scale = 2.0 / residual.size
    return scale * X.T.astype(np.float64) @ residual, scale * residual.sum(axis=0)


def _linear():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="linear")])
    model.get_layer("linear").set_weights([W0, B0])
    return model


def test_one_sam_step_matches_the_papers_update():
    rho, lr = 0.1, 0.5
    sam = SAM(_linear(), rho=rho)
    sam.compile(optimizer=keras.optimizers.SGD(lr), loss="mse")
    sam.fit(X, Y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    g_w, g_b = _mse_gradients(W0.astype(np.float64), B0.astype(np.float64))
    norm = np.sqrt(np.sum(g_w**2) + np.sum(g_b**2))
    e_w, e_b = rho * g_w / norm, rho * g_b / norm
    s_w, s_b = _mse_gradients(W0 + e_w, B0 + e_b)
    w, b = sam.wrapped.get_layer("linear").get_weights()
    np.testing.assert_allclose(w, W0 - lr * s_w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b, B0 - lr * s_b, rtol=1e-5, atol=1e-6)


def _classifier():
    keras.utils.set_random_seed(1)
    return keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(16, activation="relu"), keras.layers.BatchNormalization(),
         keras.layers.Dense(2, activation="softmax")]
    )


def test_sam_trains_a_classifier_and_logs_its_metrics():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 6)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int32")
    sam = SAM(_classifier())
    sam.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = sam.fit(x, y, batch_size=32, epochs=10, verbose=0)
    assert history.history["loss"][-1] < 0.6 * history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.85
    assert sam.evaluate(x, y, verbose=0)[1] > 0.85


def test_sam_saves_and_loads_inside_a_keras_file(tmp_path):
    sam = SAM(_classifier(), rho=0.02)
    sam.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(1).normal(size=(32, 6)).astype("float32")
    sam.fit(x, (x[:, 0] > 0).astype("int32"), epochs=1, verbose=0)
    sam.save(tmp_path / "sam.keras")
    loaded = keras.saving.load_model(tmp_path / "sam.keras")
    assert isinstance(loaded, SAM) and loaded.rho == 0.02
    np.testing.assert_allclose(loaded.predict(x, verbose=0), sam.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_sam_rejects_bad_arguments():
    with pytest.raises(ValueError, match="rho"):
        SAM(_linear(), rho=0.0)
    with pytest.raises(ValueError, match="wraps a keras.Model"):
        SAM("model")
