"""The Monitor's contract on an LSTM, an attention block and two-headed models.

The gradient norms, loss and activation statistics the Monitor records at step 0
are checked against central finite differences of a float64 NumPy forward pass
with the same weights (``architecture_references``), and training with and
without the Monitor must end in the same weights. Variants cover heads that are
nested models holding layers of the same name, a model's own compute_loss,
layers that return several tensors and a layer shared with another model.
Like ``test_monitor_contract``, ``tests/integration/test_backends.py`` runs this
file once per backend.
"""

import functools

import numpy as np
import pytest

import kerasdoctor  # noqa: F401  (chooses the backend)
import keras

from kerasdoctor import Monitor
from . import architecture_references as ref

SAMPLES, STEPS = 16, 5
LOSS_WEIGHTS = {"value": 0.5, "label": 2.0}


def _lstm_model(dropout=0.0, return_state=False):
    keras.utils.set_random_seed(1)
    inputs = keras.Input((STEPS, 3))
    hidden = keras.layers.LSTM(4, dropout=dropout, return_state=return_state, name="lstm")(inputs)
    hidden = hidden[0] if return_state else hidden  # then also the last hidden and cell states
    model = keras.Model(inputs, keras.layers.Dense(2, name="out")(hidden))
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    return model


def _lstm_data():
    rng = np.random.default_rng(1)
    return rng.normal(size=(SAMPLES, STEPS, 3)).astype("float32"), rng.normal(size=(SAMPLES, 2)).astype("float32")


def _lstm_reference(params, x, y):
    cell = "lstm/lstm_cell/"
    hidden = ref.lstm(x, params[cell + "kernel"], params[cell + "recurrent_kernel"], params[cell + "bias"])
    out = hidden @ params["out/kernel"] + params["out/bias"]
    return ref.mean_squared_error(out, y), {"lstm": hidden, "out": out}


def _attention_model(dropout=0.0, return_attention_scores=False):
    keras.utils.set_random_seed(2)
    inputs = keras.Input((STEPS, 4))
    attention = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3, dropout=dropout, name="mha")
    attended = attention(inputs, inputs, return_attention_scores=return_attention_scores)
    attended = attended[0] if return_attention_scores else attended
    normed = keras.layers.LayerNormalization(name="norm")(keras.layers.Add(name="res")([inputs, attended]))
    pooled = keras.layers.GlobalAveragePooling1D(name="pool")(normed)
    model = keras.Model(inputs, keras.layers.Dense(2, name="out")(pooled))
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    return model


def _attention_data():
    rng = np.random.default_rng(2)
    return rng.normal(size=(SAMPLES, STEPS, 4)).astype("float32"), rng.normal(size=(SAMPLES, 2)).astype("float32")


def _attention_reference(params, x, y):
    projections = [(params[f"mha/{name}/kernel"], params[f"mha/{name}/bias"])
                   for name in ("query", "key", "value", "attention_output")]
    attended = ref.self_attention(x, *projections)
    residual = x + attended
    normed = ref.layer_norm(residual, params["norm/gamma"], params["norm/beta"])
    pooled = normed.mean(axis=1)
    out = pooled @ params["out/kernel"] + params["out/bias"]
    layers = {"mha": attended, "res": residual, "norm": normed, "pool": pooled, "out": out}
    return ref.mean_squared_error(out, y), layers


def _two_headed_model(dropout=0.0):
    # "value" comes first here but after "label" in sorted order, so a head matched
    # to its loss or labels by position instead of by name gets the wrong ones.
    keras.utils.set_random_seed(3)
    inputs = keras.Input((4,))
    trunk = keras.layers.Dense(6, activation="tanh", name="trunk")(inputs)
    dropped = keras.layers.Dropout(dropout, name="drop")(trunk)
    outputs = {"value": keras.layers.Dense(1, name="value")(dropped),
               "label": keras.layers.Dense(3, activation="softmax", name="label")(dropped)}
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss_weights=LOSS_WEIGHTS,
                  loss={"value": "mse", "label": "sparse_categorical_crossentropy"})
    return model


def _two_headed_data():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(SAMPLES, 4)).astype("float32")
    return x, {"value": rng.normal(size=(SAMPLES, 1)).astype("float32"), "label": rng.integers(0, 3, size=SAMPLES)}


