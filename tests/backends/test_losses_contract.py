"""Contract suite for keras-doctor's losses, run on the active backend.

Every class in LOSSES must have a CASE here; a new loss without one fails the
suite. Golden values compare per-sample losses with the float64 NumPy
references in loss_references.py, for class-index, one-hot and soft labels.
"""

import functools

import numpy as np
import pytest

import kerasdoctor  # noqa: F401  (chooses the backend)
import keras

from kerasdoctor.losses import (
    LDAM,
    LOSSES,
    AsymmetricLoss,
    BiTemperedLogistic,
    ClassBalanced,
    PolyLoss,
    SparseCategoricalCrossentropyWithSmoothing,
    SymmetricCrossEntropy,
)

from . import loss_references as R
from .loss_gradients import gradient

COUNTS = [40, 20, 10, 5, 2]
SINGLE = ("sparse", "one_hot", "soft")
MULTI = ("multi_label",)


def _case(make, reference, outputs, labels=SINGLE):
    return {"make": make, "reference": reference, "outputs": outputs, "labels": labels}


# name -> variants; the first is the one saved in a model and trained.
CASES = {
    "PolyLoss": [
        _case(lambda: PolyLoss(2.0), functools.partial(R.poly1, epsilon=2.0), "probabilities"),
        _case(lambda: PolyLoss(-0.5, from_logits=True),
              functools.partial(R.poly1, epsilon=-0.5, from_logits=True), "logits"),
    ],
    "SparseCategoricalCrossentropyWithSmoothing": [
        _case(lambda: SparseCategoricalCrossentropyWithSmoothing(0.1), R.smoothed_cross_entropy, "probabilities"),
        _case(lambda: SparseCategoricalCrossentropyWithSmoothing(0.3, from_logits=True),
              functools.partial(R.smoothed_cross_entropy, label_smoothing=0.3, from_logits=True), "logits"),
    ],
    "ClassBalanced": [
        _case(lambda: ClassBalanced(PolyLoss(1.0, from_logits=True), COUNTS, beta=0.99),
              lambda y, p: R.class_balanced(y, p, COUNTS, 0.99, functools.partial(R.poly1, from_logits=True)),
              "logits"),
        _case(lambda: ClassBalanced(keras.losses.SparseCategoricalCrossentropy(), COUNTS, beta=0.9999),
              lambda y, p: R.class_balanced(y, p, COUNTS, 0.9999, R.cross_entropy), "probabilities", ("sparse",)),
        _case(lambda: ClassBalanced(keras.losses.CategoricalCrossentropy(), COUNTS, beta=0.0),
              R.cross_entropy, "probabilities", ("one_hot", "soft")),
    ],
    "LDAM": [
        _case(lambda: LDAM(COUNTS, from_logits=True),
              lambda y, p: R.ldam(y, p, COUNTS, from_logits=True), "logits"),
        _case(lambda: LDAM(COUNTS, max_margin=1.0, scale=2.0),
              lambda y, p: R.ldam(y, p, COUNTS, max_margin=1.0, scale=2.0), "probabilities"),
    ],
    "SymmetricCrossEntropy": [
        _case(SymmetricCrossEntropy, R.symmetric_cross_entropy, "probabilities"),
        _case(lambda: SymmetricCrossEntropy(alpha=6.0, beta=0.5, log_zero=-2.0, from_logits=True),
              functools.partial(R.symmetric_cross_entropy, alpha=6.0, beta=0.5, log_zero=-2.0, from_logits=True),
              "logits"),
    ],
    "BiTemperedLogistic": [
        _case(lambda: BiTemperedLogistic(0.8, 1.2, num_iters=30), R.bi_tempered, "logits"),
        _case(lambda: BiTemperedLogistic(0.5, 2.0, num_iters=60),
              functools.partial(R.bi_tempered, t1=0.5, t2=2.0), "logits"),
        _case(lambda: BiTemperedLogistic(1.0, 1.5, num_iters=40, label_smoothing=0.2),
              lambda y, a: R.bi_tempered(0.8 * y + 0.2 / y.shape[-1], a, t1=1.0, t2=1.5), "logits"),
        _case(lambda: BiTemperedLogistic(0.7, 1.0), functools.partial(R.bi_tempered, t1=0.7, t2=1.0), "logits"),
    ],
    "AsymmetricLoss": [
        _case(AsymmetricLoss, R.asymmetric, "sigmoid", MULTI),
        _case(lambda: AsymmetricLoss(gamma_neg=2.0, gamma_pos=1.0, clip=0.1, from_logits=True),
              functools.partial(R.asymmetric, gamma_neg=2.0, gamma_pos=1.0, clip=0.1, from_logits=True),
              "logits", MULTI),
    ],
}
NAMES = sorted(LOSSES)
VARIANTS = [(name, index) for name in NAMES for index in range(len(CASES.get(name, [])))]
RNG = np.random.default_rng(7)
LOGITS = (3.0 * RNG.normal(size=(8, 5))).astype("float32")
SPARSE = np.array([0, 1, 2, 3, 4, 4, 1, 0])
MULTI_LABELS = (RNG.random((8, 5)) < 0.3).astype("float32")


