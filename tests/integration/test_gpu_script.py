"""bench/gpu.sh and its Python part: a missing prerequisite is one line and exit 1; the knobs and
their lines (the full run installs from prepared wheels and takes minutes: docs/benchmarks.md)."""

import importlib
import subprocess
import sys
from pathlib import Path

import kerasdoctor  # noqa: F401, I001  (chooses the backend)
import pytest

from kerasdoctor.speedup.knobs import Knob, Settings
from kerasdoctor.testing import fashion
from kerasdoctor.workload import load_workload

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration

FACTS = {"backend": "jax", "devices": 1, "backends": ["jax"], "cpu_bf16": False}


@pytest.fixture
def gpu_bench(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    return importlib.import_module("gpu_bench")


def run_script(*args, python=sys.executable):
    return subprocess.run(["bash", str(ROOT / "bench" / "gpu.sh"), *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "PYTHON": str(python)})


def test_the_script_without_its_wheel_folder_says_to_prepare_it_and_exits_1(tmp_path):
    done = run_script("--wheels", tmp_path / "absent")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "bench/gpu.sh prepare" in done.stderr and "absent" in done.stderr


def test_the_script_on_a_host_without_jax_says_so_and_exits_1(tmp_path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for name in ("keras_doctor-0.1.0-py3-none-any.whl", *fashion.FILES):
        (wheels / name).write_bytes(b"")
    python = tmp_path / "python"  # the interpreter without its site-packages: no JAX
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n')
    python.chmod(0o755)
    done = run_script("--wheels", wheels, python=python)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "cannot import jax" in done.stderr


def test_wheels_prepared_for_another_python_are_refused_with_the_command_that_prepares_them(tmp_path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for name in ("keras_doctor-0.1.0-py3-none-any.whl", "optree-0.1-cp39-cp39-manylinux_2_17_x86_64.whl",
                 *fashion.FILES):
        (wheels / name).write_bytes(b"")
    done = run_script("--wheels", wheels)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "are for cp39" in done.stderr
    assert f"prepare --python-version {sys.version_info[0]}.{sys.version_info[1]}'" in done.stderr


def test_both_mixed_precisions_are_timed_on_a_gpu_and_skipped_by_name_without_one(gpu_bench):
    baseline = Settings(batch_size=128)
    on_gpu, skipped = gpu_bench.knob_list({**FACTS, "accelerator": "gpu"}, baseline, samples=60000, optimizer="Adam")
    names = [knob.name for knob in on_gpu]
    assert {"mixed_float16", "mixed_bfloat16", "no jit", "batch x8"} <= set(names)
    assert not [name for name, _ in skipped if name.startswith("mixed")]
    assert names.index("no jit") == len(names) - 1  # the slow knobs last, where the time budget cuts
    policies = {knob.name: knob.apply(baseline).dtype_policy for knob in on_gpu}
    assert policies["mixed_float16"] == "mixed_float16" and policies["mixed_bfloat16"] == "mixed_bfloat16"
    on_cpu, skipped = gpu_bench.knob_list({**FACTS, "accelerator": "cpu"}, baseline, samples=60000, optimizer="Adam")
    assert not [knob.name for knob in on_cpu if knob.name.startswith("mixed")]
    assert ("mixed_float16", "no GPU") in skipped and ("mixed_bfloat16", "no GPU") in skipped
    # A CPU with bfloat16 instructions keeps speed's own mixed_bfloat16 knob.
    on_bf16, skipped = gpu_bench.knob_list({**FACTS, "accelerator": "cpu", "cpu_bf16": True}, baseline,
                                           samples=60000, optimizer="Adam")
    assert "mixed_bfloat16" in [knob.name for knob in on_bf16] and ("mixed_float16", "no GPU") in skipped


def test_a_failing_knob_is_an_error_line_and_the_others_get_their_ratio(gpu_bench, write_workload, healthy_source):
    workload = load_workload(write_workload(healthy_source))
    data = workload.load_data(0)
    baseline = Settings(batch_size=16)
    knobs = [Knob("no jit", False, (("jit_compile", False),), "no XLA", "jit"),
             Knob("broken", True, (("dtype_policy", "no_such_policy"),), "a policy Keras lacks", "precision")]
    progress = []
    rows = gpu_bench.time_knobs(workload, data, baseline, knobs, steps=4, repeats=2, report=progress.append)
    assert [len(row.timings) for row in rows] == [2, 2, 0]
    lines = dict(line.split(": ", 1) for line in gpu_bench.ratio_lines(rows))
    assert float(lines["baseline.samples_per_second"]) > 0
    assert float(lines["no jit"].split()[0]) > 0
    assert lines["broken"].startswith("error ValueError") and "no_such_policy" in lines["broken"]
    assert [line for line in progress if line.startswith("broken.")] == [f"broken.run1: error {rows[2].error}"]
    assert gpu_bench.best_knob(rows)[0] == "no jit"


def test_knobs_left_when_the_budget_is_spent_are_skipped_lines(gpu_bench, write_workload, healthy_source):
    workload = load_workload(write_workload(healthy_source))
    knobs = [Knob("no jit", False, (("jit_compile", False),), "no XLA", "jit")]
    rows = gpu_bench.time_knobs(workload, workload.load_data(0), Settings(batch_size=16), knobs, steps=4,
                                budget=1e-6, report=lambda line: None)
    assert len(rows[0].timings) == 1 and rows[1].timings == []
    assert gpu_bench.ratio_lines(rows)[-1] == "no jit: skipped (over the 1e-06 s budget of the timing runs)"
    assert gpu_bench.best_knob(rows) is None


def test_a_knob_that_changes_a_setting_the_script_cannot_time_is_a_skipped_line(gpu_bench, monkeypatch):
    cached = Knob("cache", False, (("compilation_cache", True),), "a setting timed elsewhere", "cache")

    def candidates(found, baseline, **_):
        return [Knob("no jit", False, (("jit_compile", False),), "no XLA", "jit"), cached], []

    monkeypatch.setattr(gpu_bench.knobs, "candidates", candidates)
    chosen, skipped = gpu_bench.knob_list({**FACTS, "accelerator": "cpu"}, Settings(batch_size=128), samples=60000,
                                          optimizer="Adam")
    assert [knob.name for knob in chosen] == ["no jit"] and ("cache", "not a knob this script times") in skipped


def test_the_monitor_lines_give_the_median_ratio_and_the_monitors_cpu_seconds(gpu_bench, write_workload,
                                                                              healthy_source):
    workload = load_workload(write_workload(healthy_source))
    progress = []
    lines, median = gpu_bench.monitor_lines(workload, workload.load_data(0), 1, report=progress.append)
    values = dict(line.split(": ", 1) for line in lines)
    assert float(values["monitor.overhead_ratio_median"]) == pytest.approx(median, abs=1e-4) and median > 0
    assert float(values["monitor.cpu_seconds_median"]) >= 0
    assert len(progress) == 1 and progress[0].startswith("monitor.pair1: ")