def _two_headed_reference(params, x, y):
    trunk = np.tanh(x @ params["trunk/kernel"] + params["trunk/bias"])
    value = trunk @ params["value/kernel"] + params["value/bias"]
    label = ref.softmax(trunk @ params["label/kernel"] + params["label/bias"])
    loss = (LOSS_WEIGHTS["value"] * ref.mean_squared_error(value, y["value"])
            + LOSS_WEIGHTS["label"] * ref.sparse_cross_entropy(label, y["label"]))
    return loss, {"trunk": trunk, "drop": trunk, "value": value, "label": label}


class LossOfNamedHeads(keras.Model):
    """A two-headed model with its own compute_loss, which reads each head by name."""

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        value = keras.ops.mean(keras.ops.square(y_pred["value"] - y["value"]))
        label = keras.ops.mean(keras.losses.sparse_categorical_crossentropy(y["label"], y_pred["label"]))
        return LOSS_WEIGHTS["value"] * value + LOSS_WEIGHTS["label"] * label


def _head(name, units, activation=None):
    inputs = keras.Input((6,))
    return keras.Model(inputs, keras.layers.Dense(units, activation=activation, name="proj")(inputs), name=name)


def _nested_heads_model(dropout=0.0):
    # Each head is a model that holds a layer named "proj": their variables share the path "proj/...".
    keras.utils.set_random_seed(4)
    inputs = keras.Input((4,))
    trunk = keras.layers.Dense(6, activation="tanh", name="trunk")(inputs)
    dropped = keras.layers.Dropout(dropout, name="drop")(trunk)
    heads = {"value": _head("value", 1)(dropped), "label": _head("label", 3, "softmax")(dropped)}
    model = LossOfNamedHeads(inputs, heads)
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    return model


def _nested_heads_reference(params, x, y):
    # The same arithmetic as the two-headed model: "value/proj/kernel" is its "value/kernel".
    return _two_headed_reference({path.replace("/proj/", "/"): w for path, w in params.items()}, x, y)


def _paths(model):
    return {v.path: v for v in model.trainable_variables}


def _nested_heads_variables(model):
    """The heads' variables are recorded under the name of the head that holds them."""
    variables = {f"trunk/{v.name}": v for v in model.get_layer("trunk").trainable_variables}
    for head in ("label", "value"):
        variables.update({f"{head}/proj/{v.name}": v for v in model.get_layer(head).trainable_variables})
    return variables


# name: (build(dropout=...), data(), reference(params, x, y) -> (loss, {layer: output}),
#        {recorded name: variable} of a built model)
ARCHITECTURES = {
    "lstm": (_lstm_model, _lstm_data, _lstm_reference, _paths),
    "attention": (_attention_model, _attention_data, _attention_reference, _paths),
    "two-heads": (_two_headed_model, _two_headed_data, _two_headed_reference, _paths),
    "nested-heads": (_nested_heads_model, _two_headed_data, _nested_heads_reference, _nested_heads_variables),
}
# The same models, with layers that return several tensors: the first is the layer's output.
SEVERAL_OUTPUTS = {
    "lstm-return-state": (functools.partial(_lstm_model, return_state=True), _lstm_data, _lstm_reference, _paths),
    "attention-scores": (functools.partial(_attention_model, return_attention_scores=True), _attention_data,
                         _attention_reference, _paths),
}


def _float64(structure):
    return keras.tree.map_structure(lambda a: a.astype("float64") if a.dtype.kind == "f" else a, structure)


