"""What each loss promises beyond the contract: special cases that equal a Keras loss,
weights and margins from class counts, bounded losses, and Keras-style argument errors."""

import numpy as np
import pytest

import kerasdoctor  # noqa: F401  (chooses the backend)
import keras

from kerasdoctor.losses import (
    LDAM,
    AsymmetricLoss,
    BiTemperedLogistic,
    ClassBalanced,
    PolyLoss,
    SparseCategoricalCrossentropyWithSmoothing,
    SymmetricCrossEntropy,
    tempered_softmax,
)

from .loss_gradients import gradient

RNG = np.random.default_rng(11)
LOGITS = (2.0 * RNG.normal(size=(16, 4))).astype("float32")
PROBABILITIES = keras.ops.convert_to_numpy(keras.ops.softmax(LOGITS))
SPARSE = RNG.integers(0, 4, size=16)
ONE_HOT = np.eye(4, dtype="float32")[SPARSE]


def _value(loss, y, y_pred):
    return float(keras.ops.convert_to_numpy(loss(y, y_pred)))


@pytest.mark.parametrize("from_logits", [False, True])
def test_special_cases_equal_keras_cross_entropy(from_logits):
    y_pred = LOGITS if from_logits else PROBABILITIES
    expected = _value(keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits), SPARSE, y_pred)
    assert _value(PolyLoss(0.0, from_logits=from_logits), SPARSE, y_pred) == pytest.approx(expected, rel=1e-6)
    assert _value(SymmetricCrossEntropy(1.0, 0.0, from_logits=from_logits), SPARSE, y_pred) == pytest.approx(
        expected, rel=1e-6)
    smoothed = SparseCategoricalCrossentropyWithSmoothing(0.0, from_logits=from_logits)
    assert _value(smoothed, SPARSE, y_pred) == pytest.approx(expected, rel=1e-6)
    assert _value(BiTemperedLogistic(1.0, 1.0), SPARSE, LOGITS) == pytest.approx(
        _value(keras.losses.SparseCategoricalCrossentropy(from_logits=True), SPARSE, LOGITS), rel=1e-6)


@pytest.mark.parametrize("label_smoothing", [0.1, 0.4])
def test_sparse_label_smoothing_equals_keras_smoothing_of_one_hot_labels(label_smoothing):
    for from_logits, y_pred in ((False, PROBABILITIES), (True, LOGITS)):
        keras_loss = keras.losses.CategoricalCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing)
        ours = SparseCategoricalCrossentropyWithSmoothing(label_smoothing, from_logits=from_logits)
        assert _value(ours, SPARSE, y_pred) == pytest.approx(_value(keras_loss, ONE_HOT, y_pred), rel=1e-6)
        assert _value(ours, SPARSE[:, None], y_pred) == pytest.approx(_value(ours, SPARSE, y_pred), rel=1e-6)


def test_asymmetric_loss_without_focusing_or_margin_is_binary_cross_entropy_summed_over_labels():
    y = (RNG.random((16, 4)) < 0.4).astype("float32")
    ours = AsymmetricLoss(gamma_neg=0.0, gamma_pos=0.0, clip=0.0, from_logits=True)
    keras_mean = _value(keras.losses.BinaryCrossentropy(from_logits=True), y, LOGITS)
    assert _value(ours, y, LOGITS) == pytest.approx(4 * keras_mean, rel=1e-5)


def test_asymmetric_loss_ignores_negatives_below_the_margin():
    y = np.zeros((1, 4), "float32")
    easy = np.array([[0.01, 0.04, 0.049, 0.0]], "float32")
    assert _value(AsymmetricLoss(clip=0.05), y, easy) == pytest.approx(0.0, abs=1e-7)
    assert _value(AsymmetricLoss(clip=0.0, gamma_neg=0.0), y, easy) > 0.05


