"""Same seed, same verdict: `check`'s findings and probe steps do not depend on how busy the
machine is."""

import json
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from kerasdoctor.checkup import run_check
from kerasdoctor.runlog import RunLog
from kerasdoctor.workload import load_workload

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
# A CPU-bound loop that ends by itself, so it cannot outlive a killed test run.
BUSY_LOOP = "import time\nend = time.time() + 120\nwhile time.time() < end:\n    pass\n"


@contextmanager
def cpu_bound_processes(count=2):
    processes = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(count)]
    try:
        yield
    finally:
        for process in processes:
            process.kill()
            process.wait()


def verdict(name, out):
    result = run_check(load_workload(EXAMPLES / name), out=out, seed=0)
    findings = [(f.code, f.severity, f.step) for f in result.findings]
    return findings, [probe["step"] for probe in result.log.probes]


@pytest.mark.integration
@pytest.mark.parametrize("name", ["breast_cancer_mlp.py", "broken/deep_sigmoid.py"])
def test_check_gives_the_same_findings_and_probe_steps_under_load(name, tmp_path):
    quiet_findings, quiet_steps = verdict(name, tmp_path / "quiet")
    with cpu_bound_processes():
        loaded_findings, loaded_steps = verdict(name, tmp_path / "loaded")
    assert loaded_steps == quiet_steps
    assert loaded_findings == quiet_findings


TINY_WORKLOAD = '''
import keras
from sklearn.datasets import make_circles

FIT = {{"epochs": 4, "batch_size": 32}}


def load_data():
    x, y = make_circles(n_samples=400, noise=0.1, factor=0.5, random_state=0)
    return x.astype("float32"), y.astype("int32")


def build_model(hp=None):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD({learning_rate}), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model
'''


def verdict_in_process(backend, path, out):
    """`check --json` in its own process (Keras fixes its backend at import)."""
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "-m", "kerasdoctor", "check", str(path), "--json", "--out", str(out)],
                          env=env, capture_output=True, text=True, timeout=600)
    summary = json.loads(done.stdout)
    findings = [(f["code"], f["severity"], f["step"]) for f in summary["findings"]]
    return findings, [probe["step"] for probe in RunLog.load(Path(out) / "runlog.jsonl").probes]


@pytest.mark.integration
@pytest.mark.parametrize("backend", ["tensorflow", "torch"])
def test_check_gives_the_same_findings_and_probe_steps_under_load_on_backend(backend, tmp_path):
    path = tmp_path / "too_high.py"  # a faulty workload: several findings, on several steps
    path.write_text(TINY_WORKLOAD.format(learning_rate=50.0))
    quiet = verdict_in_process(backend, path, tmp_path / "quiet")
    with cpu_bound_processes():
        loaded = verdict_in_process(backend, path, tmp_path / "loaded")
    assert len(quiet[0]) >= 2, "the faulty workload must give findings, or the test shows nothing"
    assert loaded == quiet