@pytest.mark.parametrize("name", [*ARCHITECTURES, *SEVERAL_OUTPUTS])
def test_monitor_matches_finite_differences_of_a_float64_reference(name):
    build, data, reference, recorded_variables = {**ARCHITECTURES, **SEVERAL_OUTPUTS}[name]
    model = build()
    x, y = data()
    variables = recorded_variables(model)
    params = {key: np.array(keras.ops.convert_to_numpy(v), dtype="float64") for key, v in variables.items()}
    monitor = Monitor((x, y), every_n_steps=1)
    model.fit(x, y, batch_size=SAMPLES // 2, epochs=1, shuffle=False, verbose=0, callbacks=[monitor])
    x64, y64 = _float64(x), _float64(y)
    loss, outputs = reference(params, x64, y64)
    gradients = ref.finite_difference_gradients(lambda p: reference(p, x64, y64)[0], params)
    first = next(p for p in monitor.log.probes if p["step"] == 0)
    rows = first["variables"]
    assert len(model.trainable_variables) == len(params)
    assert sorted(rows) == sorted(params)  # every trainable variable, each under its own name
    np.testing.assert_allclose(first["loss"], loss, rtol=1e-5)
    for field, expected in (("grad_norm", gradients), ("weight_norm", params)):
        recorded = [rows[key][field] for key in params]
        np.testing.assert_allclose(recorded, [np.linalg.norm(expected[key]) for key in params], rtol=1e-4,
                                   atol=1e-6, err_msg=f"{field} of {list(params)}")
    layers = first["layers"]
    assert set(layers) == set(outputs)
    for layer, output in outputs.items():
        np.testing.assert_allclose([layers[layer]["mean"], layers[layer]["std"]], [output.mean(), output.std()],
                                   rtol=1e-4, atol=1e-6, err_msg=layer)
    recorded_model = monitor.log.model
    assert sorted(recorded_model["variables"]) == sorted(params)
    assert sorted(v for layer in recorded_model["layers"] for v in layer["variables"]) == sorted(params)
    assert not monitor.log.notes


@pytest.mark.parametrize("name", ["lstm", "attention", "two-heads"])
def test_training_with_and_without_the_monitor_gives_identical_weights(name):
    build, data, _, _ = ARCHITECTURES[name]
    x, y = data()
    monitor = Monitor((x[:8], keras.tree.map_structure(lambda a: a[:8], y)), every_n_steps=1,
                      compile_in_background=False)
    weights = []
    for callbacks in ([], [monitor]):
        model = build(dropout=0.25)
        initial = model.get_weights()
        keras.utils.set_random_seed(11)
        model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=callbacks)
        weights.append(model.get_weights())
    assert [p["step"] for p in monitor.log.probes] == list(range(9))  # and the trained weights
    assert all("grad_norm" in row for p in monitor.log.probes for row in p["variables"].values())
    assert not all(np.array_equal(a, b) for a, b in zip(initial, weights[0]))
    for plain, monitored in zip(*weights):
        np.testing.assert_array_equal(plain, monitored)


def test_a_default_monitor_probes_a_two_headed_model_from_its_first_steps():
    # The default Monitor compiles its probe step while the first epoch trains, when the loss
    # trackers of a multi-output model exist but may hold no value yet.
    x, y = _two_headed_data()
    monitor = Monitor((x[:8], keras.tree.map_structure(lambda a: a[:8], y)))
    _two_headed_model().fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[monitor])
    assert not monitor.log.notes
    assert {0, 1, 2, 4, 8} <= {p["step"] for p in monitor.log.probes}
    assert all("grad_norm" in row for p in monitor.log.probes for row in p["variables"].values())


def test_a_layer_first_called_in_another_model_costs_activations_but_not_gradients():
    shared = keras.layers.Dense(3, name="shared")
    elsewhere = keras.Input((4,))
    keras.Model(elsewhere, shared(elsewhere))  # the shared layer's first call
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2, name="out")(shared(inputs)))
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(SAMPLES, 4)).astype("float32"), rng.normal(size=(SAMPLES, 2)).astype("float32")
    (kernel, bias), (out_kernel, out_bias) = shared.get_weights(), model.get_layer("out").get_weights()
    monitor = Monitor((x, y), every_n_steps=1)
    model.fit(x, y, batch_size=SAMPLES, epochs=1, verbose=0, callbacks=[monitor])
    first = monitor.log.probes[0]
    assert sorted(first["variables"]) == ["out/bias", "out/kernel", "shared/bias", "shared/kernel"]
    assert all(row["grad_norm"] > 0 for row in first["variables"].values())
    expected = ref.mean_squared_error((x @ kernel + bias) @ out_kernel + out_bias, y)
    np.testing.assert_allclose(first["loss"], expected, rtol=1e-5)
    assert first["layers"] == {}
    assert [note for note in monitor.log.notes if note.startswith("activations are skipped")]


# The gradient through time: the loss's gradient with respect to the input sequence of the first
# recurrent layer, at its first, middle and last steps, against finite differences of the
# float64 reference taken with respect to that sequence.

