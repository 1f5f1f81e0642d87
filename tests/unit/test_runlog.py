import json
import math

import pytest

from kerasdoctor.runlog import SCHEMA_VERSION, RunLog


def test_runlog_round_trips_records_including_non_finite_floats(tmp_path):
    path = tmp_path / "runlog.jsonl"
    log = RunLog(path)
    log.append("epoch", epoch=0, step=10, logs={"loss": float("nan"), "acc": 0.5}, learning_rate=float("inf"))
    log.close()
    for line in path.read_text().splitlines():
        json.loads(line, parse_constant=lambda name: pytest.fail(f"non-strict JSON: {name}"))
    loaded = RunLog.load(path)
    assert loaded.header["schema"] == SCHEMA_VERSION
    epoch = loaded.epochs[0]
    assert math.isnan(epoch["logs"]["loss"]) and epoch["learning_rate"] == math.inf
    assert epoch["logs"]["acc"] == 0.5


def test_runlog_is_readable_after_a_crash_mid_write(tmp_path):
    path = tmp_path / "runlog.jsonl"
    log = RunLog(path)
    log.append("epoch", epoch=0, step=5, logs={"loss": 1.0})
    log.close()
    with open(path, "a") as handle:
        handle.write('{"type": "epoch", "epo')
    assert len(RunLog.load(path).epochs) == 1


def test_runlog_load_rejects_another_schema(tmp_path):
    path = tmp_path / "runlog.jsonl"
    path.write_text(json.dumps({"type": "header", "schema": SCHEMA_VERSION + 1}) + "\n")
    with pytest.raises(ValueError, match="schema"):
        RunLog.load(path)


def test_runlog_load_rejects_a_file_without_header(tmp_path):
    path = tmp_path / "runlog.jsonl"
    path.write_text(json.dumps({"type": "epoch"}) + "\n")
    with pytest.raises(ValueError, match="not a keras-doctor RunLog"):
        RunLog.load(path)


def test_until_keeps_only_what_was_known_at_that_epoch():
    log = RunLog()
    for epoch in range(3):
        log.append("probe", step=epoch * 10, epoch=epoch, loss=1.0)
        log.append("epoch", epoch=epoch, step=(epoch + 1) * 10, logs={"loss": 1.0})
    prefix = log.until(epoch=1)
    assert [e["epoch"] for e in prefix.epochs] == [0, 1]
    assert [p["epoch"] for p in prefix.probes] == [0, 1]
    assert len(log.epochs) == 3


def test_in_memory_runlog_writes_no_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    RunLog().append("note", message="hello")
    assert list(tmp_path.iterdir()) == []


def test_a_schema_1_log_still_loads_and_diagnoses():
    # Written by the schema-1 `check` of a circles MLP with SGD at a learning rate of 50.
    from pathlib import Path

    from kerasdoctor.diagnose import diagnose

    log = RunLog.load(Path(__file__).resolve().parents[1] / "data" / "runlog_schema1.jsonl")
    assert log.header["schema"] == 1 and SCHEMA_VERSION == 2
    codes = [f.code for f in diagnose(log)]
    assert codes[0] == "LEARNING_RATE_TOO_HIGH" and "LOSS_DIVERGED" in codes
