"""The repair benchmark's fast subset (`bench/repair.py --fast`): six fixed cases and the three
baselines on two of them, end to end, so a change that breaks the benchmark fails here."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def test_the_fast_subset_runs_and_each_case_gets_its_verdict(tmp_path):
    done = subprocess.run([sys.executable, "bench/repair.py", "--fast", "--out", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1].startswith("summary: repaired ")
    rows = {row["case"]: row for row in map(json.loads, (tmp_path / "cases.jsonl").read_text().splitlines())}
    assert len(rows) == 6
    assert rows["blobs_mlp-lr_too_high-s0"]["status"] == "repaired"
    assert rows["blobs_mlp-nan_inputs-s0"]["status"] == "declined"
    assert rows["breast_cancer_mlp-healthy-s0"]["status"] == "healthy"
    compared = [row for row in rows.values() if row.get("baselines")]
    assert len(compared) == 2
    for row in compared:
        assert set(row["baselines"]) == {"random", "tpe", "autotrainer"}
        assert not [name for name, outcome in row["baselines"].items() if "error" in outcome], row["baselines"]