TIME_STEPS, UNITS = 7, 3


def _sequence_data(seed, features=3):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(SAMPLES, TIME_STEPS, features)), rng.normal(size=(SAMPLES, 2))


def _finish(inputs, hidden):
    model = keras.Model(inputs, keras.layers.Dense(2, name="out")(hidden))
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    return model


def _rnn_weights(layer):
    return [np.asarray(w, dtype="float64") for w in layer.get_weights()]


def _lstm_on_inputs():
    """An LSTM read straight from the model's input: the sequence is the input itself."""
    model, (x, y) = _lstm_model(), _lstm_data()
    lstm, out = (_rnn_weights(model.get_layer(name)) for name in ("lstm", "out"))
    loss = lambda seq: ref.mean_squared_error(ref.lstm(seq, *lstm) @ out[0] + out[1], y)  # noqa: E731
    return model, (x, y), x.astype("float64"), loss, ("lstm", "LSTM", "forward")


def _embedding_then_rnn():
    """Token ids through an Embedding: the sequence is the embedded one, inside the graph."""
    keras.utils.set_random_seed(6)
    inputs = keras.Input((TIME_STEPS,), dtype="int32")
    embedded = keras.layers.Embedding(5, 3, name="emb")(inputs)
    model = _finish(inputs, keras.layers.SimpleRNN(UNITS, name="rnn")(embedded))
    rng = np.random.default_rng(6)
    x, y = rng.integers(0, 5, size=(SAMPLES, TIME_STEPS)).astype("int32"), rng.normal(size=(SAMPLES, 2))
    (table,), rnn, out = (_rnn_weights(model.get_layer(name)) for name in ("emb", "rnn", "out"))
    loss = lambda seq: ref.mean_squared_error(ref.simple_rnn(seq, *rnn) @ out[0] + out[1], y)  # noqa: E731
    return model, (x, y.astype("float32")), table[x], loss, ("rnn", "SimpleRNN", "forward")


def _bidirectional():
    keras.utils.set_random_seed(7)
    inputs = keras.Input((TIME_STEPS, 3))
    layer = keras.layers.Bidirectional(keras.layers.SimpleRNN(UNITS), name="bi")
    model = _finish(inputs, layer(inputs))
    x, y = _sequence_data(7)
    weights = _rnn_weights(model.get_layer("bi"))
    out = _rnn_weights(model.get_layer("out"))

    def loss(seq):
        both = np.concatenate([ref.simple_rnn(seq, *weights[:3]), ref.simple_rnn(seq, *weights[3:], go_backwards=True)],
                              axis=-1)
        return ref.mean_squared_error(both @ out[0] + out[1], y)

    return model, (x.astype("float32"), y.astype("float32")), x, loss, ("bi", "SimpleRNN", "both")


def _nested_backwards():
    """A Dense projection, then a nested model holding a SimpleRNN that reads backwards."""
    keras.utils.set_random_seed(8)
    inputs = keras.Input((TIME_STEPS, 3))
    projected = keras.layers.Dense(4, name="proj")(inputs)
    inner = keras.Sequential([keras.Input((TIME_STEPS, 4)), keras.layers.SimpleRNN(UNITS, go_backwards=True)],
                             name="encoder")
    model = _finish(inputs, inner(projected))
    x, y = _sequence_data(8)
    proj, rnn, out = (_rnn_weights(model.get_layer(name)) for name in ("proj", "encoder", "out"))
    loss = lambda seq: ref.mean_squared_error(  # noqa: E731
        ref.simple_rnn(seq, *rnn, go_backwards=True) @ out[0] + out[1], y)
    return model, (x.astype("float32"), y.astype("float32")), x @ proj[0] + proj[1], loss, ("encoder", "SimpleRNN", "backward")


SEQUENCE_MODELS = {"lstm-on-inputs": _lstm_on_inputs, "embedding-rnn": _embedding_then_rnn,
                   "bidirectional": _bidirectional, "nested-backwards": _nested_backwards}


