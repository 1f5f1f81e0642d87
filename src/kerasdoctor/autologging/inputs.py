"""What a watched ``fit`` trains on: its input kind, a probe batch and bounded data statistics.

One reader per input kind: in-memory arrays, and the pipelines of ``workload.pipelines``
(``tf.data``, ``PyDataset``, torch ``DataLoader``, generators). Each takes the fit's bound
arguments and returns a ``FitData``, or None when the input is not its kind; one that cannot
read its kind raises ``KerasDoctorError`` with the reason (that fit then runs unwatched). A
reader never changes what training sees: it copies the rows it reads, and where reading
advances the input (a generator) it puts in ``replace`` what ``fit`` must get instead.
"""

import math
from dataclasses import dataclass

import keras
import numpy as np

from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.monitor.datastats import bounded_summary, is_array, is_arrays, overlap, sample_rows
from kerasdoctor.workload.pipelines import pipeline_kind, read_sample, sample_statistics

@dataclass
class FitData:
    kind: str
    probe: tuple  # (x, y), at most probe_rows rows
    labels: object  # the training labels, for the class distribution (or None)
    records: list  # ("data", fields) records: train, val and overlap statistics
    split: str | None  # how the validation data was had


def _count(structure):
    return int(keras.tree.flatten(structure)[0].shape[0])


def _take(structure, rows):
    return keras.tree.map_structure(lambda a: np.asarray(a)[rows], structure)


def _head(structure, count):
    return keras.tree.map_structure(lambda a: a[:count], structure)


def _tail(structure, start):
    return keras.tree.map_structure(lambda a: a[start:], structure)


def _validation_arrays(arguments):
    """(x_val, y_val, split) from validation_data or validation_split, or Nones."""
    data = arguments.get("validation_data")
    if isinstance(data, (tuple, list)) and len(data) in (2, 3) and is_arrays(tuple(data[:2])):
        return data[0], data[1], "validation_data"
    split = arguments.get("validation_split") or 0.0
    if split and data is None:
        # The rows Keras holds out: the last ones, split where keras.Model.fit splits.
        x, y = arguments["x"], arguments["y"]
        start = int(math.ceil(_count(x) * (1.0 - split)))
        return _tail(x, start), _tail(y, start), f"validation_split={split}"
    return None, None, None


def array_data(arguments, *, probe_rows, seed, replace):
    """x and y as NumPy arrays (or tensors, a list or a dict of them)."""
    x, y = arguments.get("x"), arguments.get("y")
    if y is None or not is_arrays(x) or not is_arrays(y):
        return None
    x_val, y_val, split = _validation_arrays(arguments)
    if split and split.startswith("validation_split"):
        train = int(math.ceil(_count(x) * (1.0 - arguments["validation_split"])))
        x, y = _head(x, train), _head(y, train)
    rows = sample_rows(_count(x), probe_rows, seed)
    train_stats, train_sample = bounded_summary(x, y, seed)
    records = [dict(split="train", **train_stats)]
    if x_val is not None:
        val_stats, val_sample = bounded_summary(x_val, y_val, seed)
        records.append(dict(split="val", **val_stats))
        records.append(dict(split="overlap", **overlap(train_sample, val_sample)))
    labels = y if is_array(y) else None  # one output: its class distribution is known
    return FitData("arrays", (_take(x, rows), _take(y, rows)), labels, records, split)


def _read_pipeline(arguments, name, *, seed, replace):
    """A ``Sample`` of the pipeline in ``arguments[name]``; a generator's replay goes in ``replace``."""
    try:
        sample = read_sample(arguments[name], seed=seed)
    except KerasDoctorError as error:
        if getattr(error, "replacement", None) is not None:
            replace[name] = error.replacement
        raise KerasDoctorError(f"{name}: {error}") from None
    except Exception as error:  # noqa: BLE001 - the user's pipeline code failed, not keras-doctor
        lines = str(error).splitlines()
        raise KerasDoctorError(f"{name}: reading its first batches raised {type(error).__name__}"
                               + (f": {lines[0]}" if lines else "")) from None
    if sample.replacement is not None:
        replace[name] = sample.replacement
    return sample


def pipeline_data(arguments, *, probe_rows, seed, replace):
    """A tf.data.Dataset, PyDataset, torch DataLoader or generator as x (labels inside its batches)."""
    kind = pipeline_kind(arguments.get("x"))
    if kind is None:
        return None
    sample = _read_pipeline(arguments, "x", seed=seed, replace=replace)
    if sample.y is None:
        raise KerasDoctorError(f"the {kind} yields inputs without labels (y); keras-doctor's probe needs both.")
    records = [dict(split="train", **sample_statistics(sample))]
    validation, split = arguments.get("validation_data"), None
    if pipeline_kind(validation) is not None:
        val = _read_pipeline(arguments, "validation_data", seed=seed, replace=replace)
        val_x, val_fields, split = val.x, sample_statistics(val), "validation_data"
    elif isinstance(validation, (tuple, list)) and len(validation) in (2, 3) and is_arrays(tuple(validation[:2])):
        val_fields, val_x = bounded_summary(validation[0], validation[1], seed)
        split = "validation_data"
    if split:
        records.append(dict(split="val", **val_fields))
        records.append(dict(split="overlap", **overlap(sample.x, val_x)))
    rows = sample_rows(sample.rows, probe_rows, seed)
    labels = sample.y if is_array(sample.y) else None
    return FitData(kind, (_take(sample.x, rows), _take(sample.y, rows)), labels, records, split)


READERS = (array_data, pipeline_data)


def describe_kind(x):
    """A few words on an input we cannot read, for the note that says so."""
    if x is None:
        return "no x"
    if is_arrays(x):
        return "arrays without labels (y)"
    return f"a {type(x).__module__}.{type(x).__name__}"


def read_fit_data(arguments, *, probe_rows, seed, replace):
    """The first reader that knows the fit's input kind; None when none does.

    ``replace`` gets what ``fit`` must be given instead of an input that reading advanced.
    """
    for reader in READERS:
        data = reader(arguments, probe_rows=probe_rows, seed=seed, replace=replace)
        if data is not None:
            return data
    return None
