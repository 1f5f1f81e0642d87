"""Validates what ``load_data`` returns and makes the validation split.

``load_data()`` returns a pair, read as follows:

- ``(train, validation)`` pipelines (tf.data, PyDataset, DataLoader, a generator factory), the
  validation data possibly ``(x_val, y_val)`` arrays;
- ``((x_train, y_train), (x_val, y_val))``: training and validation data;
- ``(x, y)``: all the data; keras-doctor makes a seeded split (stratified when ``y`` is one
  array of class labels).

Each ``x`` and ``y`` is an array, a dict of arrays (by input or output name), or a list (or
tuple) of arrays, one per input of a multi-input model (``model.fit([x1, x2], y)``) or per output
of a multi-output one (``model.fit(x, [y1, y2])``); the arrays of one ``x`` or ``y`` hold the same
number of samples. A list counts as a list of arrays when it holds NumPy arrays (or tensors); a
list of numbers or of nested lists is one array, as ``np.asarray`` reads it.

A pair of two pairs is ``((x_train, y_train), (x_val, y_val))``, unless its four items are arrays
that only fit ``([x1, x2], [y1, y2])`` (two inputs, two outputs, no validation data): all four of
one length, and ``x_train`` and ``x_val`` (or ``y_train`` and ``y_val``) of different shapes per
sample. Four arrays that fit both readings are training and validation data when both pairs are
tuples; when either is a list, loading stops with an error that says to return tuples, or the
inputs as a dict."""

from dataclasses import dataclass

import math
import reprlib

import numpy as np
from sklearn.model_selection import train_test_split

from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.workload import pipelines
from kerasdoctor.workload.source import describe_error

VALIDATION_FRACTION = 0.2
SHAPE_HELP = (
    "load_data() must return (x_train, y_train), (x_val, y_val), or (x, y) to split, with NumPy "
    "arrays (x and y may be dicts or lists of arrays), or (train, validation) pipelines (tf.data, "
    "PyDataset, DataLoader, a generator function)."
)
# A generator factory whose one pass goes on longer than this is taken as infinite.
MAX_COUNTED_BATCHES = 100_000


def _short(value):
    """A one-line, bounded repr of a user's value for an error message."""
    shortener = reprlib.Repr()
    shortener.maxstring = shortener.maxother = 60
    return " ".join(shortener.repr(value).split())


@dataclass
class Data:
    x_train: object  # an array, or a dict or list of arrays (a multi-input model)
    y_train: object  # an array, or a dict or list of arrays (a multi-output model)
    x_val: object
    y_val: object
    split: str  # "given", "stratified" or "random"

    is_pipeline = False
    kind = "arrays"

    @property
    def train(self):
        return self.x_train, self.y_train

    @property
    def validation(self):
        return self.x_val, self.y_val

    @property
    def training_inputs(self):
        """(x, y) for ``lr_find``."""
        return self.x_train, self.y_train

    def input_head(self, count=256, seed=0):
        """The first ``count`` training inputs (for data-dependent initializers)."""
        return take_rows(self.x_train, slice(0, count))

    def fit_arguments(self):
        """What ``fit`` trains and validates on."""
        return {"x": self.x_train, "y": self.y_train, "validation_data": self.validation}


@dataclass
class PipelineData:
    """Training and validation pipelines: each fit gets them afresh (a generator factory is
    called again, and its one pass repeated for every epoch)."""

    train: object  # a tf.data.Dataset, PyDataset, torch DataLoader or generator factory
    validation: object  # the same kinds, or (x_val, y_val) arrays
    steps: dict  # steps_per_epoch / validation_steps counted for generator factories
    split: str = "given"
    is_pipeline = True

    @property
    def kind(self):
        return pipelines.pipeline_kind(self.train) or "generator factory"

    @property
    def training_inputs(self):
        """(pipeline, None) for ``lr_find``, which sweeps over the pipeline's batches."""
        return self.train, None

    def input_head(self, count=256, seed=0):
        """The first ``count`` inputs of a sample of the training pipeline."""
        return take_rows(self.sample("train", seed).x, slice(0, count))

    def fit_arguments(self):
        """What ``fit`` trains and validates on; a generator factory's passes, one per epoch."""
        return {"x": _fresh(self.train), "validation_data": _fresh(self.validation), **self.steps}

    def sample(self, which, seed=0):
        """A ``pipelines.Sample`` of the ``"train"`` or ``"validation"`` pipeline."""
        try:
            return pipelines.read_sample(getattr(self, which), seed=seed)
        except KerasDoctorError as error:
            raise KerasDoctorError(f"The {which} pipeline from load_data(): {error}") from None
        except Exception as error:  # the user's pipeline code failed: one clear line
            raise KerasDoctorError(
                f"Reading the {which} pipeline from load_data() failed: {describe_error(error)}") from None