@pytest.mark.parametrize("name", list(SEQUENCE_MODELS))
def test_gradient_through_time_matches_finite_differences_at_the_recurrent_input(name):
    model, (x, y), sequence, loss, (layer, recurrent, reads) = SEQUENCE_MODELS[name]()
    expected = ref.finite_difference_gradients(lambda p: loss(p["sequence"]), {"sequence": sequence})["sequence"]
    monitor = Monitor((x, y), every_n_steps=1)
    model.fit(x, y, batch_size=SAMPLES // 2, epochs=1, shuffle=False, verbose=0, callbacks=[monitor])
    recorded = monitor.log.probes[0]["gradient_through_time"]
    assert not monitor.log.notes
    assert (recorded["layer"], recorded["recurrent"], recorded["reads"]) == (layer, recurrent, reads)
    assert recorded["length"] == sequence.shape[1]
    assert recorded["steps"] == [0, sequence.shape[1] // 2, sequence.shape[1] - 1]
    np.testing.assert_allclose(recorded["grad_norms"], ref.step_norms(expected), rtol=1e-4, atol=1e-7)
    assert all(norm > 0 for norm in recorded["grad_norms"])


def test_the_tap_leaves_the_loss_and_the_weights_gradients_as_they_are():
    # Embedding -> SimpleRNN: the graph is cut at the embedded sequence.
    model, (x, y), _, _, _ = _embedding_then_rnn()
    params = {v.path: np.array(keras.ops.convert_to_numpy(v), dtype="float64") for v in model.trainable_variables}

    def loss(p):
        names = [v.path for v in model.trainable_variables]
        hidden = ref.simple_rnn(p[names[0]][x], p[names[1]], p[names[2]], p[names[3]])
        return ref.mean_squared_error(hidden @ p[names[4]] + p[names[5]], y)

    gradients = ref.finite_difference_gradients(loss, params)
    monitor = Monitor((x, y), every_n_steps=1)
    model.fit(x, y, batch_size=SAMPLES, epochs=1, verbose=0, callbacks=[monitor])
    first = monitor.log.probes[0]
    np.testing.assert_allclose(first["loss"], loss(params), rtol=1e-5)
    np.testing.assert_allclose([first["variables"][key]["grad_norm"] for key in params],
                               [np.linalg.norm(gradients[key]) for key in params], rtol=1e-4, atol=1e-7)
    assert set(first["layers"]) == {"emb", "rnn", "out"}


def test_a_model_without_a_recurrent_layer_records_no_gradient_through_time():
    model, (x, y) = _attention_model(), _attention_data()
    monitor = Monitor((x, y), every_n_steps=1)
    model.fit(x, y, batch_size=SAMPLES, epochs=1, verbose=0, callbacks=[monitor])
    assert all("gradient_through_time" not in p for p in monitor.log.probes)


def test_training_an_embedding_rnn_with_and_without_the_monitor_gives_identical_weights():
    weights = []
    for with_monitor in (False, True):
        model, (x, y), _, _, _ = _embedding_then_rnn()
        monitor = Monitor((x[:8], y[:8]), every_n_steps=1, compile_in_background=False)
        keras.utils.set_random_seed(11)
        model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[monitor] if with_monitor else [])
        weights.append(model.get_weights())
    assert "gradient_through_time" in monitor.log.probes[-1]
    for plain, monitored in zip(*weights):
        np.testing.assert_array_equal(plain, monitored)


def test_a_masked_rnn_on_pre_padded_sequences_is_read_from_each_rows_first_token():
    # A masked layer carries its state past padding, so padding gets exactly no gradient; the
    # first step read is each row's first token (row r starts at step r), not step 0.
    keras.utils.set_random_seed(4)
    tokens = np.random.default_rng(4).integers(1, 20, size=(6, 8)).astype("int32")
    for row in range(6):
        tokens[row, :row] = 0
    model = keras.Sequential([keras.Input((8,), dtype="int32"), keras.layers.Embedding(20, 3, mask_zero=True),
                              keras.layers.SimpleRNN(4, name="rnn"), keras.layers.Dense(1, name="out")])
    model.compile(optimizer="sgd", loss="mse")
    monitor = Monitor((tokens, np.ones((6, 1), "float32")), every_n_steps=1)
    model.fit(tokens, np.ones((6, 1), "float32"), batch_size=6, epochs=1, verbose=0, callbacks=[monitor])
    record = monitor.log.probes[0]["gradient_through_time"]
    assert record["unreached_rows"] == 5 and record["steps"][0] == 2  # the median of rows' first steps 0-5
    assert all(norm > 0 for norm in record["grad_norms"])
