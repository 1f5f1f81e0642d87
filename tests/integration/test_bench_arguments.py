"""Bad arguments to the Monitor's benchmark scripts: one clear line and a non-zero exit, no traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def _run(*args):
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, KERAS_BACKEND="jax"))


@pytest.mark.parametrize("args, message", [
    (["bench/monitor_overhead.py", "--workloads", "digits_cnn,no_such_example"],
     "no example named no_such_example (examples: "),
    (["bench/monitor_overhead.py", "--pairs", "0"], "--pairs must be at least 1, not 0"),
    (["bench/probe_step.py", "--workloads", "no_such_example"], "no_such_example: Workload file not found"),
    (["bench/probe_step.py", "--runs", "0"], "argument --runs: must be at least 1, not 0"),
])
def test_a_bad_argument_is_one_clear_line_and_a_non_zero_exit(args, message):
    done = _run(*args)
    assert done.returncode != 0
    assert message in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]
