"""`keras-doctor run SCRIPT` and `kerasdoctor.autolog()`: unmodified scripts that train on arrays."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import kerasdoctor  # noqa: I001  (first: it picks the backend before Keras is imported)
import keras
import numpy as np
import pytest
from typer.testing import CliRunner

from kerasdoctor.cli.app import app

pytestmark = pytest.mark.integration
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

TINY_FIT = """
import sys
import keras
import numpy as np

keras.utils.set_random_seed(0)
rng = np.random.default_rng(1)
x = rng.normal(size=(256, 8)).astype("float32")
y = (x[:, 0] + x[:, 1] > 0).astype("int32")


def train(name):
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dropout(0.2), keras.layers.Dense(2, activation="softmax")],
                             name=name)
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=2, batch_size=32, validation_split=0.25, verbose=0)
    assert len(history.history["loss"]) == 2
    return model
"""


def _script(folder, body, name="train.py"):
    path = Path(folder) / name
    path.write_text(textwrap.dedent(body))
    return path


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_run_passes_the_script_its_own_argv_and_keeps_its_exit_code(tmp_path):
    script = _script(tmp_path, """
        import sys
        from pathlib import Path
        Path(sys.argv[1]).write_text(" ".join(sys.argv[2:]))
        sys.exit(4)
    """)
    result = invoke("run", script, tmp_path / "argv.txt", "--epochs", "3", "--fail-on", "x")
    assert result.exit_code == 4, result.output
    assert (tmp_path / "argv.txt").read_text() == "--epochs 3 --fail-on x"


def test_debug_after_the_script_is_the_scripts_own_and_before_it_keras_doctors(tmp_path):
    script = _script(tmp_path, """
        import sys
        from pathlib import Path
        Path(sys.argv[1]).write_text(" ".join(sys.argv[2:]))
    """)
    result = invoke("run", script, tmp_path / "argv.txt", "--debug", "-v")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "argv.txt").read_text() == "--debug -v"
    result = invoke("run", "--debug", script, tmp_path / "argv.txt", "-v")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "argv.txt").read_text() == "-v"


def test_a_script_that_does_not_compile_gets_pythons_syntax_error_without_keras_doctors_frames(tmp_path):
    script = _script(tmp_path, "def broken(:\n    pass\n")
    result = invoke("run", script)
    assert result.exit_code == 1
    assert "SyntaxError" in result.output and "line 1" in result.output
    assert "runpy" not in result.output and "kerasdoctor" not in result.output


def test_run_exits_1_with_the_traceback_when_the_script_raises(tmp_path):
    script = _script(tmp_path, """
        def load():
            raise ValueError("the data file is missing")
        load()
    """)
    result = invoke("run", script)
    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "ValueError: the data file is missing" in result.stderr and "in load" in result.stderr


def test_a_script_with_two_fits_writes_two_run_folders_and_json_out_lists_both(tmp_path):
    script = _script(tmp_path, TINY_FIT + """
