"""`repair` on the backend this process runs (tests/integration/test_backends.py runs this file on
JAX, TensorFlow and PyTorch): the paused runs of the loop, a rebuilt model and a measured
learning rate work on each."""

import shutil
from pathlib import Path

import keras
import numpy as np

from kerasdoctor.repair import Change, apply_to_model, repair

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_repair_fixes_a_learning_rate_far_too_high(tmp_path):
    shutil.copy(EXAMPLES / "broken" / "lr_too_high.py", tmp_path / "train.py")
    # A budget wide enough that a loaded machine (the three backends' suites run side by side)
    # cannot push the second round's candidate past it: the budget is wall time, and this test is
    # about the loop on this backend, not about the default budget.
    result = repair(tmp_path / "train.py", out=tmp_path / "repair", budget=10)
    assert result.status == "repaired", result.message
    assert result.changes[0].kind == "compile" and result.changes[0].params["learning_rate"] < 1.0
    assert result.after["value"] > 0.8 and (Path(result.run_dir) / "repaired.keras").is_file()


def test_a_rebuilt_model_trains_and_the_original_is_untouched():
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="sigmoid", name="hidden"),
                              keras.layers.Dense(3, name="out")])
    model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy", metrics=["accuracy"])
    weights = [w.copy() for w in model.get_weights()]
    x = np.random.default_rng(0).normal(size=(64, 6)).astype("float32") * 50
    y = np.arange(64) % 3
    changes = [Change.make("layer", ["hidden"], activation="relu", kernel_initializer="he_normal"),
               Change.make("insert", ["hidden"], layer="BatchNormalization"),
               Change.make("input", layer="Normalization"),
               Change.make("compile", from_logits=True, optimizer="adam")]
    rebuilt = apply_to_model(model, changes, x)
    np.testing.assert_array_equal(rebuilt.get_layer("out").get_weights()[0], weights[2])  # untouched layer
    history = rebuilt.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert rebuilt.get_layer("hidden").get_config()["activation"] == "relu"
    for before, after in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(before, after)
    assert model.get_layer("hidden").get_config()["activation"] == "sigmoid"
