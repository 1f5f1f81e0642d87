"""One run of `bench/time_to_target.py`'s keras-doctor arm, in its own process as the benchmark
starts it: the recipe with steps_per_execution from speed, to an easy target on Fashion-MNIST's
MLP, so a change that breaks the benchmark fails here."""

import runpy
from pathlib import Path

import pytest

from kerasdoctor.testing import fashion

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not fashion.available(), reason="needs the Debian package dataset-fashion-mnist")]


def test_the_recipe_arm_reaches_an_easy_target_with_the_speed_knobs():
    bench = runpy.run_path(str(ROOT / "bench" / "time_to_target.py"))
    run = bench["in_process"]("recipe", "fashion_mlp", 0, {"steps_per_execution": 16, "jit_compile": "auto",
                                                           "dtype_policy": None, "backend": None}, 0.5)
    assert run["arm"] == "recipe" and run["backend"] == "jax"
    assert run["epoch"] == 1 and run["values"][0] >= 0.5 and run["seconds"] > run["range_test_done_at"] > 0
    assert run["batch_size"] == 256 and run["peak"] > 0 and run["range_test_steps"] > 10