train("first")
train("second")
print("trained")
""")
    json_out = tmp_path / "fits.json"
    result = invoke("run", "--out", tmp_path / "runs", "--json-out", json_out, script)
    assert result.exit_code == 0, result.output
    assert result.stdout == "trained\n"
    payload = json.loads(json_out.read_text())
    assert payload["exit_code"] == 0 and len(payload["fits"]) == 2
    folders = sorted((tmp_path / "runs").iterdir())
    assert [f.name for f in folders] == ["01-train-first", "02-train-second"]
    for fit, folder in zip(payload["fits"], folders):
        assert Path(fit["run_dir"]) == folder and fit["metrics"]["epochs"] == 2
        assert {"runlog.jsonl", "findings.json", "summary.json", "report.html"} <= {p.name for p in folder.iterdir()}
        assert "<title>keras-doctor: a fit in " in (folder / "report.html").read_text()
        log = kerasdoctor.RunLog.load(folder / "runlog.jsonl")
        assert log.data("train")["samples"] == 192 and log.data("val")["samples"] == 64
        assert log.data("probe")["samples"] == 128
        assert any("grad_norm" in row for p in log.probes for row in p["variables"].values())


def test_run_finds_what_check_finds_for_a_learning_rate_far_too_high_and_fails_on_it(tmp_path):
    workload = tmp_path / "lr_workload.py"
    workload.write_text((EXAMPLES / "broken" / "lr_too_high.py").read_text().replace(
        "FIT = {\"epochs\": 5, \"batch_size\": 32}", "FIT = {\"epochs\": 3, \"batch_size\": 32}").replace(
        "    return (x / 16.0).astype(\"float32\"), y.astype(\"int32\")",
        "    x, y = (x / 16.0).astype(\"float32\"), y.astype(\"int32\")\n"
        "    return (x[:1400], y[:1400]), (x[1400:], y[1400:])"))
    script = _script(tmp_path, """
        import keras
        import lr_workload

        keras.utils.set_random_seed(0)
        (x, y), validation = lr_workload.load_data()
        model = lr_workload.build_model()
        model.fit(x, y, validation_data=validation, epochs=3, batch_size=32, verbose=0)
    """)
    checked = invoke("check", workload, "--json", "--out", tmp_path / "check")
    assert checked.exit_code == 0, checked.output
    expected = [f["code"] for f in json.loads(checked.stdout)["findings"]]
    assert "LEARNING_RATE_TOO_HIGH" in expected
    json_out = tmp_path / "fits.json"
    result = invoke("run", "--fail-on", "warning", "--out", tmp_path / "runs", "--json-out", json_out, script)
    assert result.exit_code == 3, result.output
    assert [f["code"] for f in json.loads(json_out.read_text())["fits"][0]["findings"]] == expected
    assert "LEARNING_RATE_TOO_HIGH" in result.stderr
    root = json.loads(json_out.read_text())["fits"][0]["findings"][0]
    assert f"fix: {root['fix']}" in result.stderr  # the root cause's fix, on the terminal too


def _start(command, path, backend, cwd, *args):
    env = {**os.environ, "KERAS_BACKEND": backend}
    return subprocess.Popen([*command, str(path), *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _weights(process, path):
    _, stderr = process.communicate(timeout=240)
    assert process.returncode == 0, stderr[-3000:]
    with np.load(path) as saved:
        return [saved[name] for name in sorted(saved.files, key=lambda n: int(n.split("_")[1]))], stderr


PIPELINE_FIT = """
import sys
import keras
import numpy as np

keras.utils.set_random_seed(0)
rng = np.random.default_rng(1)
x = rng.normal(size=(256, 8)).astype("float32")
y = (x[:, 0] + x[:, 1] > 0).astype("int32")
kind = sys.argv[2]


class Noisy(keras.utils.PyDataset):
    def __len__(self):
        return 6

    def __getitem__(self, index):
        rows = slice(index * 32, (index + 1) * 32)  # augmented with the global NumPy random state
        return x[rows] + np.random.normal(scale=0.05, size=x[rows].shape).astype("float32"), y[rows]


def batches():
    while True:
        for start in range(0, 192, 32):
            yield x[start:start + 32], y[start:start + 32]


fit = {"validation_data": (x[192:], y[192:])}
if kind == "arrays":
    train, fit = x[:192], dict(fit, y=y[:192], batch_size=32)
elif kind == "tf.data":
    import tensorflow as tf
    # reshuffled on each iteration (shuffle's default): keras-doctor's read must not move it on
    train = tf.data.Dataset.from_tensor_slices((x[:192], y[:192])).shuffle(192, seed=2).batch(32).prefetch(2)
    fit["validation_data"] = tf.data.Dataset.from_tensor_slices((x[192:], y[192:])).batch(32)
elif kind == "PyDataset":
    train = Noisy()
elif kind == "generator":
    train, fit = batches(), dict(fit, steps_per_epoch=6)
elif kind == "DataLoader":
    import torch
    torch.manual_seed(0)
    rows = torch.utils.data.TensorDataset(torch.from_numpy(x[:192]), torch.from_numpy(y[:192]))
    train = torch.utils.data.DataLoader(rows, batch_size=32, shuffle=True)
