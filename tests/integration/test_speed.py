"""`keras-doctor speed` end to end on small workloads: the table, speed.json and fast_workload.py.

No assertion on timings (the machines are shared): the figures live in bench/ and docs/benchmarks.md.
"""

import json

import kerasdoctor  # noqa: F401, I001  (chooses the backend)
import pytest
from typer.testing import CliRunner

from kerasdoctor.cli.app import app
from tests.workloads import separable_source

pytestmark = pytest.mark.integration

SMALL = separable_source()


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_speed_measures_each_knob_and_writes_the_fast_copy(write_workload, tmp_path):
    path = write_workload(SMALL)
    result = invoke("speed", path, "--repeats", "1", "--seeds", "2", "--json", "--out", tmp_path / "speed")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["run_dir"] == str(tmp_path / "speed") and summary["metric"] == "val_accuracy"
    assert summary["baseline"]["samples_per_second"] > 0 and summary["baseline"]["compile_seconds"] >= 0
    found = summary["profile"]
    assert 0 <= found["input_share"] <= 1 and 0 < found["validation_share"] < 1 and found["peak_host_megabytes"] > 0
    names = [knob["name"] for knob in summary["knobs"]]
    assert {"no jit", "batch x2", "steps_per_execution=16"} <= set(names) and "batch x4" not in names  # 800 rows
    # The other installed backends run in processes of their own.
    others = [k for k in summary["knobs"] if k["name"].startswith("backend ")]
    assert {k["name"] for k in others} == {f"backend {b}" for b in summary["facts"]["backends"] if b != "jax"}
    assert all(k["error"] is None and k["throughput_ratio"] > 0 for k in others)
    for knob in summary["knobs"]:
        assert {"name", "throughput_ratio", "accuracy_delta_points", "verdict"} <= set(knob)
        assert knob["verdict"]
        if knob["name"] == "compilation cache":  # judged on a new process's compile seconds, cold and warm
            assert knob["throughput_ratio"] is None and knob["cold_compile_seconds"] > 0 and knob["compile_seconds"] >= 0
            assert knob["note"].startswith("compiling ")
        else:
            assert knob["throughput_ratio"] > 0
        # A knob that changes the math is recommended only after its accuracy was checked.
        if knob["changes_math"] and knob["verdict"] == "recommended":
            assert knob["accuracy_delta"]["ok"] and knob["time_to_target_ratio"] <= 1.0
    recommended = summary["recommended"]
    assert recommended is None or {"knobs", "throughput_ratio", "time_to_target_ratio",
                                   "accuracy_delta_points"} <= set(recommended)
    files = {p.name for p in (tmp_path / "speed").iterdir()}
    assert files == {"speed.json", "fast_workload.py"}
    # The fast copy is a workload keras-doctor (and the user) can run as it is.
    checked = invoke("check", tmp_path / "speed" / "fast_workload.py", "--epochs", "1", "--json",
                     "--out", tmp_path / "check")
    assert checked.exit_code == 0, checked.output


def test_speed_on_a_pipeline_leaves_the_batch_size_alone(write_workload, tmp_path):
    path = write_workload(SMALL.replace(
        '    return x, (x[:, 0] + x[:, 1] > 0).astype("int32")',
        '    y = (x[:, 0] + x[:, 1] > 0).astype("int32")\n'
        '    def batches(start, stop):\n'
        '        def make():\n'
        '            for first in range(start, stop, 20):\n'
        '                yield x[first:first + 20], y[first:first + 20]\n'
        '        return make\n'
        '    return batches(0, 800), batches(800, 1000)'))
    result = invoke("speed", path, "--repeats", "1", "--seeds", "2", "--json", "--out", tmp_path / "speed")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert not any(k["name"].startswith("batch") for k in summary["knobs"])
    assert {"name": "batch size", "why": "the pipeline makes its own batches"} in summary["skipped"]


def test_a_workload_that_cannot_train_is_one_clear_line(write_workload):
    path = write_workload(SMALL.replace('x, (x[:, 0] + x[:, 1] > 0).astype("int32")',
                                        'x[:, :3], (x[:, 0] > 0).astype("int32")'))
    result = invoke("speed", path, "--repeats", "1", "--seeds", "2")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "The workload's own timing run failed" in result.output


@pytest.mark.parametrize("damage", ["x[3, 1] = np.nan", "x[5, 0] = np.inf"])
def test_a_workload_with_non_finite_data_is_refused_before_any_timing(write_workload, tmp_path, damage):
    path = write_workload(SMALL.replace("    return x, (x[:, 0]", f"    {damage}\n    return x, (x[:, 0]"))
    before = path.read_bytes()
    result = invoke("speed", path, "--repeats", "1", "--seeds", "2", "--out", tmp_path / "speed")
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert "holds 1 NaN or Inf value:" in result.output and "keras-doctor check" in result.output
    assert not (tmp_path / "speed").exists() and path.read_bytes() == before