def test_class_balanced_weights_follow_the_effective_number():
    counts = [1000, 100, 10]
    loss = ClassBalanced(keras.losses.SparseCategoricalCrossentropy(), counts, beta=0.0)
    np.testing.assert_allclose(loss.class_weights, [1.0, 1.0, 1.0])
    loss = ClassBalanced(keras.losses.SparseCategoricalCrossentropy(), counts, beta=0.999999)
    assert loss.class_weights.sum() == pytest.approx(3.0)
    assert loss.class_weights[2] / loss.class_weights[0] == pytest.approx(100.0, rel=1e-3)  # inverse frequency
    effective = [(1 - 0.99**n) / 0.01 for n in counts]
    loss = ClassBalanced(keras.losses.SparseCategoricalCrossentropy(), counts, beta=0.99)
    assert loss.class_weights[1] / loss.class_weights[0] == pytest.approx(effective[0] / effective[1])


def test_class_balanced_from_labels_counts_each_encoding():
    y = np.array([0, 0, 0, 1, 1, 2])
    for labels in (y, y[:, None]):
        loss = ClassBalanced.from_labels(labels, beta=0.9)
        assert loss.samples_per_class == [3.0, 2.0, 1.0] and loss.beta == 0.9
        assert isinstance(loss.loss, keras.losses.SparseCategoricalCrossentropy)
    loss = ClassBalanced.from_labels(np.eye(3)[y])
    assert loss.samples_per_class == [3.0, 2.0, 1.0]
    assert isinstance(loss.loss, keras.losses.CategoricalCrossentropy)
    with pytest.raises(ValueError, match=r"positive number of training samples .* Received: samples_per_class="
                                         r"\[3, 2, 1, 0\]"):
        ClassBalanced.from_labels(y, num_classes=4)


def test_class_balanced_weights_each_sample_by_its_class():
    counts = [30, 10, 3, 1]
    inner = keras.losses.SparseCategoricalCrossentropy(reduction=None)
    loss = ClassBalanced(keras.losses.SparseCategoricalCrossentropy(), counts, beta=0.9, reduction=None)
    expected = keras.ops.convert_to_numpy(inner(SPARSE, PROBABILITIES)) * loss.class_weights[SPARSE]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loss(SPARSE, PROBABILITIES)), expected, rtol=1e-6)


def test_ldam_margins_shrink_with_the_fourth_root_of_the_count():
    loss = LDAM([10000, 625, 16, 1], max_margin=0.8)
    np.testing.assert_allclose(loss.margins, [0.08, 0.16, 0.4, 0.8])


def test_ldam_with_deferred_reweighting_is_a_class_balanced_ldam():
    counts = [30, 10, 3, 1]
    ldam = LDAM(counts, from_logits=True, reduction=None)
    late = ClassBalanced(LDAM(counts, from_logits=True), counts, beta=0.9999, reduction=None)
    expected = keras.ops.convert_to_numpy(ldam(SPARSE, LOGITS)) * late.class_weights[SPARSE]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(late(SPARSE, LOGITS)), expected, rtol=1e-5)
    rebuilt = keras.losses.deserialize(keras.losses.serialize(late))
    assert isinstance(rebuilt.loss, LDAM) and rebuilt.loss.get_config() == late.loss.get_config()


def test_bi_tempered_loss_is_bounded_where_cross_entropy_is_not():
    # With t1 < 1, -log_t1(p) <= 1 / (1 - t1), and the second term adds at most 1 / (2 - t1).
    y, t1 = np.array([0]), 0.5
    bounded = BiTemperedLogistic(t1, 1.5)
    gaps = [10.0, 100.0, 1e3, 1e4]
    values = [_value(bounded, y, np.array([[-gap, 0.0]], "float32")) for gap in gaps]
    assert values == sorted(values) and values[-1] <= 1 / (1 - t1) + 1 / (2 - t1)
    cross_entropy = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    assert _value(cross_entropy, y, np.array([[-1e4, 0.0]], "float32")) > 9e3


def test_tempered_softmax_sums_to_one_and_has_a_heavier_tail_than_softmax():
    heavy = keras.ops.convert_to_numpy(tempered_softmax(keras.ops.convert_to_tensor(LOGITS), 1.5, 10))
    np.testing.assert_allclose(heavy.sum(axis=-1), 1.0, rtol=1e-4)
    smallest = np.argmin(LOGITS, axis=-1)
    assert (heavy[np.arange(16), smallest] > PROBABILITIES[np.arange(16), smallest]).all()


