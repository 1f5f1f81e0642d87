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

Loading checks each record's fields; a record whose own fields are missing or of the wrong kind
makes the file unreadable (``RunLogError``), while a damaged value nested inside a field (a
layer's statistics, a label summary, the model description) is dropped, so the rules skip it.
"""

import json
import math
import sys
from pathlib import Path

import numpy as np

from kerasdoctor.errors import KerasDoctorError

SCHEMA_VERSION = 2
READABLE_SCHEMAS = (1, 2)
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_LARGEST = int(sys.float_info.max)


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
    """An int or float (not a bool); an int too large for a float is none (math would overflow)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return abs(value) <= _LARGEST
    return isinstance(value, float)


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number_or_none(value):
    return value is None or _is_number(value)


# The fields each record type must hold (required) or may hold (optional), and the JSON kind of
# each; their contents are cleaned below. Rules read a loaded log without checking types again;
# other fields are free.
_REQUIRED = {
    "epoch": {"epoch": _is_int, "step": _is_int, "logs": lambda logs: isinstance(logs, dict)},
    "probe": {"step": _is_int, "epoch": _is_int, "variables": lambda value: isinstance(value, dict)},
    "data": {"split": lambda value: isinstance(value, str)},
    "note": {"message": lambda value: isinstance(value, str)},
}
_OPTIONAL = {
    "epoch": {"learning_rate": _is_number_or_none, "seconds": _is_number_or_none},
    "probe": {"loss": _is_number_or_none, "layers": lambda value: isinstance(value, dict),
              "seconds": _is_number_or_none},
    "data": {"samples": _is_int, "x": lambda value: isinstance(value, dict),
             "y": lambda value: isinstance(value, dict)},
    "model": {"layers": lambda value: isinstance(value, list), "variables": lambda value: isinstance(value, list),
              "loss": lambda value: value is None or isinstance(value, (dict, str)),
              "optimizer": lambda value: value is None or isinstance(value, dict)},
    "end": {"step": _is_int, "restored_epoch": _is_int},
}


# Nested fields. A value of the wrong kind inside a record (a damaged or hand-edited log) is
# dropped on load, so that its readers find it missing and skip it; a row or list item that
# lacks what its readers index it by goes whole, and so does a group of fields that its
# readers use together once one of them is gone. Fields not named here are kept as they are.
_DROP = object()


def _finite(value):
    return _is_number(value) and math.isfinite(value)


def _count(value):
    return _is_int(value) and value >= 0


def _kind(check):
    """A cleaner that keeps a value ``check`` accepts and drops any other."""
    return lambda value: value if check(value) else _DROP


def _or_none(clean):
    return lambda value: None if value is None else clean(value)


def _list(check, length=None):
    return _kind(lambda value: isinstance(value, list) and all(check(item) for item in value)
                 and (length is None or len(value) == length))


def _fields(schema, required=(), together=()):
    """A cleaner of a dict: the fields ``schema`` names are cleaned and the others kept. The dict
    is dropped when a ``required`` field is missing or damaged; a group of ``together`` fields
    loses all of them when one is missing."""

    def clean(value):
        if not isinstance(value, dict):
            return _DROP
        kept = {}
        for key, item in value.items():
            item = schema[key](item) if key in schema else item
            if item is not _DROP:
                kept[key] = item
        for group in together:
            if not all(key in kept for key in group):
                for key in group:
                    kept.pop(key, None)
        return _DROP if any(key not in kept for key in required) else kept

    return clean


def _table(clean_row):
    """A cleaner of a dict of named rows: a damaged row is dropped."""

    def clean(value):
        if not isinstance(value, dict):
            return _DROP
        rows = {name: clean_row(row) for name, row in value.items()}
        return {name: row for name, row in rows.items() if row is not _DROP}

    return clean


def _items(clean_item, keep_places=False):
    """A cleaner of a list: a damaged item is dropped (or, with ``keep_places``, becomes None)."""

    def clean(value):
        if not isinstance(value, list):
            return _DROP
        items = [clean_item(item) for item in value]
        return [None if item is _DROP else item for item in items if keep_places or item is not _DROP]

    return clean


_TEXT = _kind(lambda value: isinstance(value, str))
_FLAG = _kind(lambda value: isinstance(value, bool))
_DICT = _kind(lambda value: isinstance(value, dict))
_NUMBER = _kind(_is_number)  # NaN and infinities too: a run records them
_FINITE = _kind(_finite)
_COUNT = _kind(_count)
_AMOUNT = _kind(lambda value: _finite(value) and value >= 0)  # a count or a size, as a float
_SHAPE = _list(lambda side: side is None or _count(side))


def _classes_and_counts(stats):
    """A label summary whose class list and counts, read side by side, are both gone when they
    disagree in length or the counts sum to nothing."""
    classes, counts = stats.pop("classes", None), stats.pop("counts", None)
    classes = None if _list(_is_int)(classes) is _DROP else classes
    counts = None if _list(_count)(counts) is _DROP or not sum(counts) else counts
    if classes is not None and counts is not None and len(classes) != len(counts):
        classes = counts = None
    return {**stats, **({} if classes is None else {"classes": classes}),
            **({} if counts is None else {"counts": counts})}


def _statistics(required=()):
    """A cleaner of the summary of one array (``monitor.datastats``)."""
    fields = _fields({
        "shape": _SHAPE, "dtype": _TEXT, "nan": _COUNT, "inf": _COUNT,
        "min": _FINITE, "max": _FINITE, "mean": _FINITE, "std": _FINITE,
        "feature_std_min": _FINITE, "feature_std_max": _FINITE,
        "encoding": _TEXT, "num_classes": _COUNT, "labels": _COUNT, "targets": _COUNT,
        "positive_rates": _list(lambda rate: _finite(rate) and 0 <= rate <= 1),
        "target_std": _list(_finite), "target_mad": _list(_finite),
        "target_quantiles": _list(lambda points: isinstance(points, list) and bool(points)
                                  and all(_finite(point) for point in points)),
    }, required, together=(("min", "max", "mean", "std"), ("feature_std_min", "feature_std_max")))
    return lambda value: value if (value := fields(value)) is _DROP else _classes_and_counts(value)


_STATISTICS = _statistics()
_ONE_INPUT = _statistics(required=("shape",))  # readers tell one array from a dict of them by its shape


def _inputs(value):
    """The summary of one input array, or a dict of them by input name."""
    if isinstance(value, dict) and "shape" in value:
        return _ONE_INPUT(value)
    return _table(_ONE_INPUT)(value)


_LOSS_CONFIG = _fields({"from_logits": _FLAG, "label_smoothing": _FINITE, "alpha": _FINITE,
                        "gamma": _AMOUNT, "delta": _FINITE, "apply_class_balancing": _FLAG})


def _loss(value):
    """A loss description; one per output (a dict by name, or a list) for a multi-output model."""
    if isinstance(value, str):  # a loss named only
        value = {"name": value, "config": {}}
    outputs = value.get("outputs") if isinstance(value, dict) else None
    per_output = _table(_or_none(_loss)) if isinstance(outputs, dict) else _items(_or_none(_loss), keep_places=True)
    return _fields({"name": _TEXT, "config": _LOSS_CONFIG, "outputs": per_output})(value)


_INITIALIZER = _or_none(_fields({"name": _TEXT, "config": _DICT}))
_LAYER = _fields({
    "name": _TEXT, "class_name": _TEXT, "activation": _or_none(_TEXT), "kernel_initializer": _INITIALIZER,
    "bias_initializer": _INITIALIZER, "use_bias": _FLAG, "units": _or_none(_COUNT), "params": _COUNT,
    "trainable": _FLAG, "output_shape": _or_none(_SHAPE), "variables": _list(lambda v: isinstance(v, str)),
    "note": _TEXT,
}, required=("name",))
_NESTED = {
    "model": _fields({
        "layers": _items(_LAYER), "variables": _items(_TEXT), "loss": _or_none(_loss),
        "optimizer": _or_none(_fields({"name": _TEXT, "config": _DICT})),
        "output_activation": _or_none(_TEXT), "output_activation_known": _FLAG, "output_shape": _or_none(_SHAPE),
        "output_names": _list(lambda name: isinstance(name, str)),
        "params": _COUNT, "trainable_params": _COUNT,
    }),
    "data": _fields({
        "x": _inputs, "y": _STATISTICS, "y_outputs": _table(_STATISTICS), "val_samples": _COUNT,
        "val_in_train": _COUNT, "train_rows_compared": _COUNT, "train_rows_in_val": _COUNT,
        "sampled_rows": _COUNT, "sampled_batches": _COUNT, "batches": _COUNT,
    }, together=(("val_samples", "val_in_train"), ("train_rows_compared", "train_rows_in_val"))),
    "probe": _fields({
        "variables": _table(_fields({
            "grad_norm": _NUMBER, "weight_norm": _NUMBER, "update_norm": _NUMBER, "update_ratio": _or_none(_NUMBER),
            "zero_grad_fraction": _NUMBER, "nonfinite_grad": _AMOUNT, "nonfinite_weight": _AMOUNT, "size": _AMOUNT,
        })),
        "layers": _table(_fields({**dict.fromkeys(("mean", "std", "zero_fraction", "dead_fraction",
                                                   "saturated_fraction"), _NUMBER), "nonfinite": _AMOUNT})),
        "gradient_through_time": _fields({
            "layer": _TEXT, "recurrent": _TEXT, "reads": _TEXT, "length": _kind(lambda v: _count(v) and v > 0),
            "steps": _list(_count, length=3), "grad_norms": _list(_is_number, length=3),
            "unreached_rows": _COUNT,
        }, required=("grad_norms",)),
    }),
    # A metric logged without a value (or with a damaged one) is a metric not logged.
    "epoch": _fields({"logs": lambda logs: {name: value for name, value in logs.items() if _is_number(value)}}),
    "run": _fields({"fit": _DICT}),
}


def _cleaned(record):
    """``record`` with its damaged nested fields dropped (see ``_NESTED``)."""
    clean = _NESTED.get(record["type"])
    return record if clean is None else clean(record)


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
        log = cls(records=[_cleaned(record) for record in records])
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
