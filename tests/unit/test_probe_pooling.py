"""The JAX probe computes max-pooling's gradient elementwise (`probe_jax._max_pool`): the same
gradient as JAX's own, ties included (the first maximum of a window takes it), for 1-D, 2-D and
3-D pooling, channels first or last, sizes that leave a remainder; pooling it does not handle
(overlapping windows, `same` padding) keeps JAX's gradient. A probe of a CNN gives the same signals
either way."""

import numpy as np
import pytest

import kerasdoctor  # noqa: F401, I001  (chooses the backend)
import keras

pytestmark = pytest.mark.skipif(keras.backend.backend() != "jax", reason="the JAX probe step")

if keras.backend.backend() == "jax":
    import jax
    import jax.numpy as jnp

    from kerasdoctor._backends import probe_jax


def _pool_model(layer, shape):
    inputs = keras.Input(shape)
    hidden = keras.layers.Conv1D(4, 1, activation="relu")(inputs) if len(shape) == 2 else inputs
    pooled = layer(hidden)
    return keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Flatten()(pooled)))


CASES = {
    "2-D, a remainder": (lambda: keras.layers.MaxPooling2D(2), (7, 9, 3)),
    "2-D, 3x2 windows, channels first": (lambda: keras.layers.MaxPooling2D((3, 2), data_format="channels_first"),
                                         (3, 7, 8)),
    "1-D after a ReLU (ties at zero)": (lambda: keras.layers.MaxPooling1D(3), (10, 2)),
    "3-D": (lambda: keras.layers.MaxPooling3D(2), (4, 5, 4, 2)),
    "2-D, windows of 5x5 (the cumulative-sum path)": (lambda: keras.layers.MaxPooling2D(5), (10, 11, 1)),
    "overlapping windows (JAX's gradient)": (lambda: keras.layers.MaxPooling2D(3, strides=2), (9, 9, 2)),
    "same padding (JAX's gradient)": (lambda: keras.layers.MaxPooling2D(2, padding="same"), (7, 7, 2)),
}


def _gradients(model, x, wrap):
    def loss(weights, inputs):
        prediction, _ = model.stateless_call(weights, [], inputs)
        return jnp.sum(jnp.sin(prediction))

    weights = [w.value for w in model.trainable_weights]
    function = wrap(loss, (weights, x)) if wrap else loss
    gradient = jax.grad(function, argnums=(0, 1))
    return gradient(weights, x), str(jax.make_jaxpr(gradient)(weights, x))


@pytest.mark.parametrize("case", list(CASES))
def test_the_elementwise_gradient_is_jaxs_own(case):
    make_layer, shape = CASES[case]
    keras.utils.set_random_seed(0)
    model = _pool_model(make_layer(), shape)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3,) + shape).astype("float32")
    x[0] = 1.0  # every window tied
    x[1, ..., :1] = np.round(x[1, ..., :1])  # some windows tied
    x = jnp.asarray(x)
    plain, plain_program = _gradients(model, x, None)
    cheap, cheap_program = _gradients(model, x, probe_jax._with_cheap_pooling)
    assert "select_and_scatter_add" in plain_program
    assert ("select_and_scatter_add" in cheap_program) == ("JAX's gradient" in case)
    for ours, theirs in zip(jax.tree.leaves(cheap), jax.tree.leaves(plain)):
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


def test_only_plain_pooling_is_rewritten():
    def pooled(x, window, strides, padding):
        return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, window, strides, padding)

    x = jnp.ones((2, 6, 6, 1))
    eqn = lambda *args: jax.make_jaxpr(lambda v: pooled(v, *args))(x).jaxpr.eqns[-1]  # noqa: E731
    assert probe_jax._plain_max_pool(eqn((1, 2, 2, 1), (1, 2, 2, 1), "VALID"), x)
    assert not probe_jax._plain_max_pool(eqn((1, 3, 3, 1), (1, 2, 2, 1), "VALID"), x)
    assert not probe_jax._plain_max_pool(eqn((1, 2, 2, 1), (1, 2, 2, 1), ((0, 0), (0, 1), (0, 1), (0, 0))), x)
    assert not probe_jax._plain_max_pool(eqn((1, 2, 2, 1), (1, 2, 2, 1), "VALID"), x.astype("int32"))


