"""Fuzzing of what a user's load_data() may return: valid Data or one clear KerasDoctorError line."""

import re
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.workload import load_workload
from kerasdoctor.workload.data import validate

FUZZ = settings(max_examples=300, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
NAMES = re.compile(r"\b(x|y|x_train|y_train|x_val|y_val)\b|load_data\(\)")

DTYPES = st.sampled_from(["float16", "float32", "float64", "int8", "int32", "int64", "uint8", "bool",
                          "complex64", "U3", "S2", "datetime64[s]"])


@st.composite
def arrays(draw, min_dims=0, max_dims=3, min_side=0, max_side=6):
    shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side))
    return draw(hnp.arrays(draw(DTYPES), shape))


def object_arrays():
    return st.lists(st.one_of(st.integers(), st.text(max_size=3), st.none()), max_size=5).map(
        lambda items: np.array(items + [None], dtype=object))


def ragged_lists():
    row = st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=3)
    return st.lists(st.one_of(row, st.floats(), st.text(max_size=2)), max_size=6)


class Unconvertible:
    """Stands for a foreign tensor whose conversion to NumPy fails with its own error."""

    def __array__(self, dtype=None, copy=None):
        raise RuntimeError("cannot convert\nthis tensor")

    def __repr__(self):
        return "Unconvertible(\n  device=gpu)"


class Opaque:
    def __repr__(self):
        return "Opaque(\n" + "x" * 500 + ")"


LEAVES = st.one_of(arrays(), object_arrays(), ragged_lists(), st.none(), st.integers(), st.floats(),
                   st.text(max_size=4), st.booleans(), st.text(min_size=200, max_size=300),
                   st.sampled_from([Unconvertible(), Opaque(), iter([1, 2]), range(3), b"bytes", {1, 2}]))
NESTED = st.recursive(
    LEAVES,
    lambda children: st.one_of(
        st.tuples(children, children),
        st.lists(children, max_size=3),
        st.tuples(children, children).map(list),
        st.dictionaries(st.one_of(st.text(max_size=3), st.integers()), children, max_size=3),
    ),
    max_leaves=8,
)


@st.composite
def samples(draw, n):
    """An x that is almost right: n samples of a random dtype and shape, a dict or a list (or
    tuple) of them, or a list of numbers."""
    kind = draw(st.sampled_from(["array", "array", "dict", "list", "nested dict", "arrays", "arrays"]))
    if kind == "array":
        tail = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=3))
        return draw(hnp.arrays(draw(DTYPES), (n, *tail)))
    if kind == "list":
        return draw(st.lists(st.one_of(st.floats(), st.integers(0, 3)), min_size=n, max_size=n))
    if kind == "arrays":  # one array per input of a multi-input model
        items = [draw(samples(n if draw(st.integers(0, 4)) else draw(st.integers(0, 12))))
                 for _ in range(draw(st.integers(1, 3)))]
        return draw(st.sampled_from([list, tuple]))(items)
    keys = draw(st.lists(st.text(min_size=1, max_size=3), min_size=0, max_size=3, unique=True))
    values = [draw(samples(n if draw(st.booleans()) else draw(st.integers(0, 12)))) for _ in keys]
    if kind == "nested dict":
        return {key: {"inner": value} for key, value in zip(keys, values)}
    return dict(zip(keys, values))


@st.composite
def labels(draw, n):
    kind = draw(st.sampled_from(["classes", "classes", "one hot", "floats", "dict", "strings", "any", "list"]))
    if kind == "classes":
        classes = draw(st.integers(1, 6))
        return np.array(draw(st.lists(st.integers(0, classes - 1), min_size=n, max_size=n)), dtype="int64")
    if kind == "one hot":
        classes = draw(st.integers(1, 4))
        return np.eye(classes, dtype="float32")[np.arange(n) % classes]
    if kind == "floats":
        return draw(hnp.arrays(draw(st.sampled_from(["float16", "float32", "float64"])), n))
    if kind == "strings":
        return np.array(draw(st.lists(st.sampled_from(["cat", "dog"]), min_size=n, max_size=n)))
    if kind == "any":
        tail = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=3))
        return draw(hnp.arrays(draw(DTYPES), (n, *tail)))
    if kind == "list":  # one array per output of a multi-output model
        return [draw(labels(n)) for _ in range(draw(st.integers(1, 3)))]
    return {"out": draw(labels(n))}


@st.composite
def almost_valid(draw):
    """(x, y) or ((x_train, y_train), (x_val, y_val)) with lengths that mostly agree."""

    def pair():
        n = draw(st.integers(0, 14))
        m = n if draw(st.integers(0, 4)) else draw(st.integers(0, 14))
        return draw(samples(n)), draw(labels(m))

    if draw(st.booleans()):
        return pair()
    return pair(), pair()