def _fresh(source):
    if isinstance(source, tuple) or pipelines.pipeline_kind(source) is not None:
        return source
    return _epochs(source)


def _epochs(factory):
    while True:
        yield from pipelines.fresh_generator(factory, "the generator factory from load_data()")


def _count_batches(factory, name):
    count = 0
    for _ in pipelines.fresh_generator(factory, f"the {name} generator factory from load_data()"):
        count += 1
        if count > MAX_COUNTED_BATCHES:
            raise KerasDoctorError(
                f"The {name} generator from load_data() yields more than {MAX_COUNTED_BATCHES:,} batches "
                "in one pass (infinite?). Set FIT['steps_per_epoch'] (and FIT['validation_steps']).")
    if count == 0:
        raise KerasDoctorError(f"The {name} generator factory from load_data() made a generator that yields no batches.")
    return count


def _is_source(value):
    """A pipeline, or a generator factory (a function that returns a fresh generator)."""
    return pipelines.pipeline_kind(value) is not None or (callable(value) and not hasattr(value, "shape"))


def _pipelines(first, second, fit):
    """``PipelineData`` from (train, validation) pipelines; one clear error for anything else."""
    for value, name in ((first, "train"), (second, "validation")):
        if pipelines.pipeline_kind(value) == "generator":
            raise KerasDoctorError(
                f"load_data() returned a generator as its {name} data: each fit needs a fresh one. "
                "Return the generator function itself (a factory: `return make_batches, ...` "
                "without calling it).")
    if not _is_source(second) and not (_is_pair(second) and not _is_source(second[0])):
        raise KerasDoctorError(
            "load_data() returned a training pipeline without validation data, and keras-doctor cannot "
            f"split a pipeline. Return (train, validation). {SHAPE_HELP} "
            f"Received: validation of type {type(second).__name__}")
    if not _is_source(second):
        x_val, y_val = _inputs(second[0], "x_val"), _inputs(second[1], "y_val")
        _check_lengths(x_val, y_val, "x_val", "y_val")
        second = (x_val, y_val)
    steps = {}
    fit = fit or {}
    if pipelines.pipeline_kind(first) is None:
        steps["steps_per_epoch"] = fit.get("steps_per_epoch") or _count_batches(first, "training")
    if _is_source(second) and pipelines.pipeline_kind(second) is None:
        steps["validation_steps"] = fit.get("validation_steps") or _count_batches(second, "validation")
    return PipelineData(first, second, steps)


def _is_pair(value):
    return isinstance(value, (tuple, list)) and len(value) == 2


def _is_array(value):
    """An array of samples of its own (NumPy, a tensor, a DataFrame): not a Python container,
    not a scalar."""
    if isinstance(value, (dict, list, tuple, np.generic)):
        return False
    try:
        return len(value.shape) >= 1
    except (AttributeError, TypeError):
        return False


def _is_array_list(value):
    """A list or tuple of arrays: one per input (or output) of a model."""
    return isinstance(value, (list, tuple)) and bool(value) and any(_is_array(item) for item in value)


def _inputs(value, name):
    """x or y: one array, or a flat dict or list of arrays (a multi-input or multi-output model)."""
    if _is_array_list(value):
        return [_as_array(item, f"{name}[{index}]", listed=True) for index, item in enumerate(value)]
    if not isinstance(value, dict):
        return _as_array(value, name)
    if not value:
        raise KerasDoctorError(f"{name} is an empty dict. {SHAPE_HELP}")
    return {key: _as_array(item, f"{name}[{_short(key)}]") for key, item in value.items()}