model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                          keras.layers.Dropout(0.2), keras.layers.Dense(2, activation="softmax")], name="seeded")
model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(train, epochs=2, verbose=0, **fit)
np.savez(sys.argv[1], *model.get_weights())
"""


# One pipeline per backend keeps CI short; the unit tests of workload.pipelines cover the rest.
@pytest.mark.parametrize("backend, kind", [
    ("jax", "arrays"), ("jax", "generator"), ("tensorflow", "tf.data"), ("torch", "PyDataset"),
    ("torch", "DataLoader"),
])
def test_run_trains_to_the_same_weights_as_a_plain_python_run(tmp_path, backend, kind):
    script = _script(tmp_path, PIPELINE_FIT)
    plain = [sys.executable, str(script)]
    watched_command = [sys.executable, "-m", "kerasdoctor", "run", "--out", str(tmp_path / "runs"), str(script)]
    # The three runs are independent processes: started together, they share the wait for imports.
    runs = {name: _start(command, tmp_path / f"{name}.npz", backend, tmp_path, kind)
            for name, command in (("plain1", plain), ("plain2", plain), ("watched", watched_command))}
    (first, _), (second, _), (watched, stderr) = (_weights(runs[n], tmp_path / f"{n}.npz") for n in runs)
    if not all(np.array_equal(a, b) for a, b in zip(first, second)):
        pytest.skip(f"two plain runs of a seeded script differ on {backend}: nothing to compare with")
    assert "fit of 'seeded'" in stderr and "unwatched" not in stderr
    log = kerasdoctor.RunLog.load(tmp_path / "runs" / "01-train-seeded" / "runlog.jsonl")
    assert log.of_type("run")[0]["input_kind"] == kind and log.data("probe")["samples"] == 128
    assert log.data("val") is not None and any("grad_norm" in r for p in log.probes for r in p["variables"].values())
    assert len(watched) == len(first)
    assert all(np.array_equal(a, b) for a, b in zip(first, watched))


def test_an_internal_failure_is_one_note_and_the_script_goes_on(tmp_path, monkeypatch):
    def broken(log, rules=None):
        raise RuntimeError("a rule broke")

    monkeypatch.setattr("kerasdoctor.diagnose.diagnose", broken)
    script = _script(tmp_path, TINY_FIT + """
