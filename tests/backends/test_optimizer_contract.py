"""Contract suite for keras-doctor's optimizers, run on the active backend.

Every class in OPTIMIZERS must have a CASE here; a new optimizer without one
fails the suite. Golden values compare a few steps on fixed tensors with the
float64 NumPy references in references.py.
"""

import numpy as np
import pytest

import kerasdoctor  # noqa: F401  (chooses the backend)
import keras

from kerasdoctor.optimizers import (
    OPTIMIZERS,
    AdaBelief,
    AdaptiveGradientClipping,
    Lookahead,
    Prodigy,
    RAdam,
    ScheduleFreeSGD,
)

from . import references

# name -> (make optimizer, reference, {problem: make optimizer}). The problems
# need different rates: Rosenbrock's gradients reach the hundreds, and an
# SGD-like step (ScheduleFreeSGD, RAdam's first steps) must be small there.
CASES = {
    "RAdam": (
        lambda: RAdam(0.01),
        lambda w, g: references.radam(w, g, lr=0.01),
        {"quadratic": lambda: RAdam(0.05), "rosenbrock": lambda: RAdam(0.001), "fit": lambda: RAdam(0.05)},
    ),
    "AdaBelief": (
        lambda: AdaBelief(0.01),
        lambda w, g: references.adabelief(w, g, lr=0.01),
        {"quadratic": lambda: AdaBelief(0.05), "rosenbrock": lambda: AdaBelief(0.01), "fit": lambda: AdaBelief(0.01)},
    ),
    "Prodigy": (lambda: Prodigy(), references.prodigy, {"quadratic": Prodigy, "rosenbrock": Prodigy, "fit": Prodigy}),
    "ScheduleFreeSGD": (
        lambda: ScheduleFreeSGD(0.1),
        lambda w, g: references.schedule_free_sgd(w, g, lr=0.1),
        {
            "quadratic": lambda: ScheduleFreeSGD(0.5),
            "rosenbrock": lambda: ScheduleFreeSGD(0.0005),
            "fit": lambda: ScheduleFreeSGD(0.5),
        },
    ),
    "Lookahead": (
        lambda: Lookahead(keras.optimizers.SGD(0.1), sync_period=2),
        lambda w, g: references.lookahead_sgd(w, g, lr=0.1, k=2),
        {
            "quadratic": lambda: Lookahead(keras.optimizers.Adam(0.05)),
            "rosenbrock": lambda: Lookahead(keras.optimizers.Adam(0.02)),
            "fit": lambda: Lookahead(keras.optimizers.Adam(0.01)),
        },
    ),
    "AdaptiveGradientClipping": (
        lambda: AdaptiveGradientClipping(keras.optimizers.SGD(0.1), clip_factor=0.01),
        lambda w, g: references.agc_sgd(w, g, lr=0.1, clip_factor=0.01),
        {
            "quadratic": lambda: AdaptiveGradientClipping(keras.optimizers.Adam(0.05), clip_factor=0.5),
            "rosenbrock": lambda: AdaptiveGradientClipping(keras.optimizers.Adam(0.01), clip_factor=0.5),
            "fit": lambda: AdaptiveGradientClipping(keras.optimizers.Adam(0.01), clip_factor=0.1),
        },
    ),
}
NAMES = sorted(OPTIMIZERS)
RNG = np.random.default_rng(42)
WEIGHTS = [RNG.normal(size=(3, 2)).astype("float32"), RNG.normal(size=(2,)).astype("float32")]
GRADIENTS = [[RNG.normal(size=w.shape).astype("float32") for w in WEIGHTS] for _ in range(8)]
GRADIENTS[2][0][0, 0] = 0.0  # an exact zero along the way


def test_every_registered_optimizer_has_a_contract_case():
    assert sorted(CASES) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_golden_values_match_the_numpy_reference_of_the_paper(name):
    make, reference, _ = CASES[name]
    optimizer = make()
    variables = [keras.Variable(w) for w in WEIGHTS]
    expected = reference(WEIGHTS, GRADIENTS)
    for step, grads in enumerate(GRADIENTS):
        optimizer.apply([keras.ops.convert_to_tensor(g) for g in grads], variables)
        for variable, want in zip(variables, expected[step]):
            got = keras.ops.convert_to_numpy(variable)
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=f"{name}, step {step + 1}")


def _descend(optimizer, gradient_fn, start, steps):
    variable = keras.Variable(np.asarray(start, "float32"))
    for _ in range(steps):
        point = keras.ops.convert_to_numpy(variable).astype(np.float64)
        optimizer.apply([keras.ops.convert_to_tensor(gradient_fn(point).astype("float32"))], [variable])
    return keras.ops.convert_to_numpy(variable).astype(np.float64)


