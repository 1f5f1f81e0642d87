"""The recommended recipe (batch size, one-cycle peak from the range test, its fit), and the
range test's batch-by-batch path for models compiled with steps_per_execution > 1."""

from types import SimpleNamespace

import keras
import numpy as np
import pytest

from kerasdoctor.tune.lr_find import END_LR, START_LR, lr_find
from kerasdoctor.tune.recipe import ShuffledBatches, choose_batch_size, recommend


def test_batch_size_is_the_largest_power_of_two_with_enough_steps():
    assert choose_batch_size(1437) == 64  # 22 steps; 128 would give 11
    assert choose_batch_size(60_000) == 256  # capped
    assert choose_batch_size(100) == 16  # the smallest even below min_steps
    assert choose_batch_size(1437, min_steps=10) == 128


def test_shuffled_batches_are_full_distinct_and_reshuffled():
    x = np.arange(50, dtype="float32")[:, None]
    y = np.arange(50)
    batches = ShuffledBatches(x, y, 8, seed=0)
    assert len(batches) == 6

    def epoch():
        rows = [batches[i][1] for i in range(len(batches))]
        assert all(len(r) == 8 for r in rows)
        seen = np.concatenate(rows)
        assert len(set(seen.tolist())) == 48
        return seen

    first = epoch()
    batches.on_epoch_end()
    assert not np.array_equal(first, epoch())
    with pytest.raises(ValueError, match="fewer than one batch"):
        ShuffledBatches(x[:4], y[:4], 8)


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(700, 10)).astype("float32")
    y = (x[:, :4].sum(axis=1) > 0).astype("int32")
    return SimpleNamespace(x_train=x[:600], y_train=y[:600], validation=(x[600:], y[600:]))


def _build():
    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_recommend_then_fit_trains_with_one_cycle_on_the_same_model():
    data = _data()
    keras.utils.set_random_seed(0)
    model = _build()
    recipe = recommend(_build, data, epochs=4, model=model)
    assert recipe.batch_size == 16 and recipe.steps_per_epoch == 600 // 16
    assert recipe.max_learning_rate >= recipe.lr_find_suggestion > 0
    history = recipe.fit(model, data.x_train, data.y_train, validation_data=data.validation)
    assert len(history.history["val_accuracy"]) == 4
    assert history.history["val_accuracy"][-1] > 0.8  # a separable task, learnt
    last = float(keras.ops.convert_to_numpy(recipe.schedule()(4 * recipe.steps_per_epoch - 1)))
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(last, rel=1e-5)


def _state(model):
    return ([np.array(w) for w in model.get_weights()],
            [np.array(keras.ops.convert_to_numpy(v)) for v in model.optimizer.variables])


def test_lr_find_with_steps_per_execution_steps_batch_by_batch_and_restores():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8)).astype("float32")
    y = (x[:, :3].sum(axis=1) > 0).astype("int32")
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.Adam(2e-3), "sparse_categorical_crossentropy", steps_per_execution=4)
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    before = _state(model)
    result = lr_find(model, x, y, batch_size=32, num_steps=30)
    assert len(result.learning_rates) >= 3 and result.raw_losses[0] > 0
    # one rate per batch, not per execution of 4
    assert np.allclose(np.diff(np.log(result.learning_rates)), np.log(END_LR / START_LR) / 29)
    after = _state(model)
    assert len(after[1]) == len(before[1])
    for a, b in zip(before[0] + before[1], after[0] + after[1]):
        np.testing.assert_array_equal(a, b)
