"""`bench/vanishing_fixes.py` on one small base: each candidate of the planner for vanishing
gradients is trained and scored against the twin, so a change that breaks the benchmark fails
here; an unknown base is one clear line."""

import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def test_every_candidate_is_trained_and_scored_on_one_base(tmp_path, capsys):
    bench = runpy.run_path(str(ROOT / "bench" / "vanishing_fixes.py"))
    assert bench["main"](["--bases", "circles_mlp", "--seeds", "0", "--out", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("circles_mlp-deep_sigmoid-s0: twin val_accuracy")
    summaries = [line for line in lines if line.startswith("summary ")]
    assert [line.split(":")[0] for line in summaries] == [
        "summary 1. activation selu, kernel_initializer lecun_normal",
        "summary 2. activation relu, kernel_initializer he_normal",
        "summary 3. insert BatchNormalization"]
    assert all(line.endswith("/1") for line in summaries)


def test_an_unknown_base_is_one_line():
    bench = runpy.run_path(str(ROOT / "bench" / "vanishing_fixes.py"))
    with pytest.raises(SystemExit, match=r"--bases takes the bases of deep_sigmoid cases: .* Received: \['nosuch'\]"):
        bench["main"](["--bases", "nosuch"])