def _as_array(value, name, listed=False):
    """``value`` as a NumPy array of samples; ``listed``: an item of a list of arrays, which may
    not be a container itself."""
    if isinstance(value, dict) or (listed and isinstance(value, (list, tuple))):
        raise KerasDoctorError(
            f"{name} must be an array: x and y may be dicts or lists of arrays, not of "
            f"{type(value).__name__}s. {SHAPE_HELP} Received: {name} of type {type(value).__name__}"
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


def count_rows(x):
    """The number of samples of an array, or of a dict or list of arrays."""
    if isinstance(x, dict):
        return len(next(iter(x.values())))
    if isinstance(x, (list, tuple)):
        return len(x[0])
    return len(x)


def _check_lengths(x, y, x_name, y_name):
    for value, name in ((x, x_name), (y, y_name)):
        if isinstance(value, (dict, list)):
            items = value.items() if isinstance(value, dict) else enumerate(value)
            lengths = {key: len(item) for key, item in items}
            if len(set(lengths.values())) > 1:
                raise KerasDoctorError(
                    f"The arrays in {name} have different numbers of samples. Received: {_short(lengths)}"
                )
    n_x, n_y = count_rows(x), count_rows(y)
    if n_x == 0:
        raise KerasDoctorError(f"{x_name} is empty: load_data() returned no samples.")
    if n_x != n_y:
        raise KerasDoctorError(
            f"{x_name} and {y_name} must hold the same number of samples. "
            f"Received: {x_name} with {n_x} samples and {y_name} with {n_y}"
        )


def take_rows(x, index):
    """Rows of an array, or of every array of a dict (or list) of arrays (a multi-input x)."""
    if isinstance(x, dict):
        return {key: value[index] for key, value in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(value[index] for value in x)
    return x[index]


def _stratify_labels(y):
    """Class labels to stratify on, or None when y is not a classification target (or is
    several targets, a dict or a list)."""
    if isinstance(y, (dict, list)):
        return None
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
    indices = np.arange(count_rows(y))
    labels = _stratify_labels(y)
    train, val = train_test_split(
        indices, test_size=VALIDATION_FRACTION, random_state=seed, stratify=labels
    )
    kind = "stratified" if labels is not None else "random"
    return Data(take_rows(x, train), take_rows(y, train), take_rows(x, val), take_rows(y, val), kind)


def validate(result, seed=0, fit=None):
    """Turns load_data()'s return value into ``Data`` (arrays) or ``PipelineData``, or raises
    one clear error. ``fit`` (the workload's FIT) may give a generator factory's step counts."""
    if _is_source(result):
        raise KerasDoctorError(
            f"load_data() returned one {type(result).__name__}, and keras-doctor cannot split a "
            f"pipeline into training and validation data. {SHAPE_HELP}")
    if not _is_pair(result):
        raise KerasDoctorError(
            f"{SHAPE_HELP} Received: an object of type {type(result).__name__}"
        )
    first, second = result
    if _is_source(first):
        return _pipelines(first, second, fit)
    if _is_pair(first) and _is_pair(second) and _train_and_validation(first, second):
        x_train, y_train = _inputs(first[0], "x_train"), _inputs(first[1], "y_train")
        x_val, y_val = _inputs(second[0], "x_val"), _inputs(second[1], "y_val")
        _check_lengths(x_train, y_train, "x_train", "y_train")
        _check_lengths(x_val, y_val, "x_val", "y_val")
        return Data(x_train, y_train, x_val, y_val, "given")
    x, y = _inputs(first, "x"), _inputs(second, "y")
    _check_lengths(x, y, "x", "y")
    if count_rows(y) < 5:
        raise KerasDoctorError(
            f"x holds {count_rows(y)} samples, too few to split off a validation set. "
            "Return more data, or return (x_train, y_train), (x_val, y_val)."
        )
    return split(x, y, seed)


def _train_and_validation(first, second):
    """Whether two pairs are ``(x_train, y_train), (x_val, y_val)`` rather than
    ``[x1, x2], [y1, y2]`` (two inputs and two outputs, to split); raises when both fit."""
    items = [*first, *second]
    if not all(_is_array(item) for item in items):
        return True  # an item that is a dict or a list of arrays: (x, y) pairs
    shapes = [tuple(item.shape) for item in items]
    if len({shape[0] for shape in shapes}) > 1:
        return True  # the lengths fit only (x_train, y_train), (x_val, y_val), if anything
    if shapes[0][1:] != shapes[2][1:] or shapes[1][1:] != shapes[3][1:]:
        return False  # x_train and x_val (or y_train and y_val) would differ per sample
    if isinstance(first, tuple) and isinstance(second, tuple):
        return True
    raise KerasDoctorError(
        f"load_data() returned two pairs of arrays of {shapes[0][0]} samples each, which read both as "
        "(x_train, y_train), (x_val, y_val) and as [x1, x2], [y1, y2] (two inputs, two outputs) to split. "
        "Return tuples for training and validation data, or the inputs as a dict "
        "({'input_name': x1, ...}) for a model without validation data. "
        f"Received: a {type(first).__name__} and a {type(second).__name__}, each of two arrays"
    )