def test_a_function_without_pooling_is_kept_as_it_is():
    def dense(w, x):
        return jnp.tanh(x @ w).sum()

    assert probe_jax._with_cheap_pooling(dense, (jnp.ones((3, 2)), jnp.ones((4, 3)))) is dense


def test_a_cnn_probe_gives_the_same_signals_with_either_gradient(monkeypatch):
    from kerasdoctor.monitor.probe import ProbeProgram

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((12, 12, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.MaxPooling2D(2), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 12, 12, 1)).astype("float32"), rng.integers(0, 3, 16)

    def probe():
        program = ProbeProgram(model, x, y)
        state = program.snapshot()
        program.compile(state)
        return program.run(None, state)

    rewritten, original = [], probe_jax._with_cheap_pooling

    def spy(function, example):
        rewritten.append(original(function, example) is not function)
        return function if not rewritten[-1] else original(function, example)

    monkeypatch.setattr(probe_jax, "_with_cheap_pooling", spy)
    cheap = probe()
    assert rewritten == [True]
    monkeypatch.setattr(probe_jax, "_with_cheap_pooling", lambda function, example: function)
    plain = probe()
    assert cheap[0] == plain[0]
    for ours, theirs in ((cheap[1], plain[1]), (cheap[2], plain[2])):
        assert ours.keys() == theirs.keys()
        for name in ours:
            assert ours[name] == pytest.approx(theirs[name], rel=1e-6, abs=1e-9), name


def test_a_rewritten_pass_that_fails_to_lower_falls_back_to_jaxs_gradient(monkeypatch):
    from kerasdoctor.monitor.probe import ProbeProgram

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, activation="relu"),
                              keras.layers.MaxPooling2D(2), keras.layers.Flatten(), keras.layers.Dense(2)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = np.ones((4, 8, 8, 1), "float32"), np.array([0, 1, 0, 1])

    def broken(function, example):
        def rewritten(*args):
            raise RuntimeError("a primitive the evaluator cannot bind")
        return rewritten

    monkeypatch.setattr(probe_jax, "_with_cheap_pooling", broken)
    program = ProbeProgram(model, x, y)
    state = program.snapshot()
    program.compile(state)
    loss, variables, layers = program.run(None, state)[:3]
    assert np.isfinite(loss) and variables and layers


def test_a_model_without_max_pooling_is_traced_once(monkeypatch):
    from kerasdoctor.monitor.probe import ProbeProgram

    keras.utils.set_random_seed(0)
    dense = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)])
    wrapped = keras.Sequential([keras.Input((5, 8, 1)), keras.layers.TimeDistributed(keras.layers.MaxPooling1D(2)),
                                keras.layers.Flatten(), keras.layers.Dense(2)])
    nested = keras.Sequential([keras.Input((8, 8, 1)), keras.Sequential([keras.layers.Conv2D(2, 3),
                                                                         keras.layers.MaxPooling2D(2)]),
                               keras.layers.Flatten(), keras.layers.Dense(2)])
    assert not probe_jax._has_max_pooling(dense)
    assert probe_jax._has_max_pooling(wrapped) and probe_jax._has_max_pooling(nested)
    dense.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    traced = []
    monkeypatch.setattr(probe_jax, "_with_cheap_pooling", lambda function, example: traced.append(1) or function)
    program = ProbeProgram(dense, np.ones((4, 6), "float32"), np.array([0, 1, 0, 1]))
    state = program.snapshot()
    program.compile(state)
    assert traced == [] and np.isfinite(program.run(None, state)[0])
