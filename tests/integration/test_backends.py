"""Runs every file of tests/backends on JAX, TensorFlow and PyTorch, one process each.

Among them the Monitor's contract, on a Dense model (test_monitor_contract) and on an
LSTM, an attention block and two-headed models (test_monitor_architectures).

The processes (one per selected backend) start together when the first of these tests runs: each is mostly one
Python thread tracing small models, so side by side they take about the time of the longest
rather than the sum. Their output goes to files, not pipes, so that none waits on a full pipe.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BACKENDS = ("jax", "tensorflow", "torch")
TIMEOUT = 900


@pytest.fixture(scope="module")
def backend_runs(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("backends")
    runs = {}
    selected = {item.callspec.params["backend"] for item in request.session.items
                if item.module is request.module and hasattr(item, "callspec")}
    for backend in sorted(selected):  # only those the selected tests wait for (``-k jax``)
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
        out = open(folder / f"{backend}.out", "w+")
        err = open(folder / f"{backend}.err", "w+")
        process = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/backends"],
            cwd=ROOT, env=env, stdout=out, stderr=err, text=True,
        )
        runs[backend] = (process, out, err)
    yield runs
    for process, out, err in runs.values():
        if process.poll() is None:
            process.kill()
            process.wait()
        out.close()
        err.close()


@pytest.mark.integration
@pytest.mark.parametrize("backend", BACKENDS)
def test_monitor_contract_holds_on_backend(backend, backend_runs):
    process, out, err = backend_runs[backend]
    try:
        returncode = process.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        returncode = None
    out.seek(0)
    err.seek(0)
    stdout, stderr = out.read(), err.read()
    assert returncode == 0, f"{backend} (exit {returncode}):\n{stdout[-6000:]}\n{stderr[-3000:]}"
    summary = stdout.strip().splitlines()[-1]
    assert re.search(r"\b\d+ passed\b", summary) and "failed" not in summary and "skipped" not in summary, summary