def _arrays(value):
    """The arrays of an x or y: one, or those of a dict or list."""
    if isinstance(value, dict):
        return list(value.values())
    return list(value) if isinstance(value, list) else [value]


def _check(result):
    """Either valid Data with sound invariants, or one KerasDoctorError line that names the culprit."""
    try:
        data = validate(result, seed=0)
    except KerasDoctorError as error:
        message = str(error)
        assert message and "\n" not in message, message
        assert NAMES.search(message) and len(message) < 600, message
        return None
    for x, y in (data.train, data.validation):
        arrays = _arrays(x) + _arrays(y)  # a dict or a list: one array per input or output
        assert all(isinstance(a, np.ndarray) and a.ndim >= 1 for a in arrays)
        assert {len(a) for a in arrays} == {len(arrays[0])} and len(arrays[0]) > 0
    return data


@FUZZ
@given(result=NESTED)
def test_any_nested_structure_is_valid_data_or_one_clear_error(result, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _check(result)
    assert not any(tmp_path.iterdir())


@FUZZ
@given(result=almost_valid())
def test_almost_valid_data_is_valid_data_or_one_clear_error(result, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _check(result)
    assert not any(tmp_path.iterdir())


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.integers(5, 40), st.integers(1, 5), st.sampled_from(["float16", "float32", "float64"]),
       st.sampled_from([np.nan, np.inf, -np.inf]), st.data())
def test_non_finite_values_are_data_not_errors(n, features, dtype, bad, data):
    x = np.ones((n, features), dtype=dtype)
    y = np.arange(n) % 2
    rows = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n))
    x[rows, 0] = bad
    split = _check((x, y))
    assert split is not None
    bad_count = np.sum(~np.isfinite(split.x_train)) + np.sum(~np.isfinite(split.x_val))
    assert bad_count == len(set(rows))


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.lists(st.integers(0, 9), min_size=5, max_size=30))
def test_class_labels_split_into_two_non_empty_parts_of_every_sample(y):
    y = np.array(y)
    data = _check((np.arange(len(y), dtype="float32")[:, None], y))
    assert data is not None
    seen = np.concatenate([data.x_train[:, 0], data.x_val[:, 0]])
    assert sorted(seen.astype(int)) == list(range(len(y)))


WORKLOAD = """
import numpy as np
def build_model(hp=None):
    pass
def load_data():
    return {data}
"""

FILE_CASES = [
    "np.zeros((10, 2)), {'out': np.zeros(10)}",
    "{'a': {'b': np.zeros((10, 2))}}, np.zeros(10)",
    "[np.zeros((10, 2)), np.zeros((10, 3))], np.zeros(10)",
    "np.array(3.0), np.zeros(10)",
    "(np.zeros((10, 2)), np.zeros(10)), (np.zeros((0, 2)), np.zeros(0))",
    "np.zeros((10, 2)), np.array([0, 0, 0, 0, 0, 0, 0, 0, 1, 1])",
    "(i for i in range(3)), np.zeros(3)",
    "None",
]


@pytest.mark.parametrize("source", FILE_CASES)
def test_workload_files_load_data_or_fail_with_one_line_and_write_nothing(source, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "workload.py"
    path.write_text(textwrap.dedent(WORKLOAD.format(data=source)))
    try:
        data = load_workload(path).load_data(seed=3)
    except KerasDoctorError as error:
        assert "\n" not in str(error) and NAMES.search(str(error)), str(error)
    else:
        assert len(data.y_train) > 0 and len(data.y_val) > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["workload.py"]


def test_five_samples_of_two_classes_fall_back_to_a_random_split():
    data = validate((np.zeros((5, 2)), np.array([0, 0, 1, 1, 0])), seed=0)
    assert data.split == "random" and (len(data.y_train), len(data.y_val)) == (4, 1)


@pytest.mark.parametrize("result, message", [
    ((np.zeros((10, 2)), {"out": {"nested": np.zeros(10)}}), r"y\['out'\] must be an array.*Received: y\['out'\] of type dict"),
    ((np.zeros((10, 2)), {"a": np.zeros(10), "b": np.zeros(9)}), r"The arrays in y have different numbers of samples"),
    (({"a": {"b": np.zeros((10, 2))}}, np.zeros(10)), r"x\['a'\] must be an array.*Received: x\['a'\] of type dict"),
    ((Unconvertible(), np.zeros(10)), r"x cannot be turned into an array \(RuntimeError: cannot convert\)"),
    (("q" * 500, np.zeros(10)), r"x must be an array of samples\. Received: x='q+\.\.\.q+'$"),
])
def test_data_that_once_crashed_or_flooded_the_message_is_one_short_line(result, message):
    with pytest.raises(KerasDoctorError, match=message) as caught:
        validate(result)
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 400