def test_symmetric_cross_entropy_gradient_stays_bounded_for_a_confident_wrong_prediction():
    # RCE's gradient shrinks as p_y -> 0, which is what makes it robust to flipped labels.
    wrong = np.array([[-30.0, 30.0]], "float32")
    _, reverse_only = gradient(lambda z: SymmetricCrossEntropy(0.0, 1.0, from_logits=True)(np.array([0]), z), wrong)
    _, cross_entropy = gradient(lambda z: SymmetricCrossEntropy(1.0, 0.0, from_logits=True)(np.array([0]), z), wrong)
    assert np.abs(reverse_only).max() < 1e-6 < np.abs(cross_entropy).max()


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: ClassBalanced(keras.losses.SparseCategoricalCrossentropy(), [5, 1], beta=1.5),
         "Argument `beta` must be in the [0, 1) range. At 1 every effective number is infinite. Received: beta=1.5."),
        (lambda: ClassBalanced("sparse_categorical_crossentropy", [5, 1]),
         "Argument `loss` must be a keras.losses.Loss instance"),
        (lambda: LDAM([5, 1], max_margin=-0.5), "Argument `max_margin` must be positive. A margin is a gap the "
                                                "true class must win by. Received: max_margin=-0.5."),
        (lambda: LDAM([5, 0]), "Received: samples_per_class=[5, 0]."),
        (lambda: LDAM([5, 1], scale=0), "Argument `scale` must be positive. Received: scale=0."),
        (lambda: BiTemperedLogistic(t1=1.2, t2=0.8), "must satisfy 0 <= t1 <= 1 <= t2"),
        (lambda: BiTemperedLogistic(t1=0.5, t2=0.9), "Received: t1=0.5, t2=0.9."),
        (lambda: BiTemperedLogistic(num_iters=0), "Received: num_iters=0."),
        (lambda: SymmetricCrossEntropy(alpha=0.0, beta=0.0), "must not both be 0"),
        (lambda: SymmetricCrossEntropy(alpha=-1.0), "Argument `alpha` must be >= 0. Received: alpha=-1.0."),
        (lambda: SymmetricCrossEntropy(log_zero=0.0), "Argument `log_zero` must be negative"),
        (lambda: PolyLoss(epsilon=-2.0), "Argument `epsilon` must be >= -1."),
        (lambda: SparseCategoricalCrossentropyWithSmoothing(1.5),
         "Argument `label_smoothing` must be in the [0, 1] range. Received: label_smoothing=1.5."),
        (lambda: AsymmetricLoss(clip=1.0), "Argument `clip` must be in the [0, 1) range."),
        (lambda: AsymmetricLoss(gamma_neg=-1.0), "Argument `gamma_neg` must be >= 0. Received: gamma_neg=-1.0."),
    ],
)
def test_bad_arguments_raise_keras_style_errors(make, message):
    with pytest.raises(ValueError) as raised:
        make()
    assert message in str(raised.value)


def test_class_counts_that_disagree_with_the_outputs_are_refused():
    loss = ClassBalanced(keras.losses.SparseCategoricalCrossentropy(), [5, 3, 1])
    with pytest.raises(ValueError, match=r"holds 3 counts but the model predicts 4 classes"):
        loss(SPARSE, PROBABILITIES)
    with pytest.raises(ValueError, match=r"holds 2 counts but the model predicts 4 classes"):
        LDAM([5, 1])(SPARSE, PROBABILITIES)


def test_class_balanced_weights_a_single_sigmoid_unit_by_its_binary_label():
    from kerasdoctor.losses import ClassBalanced

    y = np.array([0.0] * 90 + [1.0] * 10, dtype="float32")
    loss = ClassBalanced.from_labels(y.astype("int64"), beta=0.99, loss=keras.losses.BinaryCrossentropy())
    p = np.linspace(0.1, 0.9, 100).astype("float32")[:, None]
    per_sample = -(y * np.log(p[:, 0]) + (1 - y) * np.log(1 - p[:, 0]))
    weights = loss.class_weights[y.astype("int64")]
    expected = np.mean(per_sample * weights)
    value = float(keras.ops.convert_to_numpy(loss(y[:, None], p)))
    np.testing.assert_allclose(value, expected, rtol=1e-5)
    assert loss.class_weights[1] > loss.class_weights[0]