@pytest.mark.parametrize("name", NAMES)
def test_descends_on_a_quadratic(name):
    center = np.array([1.0, -2.0, 3.0])
    loss = lambda p: 0.5 * np.sum((p - center) ** 2)
    start = np.zeros(3)
    end = _descend(CASES[name][2]["quadratic"](), lambda p: p - center, start, 300)
    assert loss(end) < 0.05 * loss(start)


@pytest.mark.parametrize("name", NAMES)
def test_descends_on_rosenbrock(name):
    loss = lambda p: (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2
    gradient = lambda p: np.array([-2 * (1 - p[0]) - 400 * p[0] * (p[1] - p[0] ** 2), 200 * (p[1] - p[0] ** 2)])
    start = np.array([-1.2, 1.0])
    end = _descend(CASES[name][2]["rosenbrock"](), gradient, start, 1500)
    assert np.isfinite(end).all() and loss(end) < 0.25 * loss(start)


@pytest.mark.parametrize("name", NAMES)
def test_zero_gradients_produce_no_nan_and_no_move(name):
    optimizer = CASES[name][0]()
    variables = [keras.Variable(w) for w in WEIGHTS]
    for _ in range(3):
        optimizer.apply([keras.ops.zeros(w.shape) for w in WEIGHTS], variables)
    for variable, start in zip(variables, WEIGHTS):
        values = keras.ops.convert_to_numpy(variable)
        assert np.isfinite(values).all()
        np.testing.assert_allclose(values, start, rtol=1e-6, atol=1e-7)
    assert all(np.isfinite(keras.ops.convert_to_numpy(v)).all() for v in optimizer.variables)


@pytest.mark.parametrize("name", NAMES)
def test_config_round_trip(name):
    optimizer = CASES[name][0]()
    config = optimizer.get_config()
    clone = type(optimizer).from_config(config)
    assert clone.get_config() == config
    rebuilt = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert type(rebuilt) is type(optimizer) and rebuilt.get_config() == config


def _small_problem():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 6)).astype("float32")
    y = (x[:, 0] - x[:, 1] + 0.5 * x[:, 2] > 0).astype("int32")
    return x, y


def _classifier(optimizer):
    keras.utils.set_random_seed(3)
    model = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(2, activation="softmax")]
    )
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    return model


@pytest.mark.parametrize("name", NAMES)
def test_keras_file_round_trip_keeps_optimizer_state(name, tmp_path):
    x, y = _small_problem()
    model = _classifier(CASES[name][2]["fit"]())
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded.optimizer) is type(model.optimizer)
    before = [keras.ops.convert_to_numpy(v) for v in model.optimizer.variables]
    after = [keras.ops.convert_to_numpy(v) for v in loaded.optimizer.variables]
    assert len(before) == len(after)
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)
    model.fit(x[:32], y[:32], batch_size=32, epochs=1, verbose=0, shuffle=False)
    loaded.fit(x[:32], y[:32], batch_size=32, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_fit_trains_a_small_model(name):
    x, y = _small_problem()
    model = _classifier(CASES[name][2]["fit"]())
    history = model.fit(x, y, batch_size=16, epochs=8, verbose=0)
    losses = history.history["loss"]
    assert np.isfinite(losses).all() and losses[-1] < 0.7 * losses[0]


def test_wrappers_reject_base_arguments_meant_for_the_inner_optimizer():
    with pytest.raises(ValueError, match="Set `clipnorm` on the wrapped optimizer"):
        Lookahead(keras.optimizers.Adam(), clipnorm=1.0)
    with pytest.raises(ValueError, match="wraps a keras.optimizers.Optimizer"):
        AdaptiveGradientClipping("adam")


def test_base_arguments_pass_through_to_the_update():
    # clipnorm is the base class's: a huge gradient moves the weights no more than lr * clipnorm.
    optimizer = RAdam(0.1, clipnorm=1.0)
    variable = keras.Variable(np.zeros(3, "float32"))
    optimizer.apply([keras.ops.convert_to_tensor(np.full(3, 1e6, "float32"))], [variable])
    assert np.linalg.norm(keras.ops.convert_to_numpy(variable)) <= 0.1 + 1e-6


def test_prodigy_estimates_a_growing_step_from_a_tiny_start():
    optimizer = Prodigy()
    variable = keras.Variable(np.zeros(3, "float32"))
    target = np.array([3.0, -2.0, 1.0], "float32")
    for _ in range(50):
        point = keras.ops.convert_to_numpy(variable)
        optimizer.apply([keras.ops.convert_to_tensor(point - target)], [variable])
    assert float(keras.ops.convert_to_numpy(optimizer.d)) > 1e3 * 1e-6


@pytest.mark.parametrize("kwargs, message", [({"beta_1": 1.5}, "beta_1"), ({"beta_2": -0.1}, "beta_2")])
def test_radam_rejects_bad_betas(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RAdam(**kwargs)
