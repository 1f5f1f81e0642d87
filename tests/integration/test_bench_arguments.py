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


def test_the_overhead_benchmark_counts_full_collections_inside_a_fit_and_collects_before_each():
    script = (
        "import gc, sys; sys.path.insert(0, 'bench'); import monitor_overhead as m\n"
        "with m.FullCollections() as inside:\n"
        "    gc.collect(1); gc.collect()\n"
        "gc.collect()\n"
        "print(len(inside.seconds), all(s >= 0 for s in inside.seconds))\n"
        "from kerasdoctor.workload import load_workload\n"
        "w = load_workload(m.EXAMPLES / 'digits_cnn.py'); d = w.load_data()\n"
        "gc.set_threshold(1, 1, 1)  # a full collection at almost every allocation\n"
        "for collect in (True, False):\n"
        "    seconds, cpu, phases, collections = m.timed_fit(w, d, True, collect=collect)\n"
        "    print(seconds > 0, cpu[0] >= 0, phases is None, len(collections) > 0)\n"
    )
    done = _run("-c", script)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()[-3:]
    assert lines == ["1 True", "True True True True", "True True True True"], done.stdout[-2000:]
