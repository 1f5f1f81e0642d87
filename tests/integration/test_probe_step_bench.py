"""`bench/probe_step.py` end to end on one workload, so a change that breaks it fails here."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def test_the_probe_step_bench_prints_each_option_set_and_the_costliest_operations():
    env = dict(os.environ, KERAS_BACKEND="jax")
    done = subprocess.run([sys.executable, "bench/probe_step.py", "--workloads", "digits_cnn", "--repeats", "1",
                           "--runs", "3"], cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("digits_cnn | ")]
    for label in ("the Monitor's:", "the Monitor's, no GPU autotuning:", "optimization level 0, fusion emitters on:",
                  "optimization level 1:", "XLA's defaults:"):
        assert any(line.startswith(f"digits_cnn | {label} compile ") for line in lines), (label, lines)
    costliest = [line for line in lines if "costliest operations" in line]
    # Each is named by the Keras operation it runs (max-pooling's gradient no longer leads them).
    assert costliest and any("conv2d" in line for line in costliest), costliest


def test_the_probe_step_bench_refuses_another_backend():
    env = dict(os.environ, KERAS_BACKEND="torch")
    done = subprocess.run([sys.executable, "bench/probe_step.py"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env=env)
    assert done.returncode != 0 and "KERAS_BACKEND=jax" in done.stderr
    assert "Traceback" not in done.stderr
