"""RunLog: the append-only record of one training run.

One JSON object per line (JSON Lines). The first line is a header that carries
the schema version. Records are written and flushed as training goes, so a
crashed run still leaves a readable log; a torn last line is ignored on load.
Non-finite floats are written as the strings "NaN", "Infinity", "-Infinity"
(strict JSON has no spelling for them) and read back as floats.

Schema 2 (this version) adds to schema 1: the probe schedule in the ``model``
record (``"fixed"`` or ``"adaptive"``); probes of steps kept while the probe step
compiled and of the trained weights at the end; a ``train`` data record that may
hold labels only (``Monitor(train_labels=...)``); label encodings ``multi_hot``
and ``index_sequence`` besides ``index``, ``one_hot`` and ``continuous``. Schema-1
logs still load: every field they lack is optional to the readers.
"""

import json
import math
from pathlib import Path

import numpy as np

from kerasdoctor.errors import KerasDoctorError

SCHEMA_VERSION = 2
READABLE_SCHEMAS = (1, 2)
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class RunLogError(KerasDoctorError, ValueError):
    """A RunLog file that cannot be read: not a RunLog, damaged, or of an unknown schema.

    A ``KerasDoctorError`` (one clear line for the user) and, for readers written before it
    existed, a ``ValueError``.
    """


