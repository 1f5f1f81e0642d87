"""Contract suite for schedules and initializers, run on the active backend."""

import math

import numpy as np
import pytest

import kerasdoctor  # noqa: F401  (chooses the backend)
import keras

from kerasdoctor.initializers import fit_initializers, for_activation, lsuv
from kerasdoctor.schedules import (
    SCHEDULES,
    CyclicalLearningRate,
    ExponentialCyclicalLearningRate,
    OneCycle,
    Triangular2CyclicalLearningRate,
)


def one_cycle_reference(step, peak=0.1, total=100, pct=0.25, div=25.0, final_div=1e4):
    initial, warm = peak / div, pct * total
    final = initial / final_div
    cos = lambda start, end, f: end + (start - end) / 2 * (1 + math.cos(math.pi * min(max(f, 0.0), 1.0)))
    return cos(initial, peak, step / warm) if step <= warm else cos(peak, final, (step - warm) / (total - warm))


def cyclical_reference(step, low=0.01, high=0.1, size=10, mode="triangular", gamma=1.0):
    cycle = math.floor(1 + step / (2 * size))
    x = abs(step / size - 2 * cycle + 1)
    scale = {"triangular": 1.0, "triangular2": 1 / 2 ** (cycle - 1), "exp_range": gamma**step}[mode]
    return low + (high - low) * max(0.0, 1 - x) * scale


# name -> (schedule, reference(step))
CASES = {
    "OneCycle": (lambda: OneCycle(0.1, total_steps=100), one_cycle_reference),
    "CyclicalLearningRate": (
        lambda: CyclicalLearningRate(0.01, 0.1, step_size=10, mode="triangular2"),
        lambda s: cyclical_reference(s, mode="triangular2"),
    ),
}
STEPS = [0, 1, 5, 10, 24, 25, 26, 40, 63, 99, 100, 150]


def test_every_registered_schedule_has_a_contract_case():
    assert sorted(CASES) == sorted(SCHEDULES)


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedule_golden_values(name):
    schedule, reference = CASES[name][0](), CASES[name][1]
    for step in STEPS:
        got = float(keras.ops.convert_to_numpy(schedule(step)))
        assert got == pytest.approx(reference(step), rel=1e-5, abs=1e-9), f"{name} at step {step}"


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedule_config_round_trip(name):
    schedule = CASES[name][0]()
    rebuilt = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(schedule))
    assert type(rebuilt) is type(schedule) and rebuilt.get_config() == schedule.get_config()


def test_one_cycle_follows_fastai_shape():
    schedule = OneCycle(1.0, total_steps=1000)
    value = lambda s: float(keras.ops.convert_to_numpy(schedule(s)))
    assert value(0) == pytest.approx(1 / 25)
    assert value(250) == pytest.approx(1.0)
    assert value(1000) == pytest.approx(1 / 25 / 1e4)
    assert value(2000) == pytest.approx(1 / 25 / 1e4)


@pytest.mark.parametrize(
    "make, mode, gamma",
    [(lambda: Triangular2CyclicalLearningRate(0.01, 0.1, 10), "triangular2", 1.0),
     (lambda: ExponentialCyclicalLearningRate(0.01, 0.1, 10, gamma=0.99), "exp_range", 0.99)],
)
def test_tensorflow_addons_variants_keep_their_semantics(make, mode, gamma):
    schedule = make()
    for step in STEPS:
        got = float(keras.ops.convert_to_numpy(schedule(step)))
        assert got == pytest.approx(cyclical_reference(step, mode=mode, gamma=gamma), rel=1e-5)


def test_schedule_drives_an_optimizer_in_fit():
    x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(OneCycle(0.05, total_steps=8)), loss="mse")
    model.fit(x, x[:, :1], batch_size=16, epochs=2, verbose=0)
    expected = one_cycle_reference(8, peak=0.05, total=8)
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("kwargs", [{"total_steps": 1}, {"pct_start": 1.0}, {"anneal_strategy": "step"}])
def test_one_cycle_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        OneCycle(0.1, **{"total_steps": 100, **kwargs})


@pytest.mark.parametrize(
    "activation, expected",
    [("relu", "HeNormal"), ("gelu", "HeNormal"), ("selu", "LecunNormal"), ("tanh", "GlorotNormal"),
     ("sigmoid", "GlorotNormal"), ("linear", "GlorotNormal"), (None, "GlorotNormal")],
)
def test_for_activation_picks_the_matching_variance_scaling(activation, expected):
    assert type(for_activation(activation)).__name__ == expected


def test_for_activation_rejects_an_unknown_activation():
    with pytest.raises(ValueError, match="No rule for the activation"):
        for_activation("bent_identity")


def test_fit_initializers_follows_separate_activation_layers():
    model = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(16), keras.layers.ReLU(),
         keras.layers.Dense(16, activation="selu"), keras.layers.Dense(2, activation="softmax")]
    )
    before = model.layers[0].get_weights()[0].copy()
    chosen = fit_initializers(model, seed=1)
    assert list(chosen.values()) == ["HeNormal", "LecunNormal", "GlorotNormal"]
    assert not np.array_equal(before, model.layers[0].get_weights()[0])


def test_lsuv_gives_unit_output_variance_in_dense_and_conv_layers():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 1))
    h = keras.layers.Conv2D(8, 3, activation="relu", name="conv")(inputs)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(32, activation="tanh", name="hidden")(h)
    model = keras.Model(inputs, keras.layers.Dense(10, name="out")(h))
    x = np.random.default_rng(0).uniform(0, 255, size=(128, 8, 8, 1)).astype("float32")
    reached = lsuv(model, x, tol=0.05, seed=0)
    assert set(reached) == {"conv", "hidden", "out"}
    assert all(abs(v - 1.0) < 0.05 for v in reached.values()), reached
    assert model.get_layer("conv").activation is keras.activations.relu


def test_lsuv_rejects_a_subclassed_model():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    model = Net()
    model(np.zeros((1, 3), "float32"))
    with pytest.raises(ValueError, match="subclassed"):
        lsuv(model, np.zeros((4, 3), "float32"))