def labels(encoding):
    if encoding == "sparse":
        return SPARSE
    if encoding == "one_hot":
        return np.eye(5, dtype="float32")[SPARSE]
    if encoding == "soft":
        return (0.7 * np.eye(5)[SPARSE] + 0.3 * np.eye(5)[(SPARSE + 2) % 5]).astype("float32")
    return MULTI_LABELS


def outputs(kind, logits=LOGITS):
    if kind == "probabilities":
        return keras.ops.convert_to_numpy(keras.ops.softmax(logits))
    if kind == "sigmoid":
        return keras.ops.convert_to_numpy(keras.ops.sigmoid(logits))
    return logits


def _rows(y):
    return np.eye(5)[y] if y.ndim == 1 else y.astype(np.float64)


def _unreduced(loss):
    return type(loss).from_config({**loss.get_config(), "reduction": None})


def test_every_registered_loss_has_a_contract_case():
    assert sorted(CASES) == NAMES


@pytest.mark.parametrize("name, index", VARIANTS)
def test_golden_values_match_the_numpy_reference_of_the_paper(name, index):
    case = CASES[name][index]
    loss = _unreduced(case["make"]())
    y_pred = outputs(case["outputs"])
    for encoding in case["labels"]:
        y = labels(encoding)
        got = keras.ops.convert_to_numpy(loss(y, y_pred))
        expected = case["reference"](_rows(y), y_pred.astype(np.float64))
        assert got.shape == (8,)
        np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-6, err_msg=f"{name} {index} {encoding}")


@pytest.mark.parametrize("name, index", VARIANTS)
def test_default_reduction_is_the_mean_over_the_batch(name, index):
    case = CASES[name][index]
    y, y_pred = labels(case["labels"][0]), outputs(case["outputs"])
    mean = float(keras.ops.convert_to_numpy(case["make"]()(y, y_pred)))
    assert mean == pytest.approx(float(np.mean(case["reference"](_rows(y), y_pred.astype(np.float64)))), rel=2e-5)


def _saturated(kind):
    """Predictions at p -> 1 for one class and p -> 0 for the others (exactly 0 and 1 where they are probabilities)."""
    winners = np.array([0, 1, 2, 3, 4, 0, 1, 2])
    if kind == "logits":
        return np.where(np.eye(5)[winners] > 0, 40.0, -40.0).astype("float32")
    return np.eye(5, dtype="float32")[winners]


@pytest.mark.parametrize("name, index", VARIANTS)
def test_gradients_are_finite_where_predictions_saturate(name, index):
    # SPARSE agrees with the winners on the first five rows (p_t -> 1) and not on the last three (p_t -> 0).
    case = CASES[name][index]
    loss, y_pred = case["make"](), _saturated(case["outputs"])
    for encoding in case["labels"]:
        y = labels(encoding) if encoding != "multi_label" else np.eye(5, dtype="float32")[SPARSE]
        value, grad = gradient(lambda prediction: loss(y, prediction), y_pred)
        assert np.isfinite(value), f"{name} {index} {encoding}: loss {value}"
        assert np.isfinite(grad).all(), f"{name} {index} {encoding}: gradient {grad}"


@pytest.mark.parametrize("name, index", VARIANTS)
def test_config_round_trip(name, index):
    loss = CASES[name][index]["make"]()
    config = loss.get_config()
    clone = type(loss).from_config(config)
    assert clone.get_config() == config
    rebuilt = keras.losses.deserialize(keras.losses.serialize(loss))
    assert type(rebuilt) is type(loss) and rebuilt.get_config() == config
    case = CASES[name][index]
    y, y_pred = labels(case["labels"][0]), outputs(case["outputs"])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(rebuilt(y, y_pred)),
                               keras.ops.convert_to_numpy(loss(y, y_pred)), rtol=1e-6)


def _small_problem(labels_kind):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 6)).astype("float32")
    scores = x[:, :5] + 0.5 * x[:, 1:6]
    if labels_kind == "multi_label":
        return x, (scores > 0.3).astype("float32")
    return x, np.argmax(scores, axis=1).astype("int32")


@functools.cache
def _trained(name):
    case = CASES[name][0]
    x, y = _small_problem(case["labels"][0])
    activation = {"probabilities": "softmax", "sigmoid": "sigmoid"}.get(case["outputs"])
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(5, activation=activation)])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss=case["make"]())
    history = model.fit(x, y, batch_size=24, epochs=10, verbose=0)
    return model, x, y, history.history["loss"]


@pytest.mark.parametrize("name", NAMES)
def test_fit_with_the_loss_lowers_it(name):
    losses = _trained(name)[3]
    assert np.isfinite(losses).all() and losses[-1] < 0.8 * losses[0], losses


@pytest.mark.parametrize("name", NAMES)
def test_keras_file_round_trip_inside_a_compiled_model(name, tmp_path):
    model, x, y, _ = _trained(name)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded.loss) is type(model.loss)
    assert loaded.loss.get_config() == model.loss.get_config()
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0), rel=1e-5)