def to_jsonable(value):
    """Converts numpy scalars/arrays and non-finite floats to strict JSON values."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if value is None or isinstance(value, str):
        return value
    return str(value)


def _from_jsonable(value):
    if isinstance(value, dict):
        return {k: _from_jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_jsonable(v) for v in value]
    if isinstance(value, str) and value in _NON_FINITE:
        return _NON_FINITE[value]
    return value


def _clip(text, limit=60):
    return text if len(text) <= limit else text[:limit] + "..."


def _short(line):
    """A damaged line as one bounded line of text."""
    return repr(_clip(line.decode("utf-8", errors="replace")))


def _read_line(line):
    return json.loads(line.decode("utf-8"))


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number_or_none(value):
    return value is None or _is_number(value)


def _is_table(value):
    """A dict of named rows, each a dict of fields (a probe's variables and layers)."""
    return isinstance(value, dict) and all(isinstance(row, dict) for row in value.values())


def _is_list_of(kind):
    return lambda value: isinstance(value, list) and all(isinstance(item, kind) for item in value)


# The fields each record type must hold (required) or may hold (optional), and the JSON kind each
# reader relies on. Rules read a loaded log without checking types again; other fields are free.
_REQUIRED = {
    "epoch": {"epoch": _is_int, "step": _is_int, "logs": lambda logs: isinstance(logs, dict) and all(
        _is_number_or_none(value) for value in logs.values())},
    "probe": {"step": _is_int, "epoch": _is_int, "variables": _is_table},
    "data": {"split": lambda value: isinstance(value, str)},
    "note": {"message": lambda value: isinstance(value, str)},
}
_OPTIONAL = {
    "epoch": {"learning_rate": _is_number_or_none, "seconds": _is_number_or_none},
    "probe": {"loss": _is_number_or_none, "layers": _is_table,
              "seconds": _is_number_or_none},
    "data": {"samples": _is_int, "x": lambda value: isinstance(value, dict),
             "y": lambda value: isinstance(value, dict)},
    "model": {"layers": _is_list_of(dict), "variables": _is_list_of(str),
              "loss": lambda value: value is None or isinstance(value, (dict, str)),
              "optimizer": lambda value: value is None or isinstance(value, dict)},
    "end": {"step": _is_int},
}


def _damaged_field(record):
    """The name of the first field of ``record`` that its readers could not use, or None."""
    kind = record["type"]
    for name, valid in _REQUIRED.get(kind, {}).items():
        if name not in record or not valid(record[name]):
            return name
    for name, valid in _OPTIONAL.get(kind, {}).items():
        if name in record and not valid(record[name]):
            return name
    return None


def _check_header(path, records):
    if not records or records[0].get("type") != "header":
        raise RunLogError(f"{path} is not a keras-doctor RunLog: its first line is not a header record.")
    schema = records[0].get("schema")
    if type(schema) is not int or schema not in READABLE_SCHEMAS:
        raise RunLogError(
            f"{path} has RunLog schema {_clip(json.dumps(schema))}; this keras-doctor reads "
            f"schemas {', '.join(map(str, READABLE_SCHEMAS))}. Upgrade keras-doctor to read it."
        )


class RunLog:
    """An ordered list of records, optionally mirrored to a JSONL file.

    Record types: ``header``, ``model``, ``data``, ``probe``, ``epoch``,
    ``note``, ``end``. Every rule and report reads only this.
    """

    def __init__(self, path=None, records=None):
        self.path = Path(path) if path is not None else None
        self.records = list(records or [])
        self._file = None
        if self.path is not None and not self.records:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "w", encoding="utf-8")
        if not self.records:
            self.append("header", schema=SCHEMA_VERSION)

    def append(self, type, **fields):
        record = {"type": type, **to_jsonable(fields)}
        self.records.append(_from_jsonable(record))
        if self._file is not None:
            self._file.write(json.dumps(record, allow_nan=False) + "\n")
            self._file.flush()
        return record

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None

    @classmethod
    def load(cls, path):
        """Reads a RunLog file; a torn last line (a crash mid-write) is skipped.

        Raises ``RunLogError`` (a ``KerasDoctorError`` and a ``ValueError``) with one line that
        names the file, and the line, when the file is not a readable RunLog.
        """
        path = Path(path)
        lines = [line for line in path.read_bytes().split(b"\n") if line.strip()]
        read = []
        for number, line in enumerate(lines, start=1):
            try:
                record = _read_line(line)
            except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
                if number == len(lines):
                    break
                raise RunLogError(f"{path}:{number} is not a JSON line. Received: {_short(line)}") from None
            if not isinstance(record, dict) or not isinstance(record.get("type"), str):
                raise RunLogError(
                    f"{path}:{number} is not a RunLog record: every line must be a JSON object with a "
                    f"string 'type'. Received: {_short(line)}"
                )
            read.append((number, line, _from_jsonable(record)))
        records = [record for _, _, record in read]
        _check_header(path, records)
        for number, line, record in read:
            field = _damaged_field(record)
            if field is not None:
                raise RunLogError(
                    f"{path}:{number} is a damaged {_clip(record['type'])!r} record: its field {_clip(field)!r} "
                    f"is missing or of the wrong type. Received: {_short(line)}"
                )
        log = cls(records=records)
        log.path = path
        return log

    # Views. Rules read these; they never change the log.

    def of_type(self, type):
        return [r for r in self.records if r["type"] == type]

    @property
    def header(self):
        return self.records[0]

    @property
    def model(self):
        found = self.of_type("model")
        return found[-1] if found else None

    @property
    def epochs(self):
        return self.of_type("epoch")

    @property
    def probes(self):
        return self.of_type("probe")

    @property
    def notes(self):
        return [r["message"] for r in self.of_type("note")]

    @property
    def end(self):
        found = self.of_type("end")
        return found[-1] if found else None

    def data(self, split):
        for record in self.of_type("data"):
            if record.get("split") == split:
                return record
        return None

    def until(self, *, epoch=None, step=None):
        """A frozen prefix: what was known at the end of ``epoch`` or at ``step``.

        Replaying a run prefix by prefix shows when a finding first appears.
        """
        kept = []
        for record in self.records:
            if epoch is not None and record["type"] == "epoch" and record["epoch"] > epoch:
                break
            if step is not None and record.get("step", -1) > step:
                break
            if record["type"] == "probe" and epoch is not None and record["epoch"] > epoch:
                break
            kept.append(record)
        return RunLog(records=kept)
