"""Runs every file of tests/backends on JAX, TensorFlow and PyTorch, one process each.

Among them the Monitor's contract, on a Dense model (test_monitor_contract) and on an
LSTM, an attention block and two-headed models (test_monitor_architectures).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.integration
@pytest.mark.parametrize("backend", ["jax", "tensorflow", "torch"])
def test_monitor_contract_holds_on_backend(backend):
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/backends"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, f"{backend}:\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
    summary = done.stdout.strip().splitlines()[-1]
    assert re.search(r"\b\d+ passed\b", summary) and "failed" not in summary and "skipped" not in summary, summary
