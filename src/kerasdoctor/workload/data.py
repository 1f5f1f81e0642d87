"""Validates what ``load_data`` returns and makes the validation split."""

from dataclasses import dataclass

import math
import reprlib

import numpy as np
from sklearn.model_selection import train_test_split

from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.workload.source import describe_error

VALIDATION_FRACTION = 0.2
SHAPE_HELP = (
    "load_data() must return (x_train, y_train), (x_val, y_val), or (x, y) "
    "for keras-doctor to split, with NumPy arrays (x may be a dict of arrays)."
)


def _short(value):
    """A one-line, bounded repr of a user's value for an error message."""
    shortener = reprlib.Repr()
    shortener.maxstring = shortener.maxother = 60
    return " ".join(shortener.repr(value).split())


@dataclass
class Data:
    x_train: object
    y_train: np.ndarray
    x_val: object
    y_val: np.ndarray
    split: str  # "given", "stratified" or "random"

    @property
    def train(self):
        return self.x_train, self.y_train

    @property
    def validation(self):
        return self.x_val, self.y_val


def _is_pair(value):
    return isinstance(value, (tuple, list)) and len(value) == 2


def _inputs(value, name):
    """x: one array, or a flat dict of arrays (a multi-input model)."""
    if not isinstance(value, dict):
        return _as_array(value, name)
    if not value:
        raise KerasDoctorError(f"{name} is an empty dict. {SHAPE_HELP}")
    return {key: _as_array(item, f"{name}[{_short(key)}]") for key, item in value.items()}


def _as_array(value, name):
    if isinstance(value, dict):
        raise KerasDoctorError(
            f"{name} must be an array: only x may be a dict, of arrays. {SHAPE_HELP} "
            f"Received: {name} of type dict"
        )
    if hasattr(value, "element_spec") or hasattr(value, "__next__"):
        raise KerasDoctorError(
            f"{name} is a {type(value).__name__}; keras-doctor needs in-memory arrays. "
            f"{SHAPE_HELP} Received: {name} of type {type(value).__name__}"
        )
    try:
        array = np.asarray(value)
    except Exception as error:  # a foreign tensor may fail with its own error type
        raise KerasDoctorError(
            f"{name} cannot be turned into an array ({describe_error(error)}). {SHAPE_HELP}"
        ) from None
    if array.ndim == 0:
        raise KerasDoctorError(f"{name} must be an array of samples. Received: {name}={_short(value)}")
    if array.dtype == object:
        raise KerasDoctorError(
            f"{name} holds Python objects of mixed shapes or types. {SHAPE_HELP} "
            f"Received: {name} with dtype=object"
        )
    return array


def _length(x):
    return len(next(iter(x.values()))) if isinstance(x, dict) else len(x)


def _check_lengths(x, y, x_name, y_name):
    if isinstance(x, dict):
        lengths = {key: len(value) for key, value in x.items()}
        if len(set(lengths.values())) > 1:
            raise KerasDoctorError(
                f"The arrays in {x_name} have different numbers of samples. Received: {_short(lengths)}"
            )
    n_x, n_y = _length(x), len(y)
    if n_x == 0:
        raise KerasDoctorError(f"{x_name} is empty: load_data() returned no samples.")
    if n_x != n_y:
        raise KerasDoctorError(
            f"{x_name} and {y_name} must hold the same number of samples. "
            f"Received: {x_name} with {n_x} samples and {y_name} with {n_y}"
        )


def take_rows(x, index):
    """Rows of an array, or of every array of a dict of arrays (a multi-input x)."""
    if isinstance(x, dict):
        return {key: value[index] for key, value in x.items()}
    return x[index]


def _stratify_labels(y):
    """Class labels to stratify on, or None when y is not a classification target."""
    if y.ndim == 2 and y.shape[1] > 1:
        labels = np.argmax(y, axis=1)
    elif y.ndim <= 1 or (y.ndim == 2 and y.shape[1] == 1):
        flat = y.reshape(-1)
        if not np.issubdtype(flat.dtype, np.number) or not np.all(np.isfinite(flat)):
            return None
        if not np.allclose(flat, np.round(flat)):
            return None
        labels = flat.astype("int64")
    else:
        return None
    _, counts = np.unique(labels, return_counts=True)
    if len(counts) > 100 or counts.min() < 2 or not _each_part_holds_every_class(len(labels), len(counts)):
        return None
    return labels


def _each_part_holds_every_class(samples, classes):
    """A stratified split needs room for one sample of every class in both parts."""
    validation = math.ceil(samples * VALIDATION_FRACTION)
    return min(validation, samples - validation) >= classes


def split(x, y, seed):
    """A seeded split: stratified for class labels, random otherwise."""
    indices = np.arange(len(y))
    labels = _stratify_labels(y)
    train, val = train_test_split(
        indices, test_size=VALIDATION_FRACTION, random_state=seed, stratify=labels
    )
    kind = "stratified" if labels is not None else "random"
    return Data(take_rows(x, train), y[train], take_rows(x, val), y[val], kind)


def validate(result, seed=0):
    """Turns load_data()'s return value into ``Data`` or raises one clear error."""
    if not _is_pair(result):
        raise KerasDoctorError(
            f"{SHAPE_HELP} Received: an object of type {type(result).__name__}"
        )
    first, second = result
    if _is_pair(first) and _is_pair(second):
        x_train, y_train = _inputs(first[0], "x_train"), _as_array(first[1], "y_train")
        x_val, y_val = _inputs(second[0], "x_val"), _as_array(second[1], "y_val")
        _check_lengths(x_train, y_train, "x_train", "y_train")
        _check_lengths(x_val, y_val, "x_val", "y_val")
        return Data(x_train, y_train, x_val, y_val, "given")
    x, y = _inputs(first, "x"), _as_array(second, "y")
    _check_lengths(x, y, "x", "y")
    if len(y) < 5:
        raise KerasDoctorError(
            f"x holds {len(y)} samples, too few to split off a validation set. "
            "Return more data, or return (x_train, y_train), (x_val, y_val)."
        )
    return split(x, y, seed)