train("watched")
sys.exit(5)
""")
    result = invoke("run", "--out", tmp_path / "runs", "--fail-on", "info", script)
    assert result.exit_code == 5, result.output
    notes = [line for line in result.stderr.splitlines() if "internal error" in line]
    assert notes == ["keras-doctor: note: keras-doctor stopped watching this fit after an internal error: "
                     "RuntimeError: a rule broke"]


def _finite_batches(count, labelled=True):
    rng = np.random.default_rng(0)
    for _ in range(count):
        x = rng.normal(size=(8, 4)).astype("float32")
        yield (x, x[:, :1] * 2.0) if labelled else (x,)


def _linear(weights=None):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.05), "mse")
    if weights is not None:
        model.set_weights(weights)
    return model


def test_autolog_watches_a_generator_fit_and_training_gets_every_batch_once_in_order(tmp_path):
    # Exactly as many batches as training takes: one lost or repeated would end the fit early
    # ("ran out of data") or change the weights, since SGD's result depends on the batch order.
    plain = _linear()
    start = plain.get_weights()
    plain.fit(_finite_batches(12), steps_per_epoch=3, epochs=4, verbose=0)
    watched = _linear(start)
    session = kerasdoctor.autolog(out=tmp_path / "runs")
    try:
        history = watched.fit(_finite_batches(12), steps_per_epoch=3, epochs=4, verbose=0)
    finally:
        kerasdoctor.autolog(disable=True)
    assert len(history.history["loss"]) == 4 and len(session.results) == 1
    log = session.results[0].log
    assert log.data("train")["sampled_batches"] == 8 and log.data("train")["sampled_rows"] == 64
    assert all(np.array_equal(a, b) for a, b in zip(plain.get_weights(), watched.get_weights()))


def test_a_fit_on_an_input_keras_doctor_cannot_read_runs_unwatched_with_one_note(tmp_path, capsys):
    # Batches without labels: a model trained by its own add_loss terms gives the probe no y.
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2),
                              keras.layers.ActivityRegularization(l2=0.1)])
    model.compile("sgd")
    session = kerasdoctor.autolog(out=tmp_path / "runs")
    try:
        history = model.fit(_finite_batches(4, labelled=False), steps_per_epoch=2, epochs=2, verbose=0)
    finally:
        kerasdoctor.autolog(disable=True)
    assert len(history.history["loss"]) == 2 and session.results == []
    notes = [line for line in capsys.readouterr().err.splitlines() if "unwatched" in line]
    assert len(notes) == 1 and "inputs without labels" in notes[0]
    assert not (tmp_path / "runs").exists()


def test_a_fit_that_carries_its_own_monitor_is_left_to_it_with_one_note(tmp_path, capsys):
    keras.utils.set_random_seed(0)
    x, y = np.random.default_rng(0).normal(size=(64, 4)).astype("float32"), np.arange(64) % 2
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    monitor = kerasdoctor.Monitor(probe_data=(x[:32], y[:32]))
    session = kerasdoctor.autolog(out=tmp_path / "runs")
    try:
        model.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[monitor])
    finally:
        kerasdoctor.autolog(disable=True)
    assert session.results == [] and not (tmp_path / "runs").exists()
    assert any(record["type"] == "probe" for record in monitor.log.records)
    notes = [line for line in capsys.readouterr().err.splitlines() if "own keras-doctor Monitor" in line]
    assert len(notes) == 1, notes


def test_autolog_disable_restores_keras_model_fit():
    original = keras.Model.fit
    kerasdoctor.autolog()
    assert keras.Model.fit is not original
    kerasdoctor.autolog(disable=True)
    assert keras.Model.fit is original and "fit" not in keras.Model.__dict__


def test_autolog_refuses_an_unknown_schedule():
    with pytest.raises(ValueError, match="Received: schedule='sometimes'"):
        kerasdoctor.autolog(schedule="sometimes")


def test_a_symptom_is_marked_as_such_in_the_summary_on_stderr(tmp_path):
    # Sorted by class, so fit's validation_split (the last quarter, unshuffled) holds one class.
    script = _script(tmp_path, """
        import keras
        import numpy as np

        keras.utils.set_random_seed(0)
        x = np.random.default_rng(0).normal(size=(240, 4)).astype("float32")
        y = np.repeat(np.arange(3), 80).astype("int32")
        x[:, 0] += y
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(16, activation="relu"),
                                  keras.layers.Dense(3, activation="softmax")])
        model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(x, y, epochs=4, batch_size=16, validation_split=0.25, verbose=0)
    """)
    result = invoke("run", "--out", tmp_path / "runs", script)
    assert result.exit_code == 0, result.output
    assert "BAD_LABELS: The validation set holds none of classes [0, 1]" in result.output
    assert "NOT_LEARNING (symptom of BAD_LABELS)" in result.output
    lines = result.output.splitlines()
    root = next(i for i, line in enumerate(lines) if "BAD_LABELS: The validation set" in line)
    symptom = next(i for i, line in enumerate(lines) if "NOT_LEARNING (symptom of BAD_LABELS)" in line)
    assert lines[root + 1].strip().startswith("fix: ")  # a root cause's fix on the terminal,
    assert "fix: " not in lines[symptom + 1]  # and a symptom's fix is its root cause's


def test_autolog_records_a_mixed_precision_model_and_a_custom_train_step_says_what_it_skipped(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int32")

    class Stepped(keras.Model):  # a subclassed model with its own train_step
        def __init__(self):
            super().__init__()
            self.hidden, self.out = keras.layers.Dense(16, activation="relu"), keras.layers.Dense(2, activation="softmax")

        def call(self, inputs, training=False):
            return self.out(self.hidden(inputs))

        def train_step(self, *args):
            return super().train_step(*args)

    session = kerasdoctor.autolog(out=tmp_path / "runs")
    try:
        keras.config.set_dtype_policy("mixed_bfloat16")
        try:
            mixed = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                                      keras.layers.Dense(2, activation="softmax", dtype="float32")])
        finally:
            keras.config.set_dtype_policy("float32")
        stepped = Stepped()
        for model in (mixed, stepped):
            model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", metrics=["accuracy"])
            model.fit(x, y, epochs=2, batch_size=32, validation_split=0.25, verbose=0)
    finally:
        kerasdoctor.autolog(disable=True)
    assert len(session.results) == 2
    for result in session.results:
        rows = list(result.log.probes[0]["variables"].values())
        assert rows and all(np.isfinite(row["grad_norm"]) for row in rows)
    assert session.results[0].log.notes == []
    assert any("activations are skipped" in note for note in session.results[1].log.notes)
