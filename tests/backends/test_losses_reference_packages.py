"""Our losses against the public implementations that install from the package index.

Skipped, with the reason, when a reference package is missing; the test extra
installs them. Compared: PolyLoss with `polyloss` (PyTorch), class-balanced
cross-entropy with `balanced-loss` (PyTorch), the bi-tempered loss and the
tempered softmax with `jax-bitempered-loss` (JAX, the authors' algorithm).

Not compared, for want of an installable reference: LDAM and symmetric
cross-entropy (the authors publish code in repositories only), the
asymmetric loss (its authors' package is not on the index; `timm` carries a
copy but would add torchvision and more to the test extra), and
`balanced-loss`'s class-balanced focal loss, which is the sigmoid focal loss
of Cui et al. rather than Keras's softmax focal loss we wrap. The sparse label
smoothing is compared with Keras's own smoothing in test_losses_behaviour.py.
"""

import importlib.util

import numpy as np
import pytest

import kerasdoctor  # noqa: F401  (chooses the backend)
import keras

from kerasdoctor.losses import BiTemperedLogistic, ClassBalanced, PolyLoss, tempered_softmax

from .loss_gradients import gradient


def _needs(*modules):
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    return pytest.mark.skipif(bool(missing), reason=f"the reference package is not installed: {', '.join(missing)}")


RNG = np.random.default_rng(5)
LOGITS = (3.0 * RNG.normal(size=(32, 6))).astype("float32")
SPARSE = RNG.integers(0, 6, size=32)
ONE_HOT = np.eye(6, dtype="float32")[SPARSE]
COUNTS = [500, 200, 80, 30, 10, 3]


def _ours(loss, y, y_pred):
    return float(keras.ops.convert_to_numpy(loss(y, y_pred)))


@_needs("torch", "polyloss")
@pytest.mark.parametrize("epsilon", [-1.0, 1.0, 2.0])
def test_poly_loss_equals_the_polyloss_package(epsilon):
    import torch
    from polyloss import PolyLoss as TheirPolyLoss

    theirs = TheirPolyLoss(epsilon=epsilon)(torch.tensor(LOGITS), torch.tensor(SPARSE))
    assert _ours(PolyLoss(epsilon, from_logits=True), SPARSE, LOGITS) == pytest.approx(float(theirs), rel=1e-5)


@_needs("torch", "balanced_loss")
@pytest.mark.parametrize("beta", [0.9, 0.999, 0.9999])
def test_class_balanced_cross_entropy_equals_the_balanced_loss_package(beta):
    import torch
    from balanced_loss import Loss

    theirs = Loss(loss_type="cross_entropy", beta=beta, samples_per_class=COUNTS, class_balanced=True)
    expected = float(theirs(torch.tensor(LOGITS), torch.tensor(SPARSE)))
    ours = ClassBalanced(keras.losses.SparseCategoricalCrossentropy(from_logits=True), COUNTS, beta=beta)
    assert _ours(ours, SPARSE, LOGITS) == pytest.approx(expected, rel=1e-5)


@_needs("jax", "jax_bitempered_loss")
@pytest.mark.parametrize("t1, t2", [(0.8, 1.2), (0.5, 2.0), (1.0, 1.5), (0.3, 1.0)])
def test_bi_tempered_loss_equals_the_authors_jax_package(t1, t2):
    import jax.numpy as jnp
    from jax_bitempered_loss.loss import bi_tempered_logistic_loss

    expected = np.mean(np.asarray(bi_tempered_logistic_loss(jnp.asarray(LOGITS), jnp.asarray(ONE_HOT), t1, t2)))
    assert _ours(BiTemperedLogistic(t1, t2), SPARSE, LOGITS) == pytest.approx(float(expected), rel=1e-4)


@_needs("jax", "jax_bitempered_loss")
def test_bi_tempered_gradient_is_close_to_the_authors_exact_gradient():
    # Theirs is the closed-form gradient of the paper; ours differentiates through the
    # normaliser's fixed-point iterations, hence the looser tolerance.
    import jax
    import jax.numpy as jnp
    from jax_bitempered_loss.loss import bi_tempered_logistic_loss

    def their_mean(z):
        return jnp.mean(bi_tempered_logistic_loss(z, jnp.asarray(ONE_HOT), 0.8, 1.2, 0.0, 30))

    expected = np.asarray(jax.grad(their_mean)(jnp.asarray(LOGITS)))
    _, ours = gradient(lambda z: BiTemperedLogistic(0.8, 1.2, num_iters=30)(SPARSE, z), LOGITS)
    np.testing.assert_allclose(ours, expected, rtol=1e-3, atol=1e-5)


@_needs("jax", "jax_bitempered_loss")
def test_tempered_softmax_equals_the_authors_jax_package():
    import jax.numpy as jnp
    from jax_bitempered_loss.loss import tempered_softmax as their_tempered_softmax

    expected = np.asarray(their_tempered_softmax(jnp.asarray(LOGITS), 1.3, 5))
    ours = keras.ops.convert_to_numpy(tempered_softmax(keras.ops.convert_to_tensor(LOGITS), 1.3, 5))
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-7)
