"""Fuzzing of the RunLog reader: a damaged log loads or fails with one clear line, never a crash."""

import json

import pytest

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kerasdoctor.diagnose import diagnose
from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.runlog import RunLog, RunLogError
from tests.unit.synthetic import LogBuilder

FUZZ = settings(max_examples=250, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _valid_lines():
    builder = LogBuilder().data("train").data("validation")
    for epoch in range(4):
        builder.probe(epoch * 10, epoch=epoch, loss=2.3 - 0.4 * epoch)
        builder.epoch(epoch, 2.2 - 0.4 * epoch, val_loss=2.3 - 0.3 * epoch, accuracy=0.2 * epoch)
    builder.log.append("note", message="probe skipped")
    builder.log.append("epoch", epoch=4, step=50, logs={"loss": float("nan")}, learning_rate=1e-3)
    builder.log.append("end", step=50, epochs=5, seconds=3.0)
    return [json.dumps(record, allow_nan=False).encode() for record in _strict(builder.log.records)]


def _strict(records):
    log = RunLog()
    log.records.clear()
    return [log.append(record["type"], **{k: v for k, v in record.items() if k != "type"}) for record in records]


VALID = _valid_lines()
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)
JUNK_LINES = st.one_of(
    st.binary(max_size=20),
    JSON_VALUES.map(lambda value: json.dumps(value).encode()),
    st.sampled_from([b"[1, 2]", b"42", b'"header"', b"null", b"{}", b'{"type": 3}', b'{"type": "epoch"}',
                     b'{"type": "probe", "step": "x"}', b'{"type": "epoch", "epoch": 1, "logs": []}',
                     b"NaN", b"\xff\xfe", b'{"type": "header", "schema": 2}']),
)


def _replace_a_field(record, rng, value):
    """The record with one top-level field replaced by ``value``, or removed when ``value`` is ``...``."""
    if not isinstance(record, dict) or not record:
        return record
    key = rng.choice(sorted(record))
    if value is ...:
        del record[key]
    else:
        record[key] = value
    return record


@st.composite
def damaged(draw):
    """The valid log's bytes after a few random edits of its lines, fields and bytes."""
    rng = draw(st.randoms(use_true_random=False))
    lines = list(VALID)
    for _ in range(draw(st.integers(1, 4))):
        edit = draw(st.sampled_from(["drop", "duplicate", "swap", "insert", "schema", "bytes", "shuffle",
                                     "field", "field", "field"]))
        index = rng.randrange(len(lines)) if lines else 0
        if edit == "drop" and lines:
            del lines[index]
        elif edit == "duplicate" and lines:
            lines.insert(index, lines[index])
        elif edit == "swap" and len(lines) > 1:
            other = rng.randrange(len(lines))
            lines[index], lines[other] = lines[other], lines[index]
        elif edit == "insert":
            lines.insert(index, draw(JUNK_LINES))
        elif edit == "schema":
            lines[0:1] = [json.dumps({"type": "header", "schema": draw(JSON_VALUES)}).encode()]
        elif edit == "bytes" and lines:
            line = bytearray(lines[index] or b" ")
            for _ in range(draw(st.integers(1, 3))):
                line[rng.randrange(len(line))] = draw(st.integers(0, 255))
            lines[index] = bytes(line)
        elif edit == "field" and lines:
            try:
                record = json.loads(lines[index])
            except ValueError:
                continue
            if isinstance(record, dict):
                value = draw(st.just(...) | JSON_VALUES | st.sampled_from(["NaN", "Infinity", -1, 0, 1e308]))
                lines[index] = json.dumps(_replace_a_field(record, rng, value)).encode()
        elif edit == "shuffle":
            lines = draw(st.permutations(lines))
    content = b"\n".join(lines) + b"\n"
    if draw(st.booleans()):
        content = content[: rng.randrange(len(content) + 1)]
    return content


def _load_or_one_line(path):
    try:
        return RunLog.load(path)
    except RunLogError as error:
        message = str(error)
        assert message and "\n" not in message and str(path.name) in message, message
        assert isinstance(error, KerasDoctorError) and isinstance(error, ValueError)
        return None


@FUZZ
@given(content=damaged())
def test_a_damaged_runlog_loads_or_fails_with_one_line_and_diagnoses_without_error(content, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "runlog.jsonl"
    path.write_bytes(content)
    log = _load_or_one_line(path)
    if log is not None:
        assert log.header["type"] == "header" and log.header["schema"] in (1, 2)
        diagnose(log)
    assert [p.name for p in tmp_path.iterdir()] == ["runlog.jsonl"]
    assert path.read_bytes() == content


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(0, sum(len(line) + 1 for line in VALID)))
def test_a_log_cut_at_any_byte_keeps_every_whole_line_before_the_cut(cut, tmp_path):
    path = tmp_path / "runlog.jsonl"
    content = b"\n".join(VALID) + b"\n"
    path.write_bytes(content[:cut])
    log = _load_or_one_line(path)
    kept = content[:cut].split(b"\n")
    whole = len(kept) - 1 + (kept[-1] == VALID[len(kept) - 1] if len(kept) <= len(VALID) else 0)
    if whole == 0:
        assert log is None
        return
    assert log is not None and len(log.records) == whole
    diagnose(log)


def test_the_valid_log_loads_whole():
    assert VALID and json.loads(VALID[0])["type"] == "header"


def test_a_crash_inside_a_multi_byte_character_still_loads(tmp_path):
    path = tmp_path / "runlog.jsonl"
    note = json.dumps({"type": "note", "message": "é"}, ensure_ascii=False).encode()
    path.write_bytes(b"\n".join(VALID[:3]) + b"\n" + note[: note.index("é".encode()) + 1])
    assert len(RunLog.load(path).records) == 3


@pytest.mark.parametrize("line, message", [
    (b"[1, 2]", r"runlog\.jsonl:2 is not a RunLog record.*Received: '\[1, 2\]'"),
    (b"42", r"runlog\.jsonl:2 is not a RunLog record"),
    (b'{"type": "epoch", "epoch": 1, "logs": []}', r"runlog\.jsonl:2 is a damaged 'epoch' record: its field 'step'"),
    (b'{"type": "probe", "step": 3, "epoch": 0}', r"damaged 'probe' record: its field 'variables'"),
    ('{"type": "note", "message": "a\u2028b"}'.encode(), None),
])
def test_a_line_of_the_wrong_kind_is_one_clear_error(line, message, tmp_path):
    path = tmp_path / "runlog.jsonl"
    path.write_bytes(VALID[0] + b"\n" + line + b"\n" + VALID[1] + b"\n")
    if message is None:
        assert RunLog.load(path).notes == ["a\u2028b"]
        return
    with pytest.raises(RunLogError, match=message):
        RunLog.load(path)


def test_a_boolean_schema_is_not_schema_one(tmp_path):
    path = tmp_path / "runlog.jsonl"
    path.write_bytes(b'{"type": "header", "schema": true}\n')
    with pytest.raises(KerasDoctorError, match="has RunLog schema true"):
        RunLog.load(path)
