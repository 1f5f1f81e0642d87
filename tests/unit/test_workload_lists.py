"""Lists (or tuples) of input and target arrays in what load_data() returns, and how a pair of
pairs is read: (x_train, y_train), (x_val, y_val) or [x1, x2], [y1, y2]."""

import numpy as np
import pytest

from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.workload.data import count_rows, take_rows, validate


def _rows(n, width, offset=0.0):
    """n rows whose first column is the row number (plus ``offset``), to follow rows through a split."""
    values = np.zeros((n, width), dtype="float32")
    values[:, 0] = np.arange(n) + offset
    return values


def test_a_list_of_inputs_is_split_row_for_row_with_the_labels():
    left, right = _rows(50, 3), _rows(50, 2, offset=1000.0)
    y = np.arange(50) % 2
    data = validate(([left, right], y), seed=0)
    assert data.split == "stratified"
    for x, labels in (data.train, data.validation):
        assert isinstance(x, list) and len(x) == 2
        assert np.array_equal(x[0][:, 0] + 1000.0, x[1][:, 0])
        assert np.array_equal(x[0][:, 0].astype(int) % 2, labels)
    assert sorted(np.concatenate([data.x_train[0][:, 0], data.x_val[0][:, 0]])) == list(range(50))
    assert (count_rows(data.x_train), count_rows(data.x_val)) == (40, 10)


def test_a_list_of_targets_is_split_row_for_row_and_randomly():
    x = _rows(30, 4)
    labels, sizes = np.arange(30) % 3, np.arange(30, dtype="float32")[:, None] * 2.0
    data = validate((x, (labels, sizes)), seed=1)
    assert data.split == "random"
    for inputs, (heads, values) in (data.train, data.validation):
        assert np.array_equal(inputs[:, 0] * 2.0, values[:, 0])
        assert np.array_equal(inputs[:, 0].astype(int) % 3, heads)
    assert isinstance(data.y_train, list), "a tuple of targets is passed on as a list"


def test_training_and_validation_data_may_hold_lists_of_inputs_and_targets():
    train = ([_rows(20, 3), _rows(20, 2)], [np.zeros(20), np.ones((20, 1))])
    validation = ([_rows(8, 3), _rows(8, 2)], [np.zeros(8), np.ones((8, 1))])
    data = validate((train, validation), seed=0)
    assert data.split == "given"
    assert [a.shape for a in data.x_val] == [(8, 3), (8, 2)] and [a.shape for a in data.y_train] == [(20,), (20, 1)]
    again = validate((data.train, data.validation))  # as a repaired or compared copy returns it
    assert again.split == "given" and [a.shape for a in again.x_train] == [(20, 3), (20, 2)]


def test_two_pairs_of_different_lengths_are_training_and_validation_data():
    data = validate(([_rows(40, 3), np.zeros(40)], [_rows(10, 3), np.zeros(10)]))
    assert data.split == "given" and data.x_train.shape == (40, 3) and data.y_val.shape == (10,)


def test_four_arrays_of_one_length_that_only_fit_two_inputs_and_two_outputs_are_split():
    x1, x2, y1, y2 = _rows(40, 3), _rows(40, 5), np.arange(40) % 2, np.zeros((40, 1))
    for containers in (list, tuple):
        data = validate((containers([x1, x2]), containers([y1, y2])), seed=0)
        assert data.split == "random" and count_rows(data.y_train) == 32
        assert [a.shape[1:] for a in data.x_train] == [(3,), (5,)]
        assert [a.shape[1:] for a in data.y_val] == [(), (1,)]


def test_four_arrays_that_fit_both_readings_in_tuples_are_training_and_validation_data():
    data = validate(((_rows(30, 3), np.arange(30) % 2), (_rows(30, 3, offset=100.0), np.arange(30) % 2)))
    assert data.split == "given" and data.x_val[0, 0] == 100.0


@pytest.mark.parametrize("first, second", [(list, list), (list, tuple), (tuple, list)])
def test_four_arrays_that_fit_both_readings_with_a_list_stop_with_one_line(first, second):
    x, y = _rows(30, 3), np.arange(30) % 2
    with pytest.raises(KerasDoctorError) as caught:
        validate((first([x, y]), second([x, y])))
    message = str(caught.value)
    assert "\n" not in message and "30 samples each" in message
    assert "(x_train, y_train), (x_val, y_val)" in message and "[x1, x2], [y1, y2]" in message
    assert "Return tuples for training and validation data, or the inputs as a dict" in message


@pytest.mark.parametrize("result, message", [
    (([np.zeros((10, 2)), np.zeros((9, 2))], np.zeros(10)),
     r"^The arrays in x have different numbers of samples\. Received: \{0: 10, 1: 9\}$"),
    ((np.zeros((10, 2)), [np.zeros(10), np.zeros(8)]), r"^The arrays in y have different numbers of samples"),
    (([np.zeros((10, 2)), [np.zeros(10)]], np.zeros(10)),
     r"^x\[1\] must be an array: x and y may be dicts or lists of arrays, not of lists\."
     r".*Received: x\[1\] of type list$"),
    (([np.zeros((10, 2)), {"a": np.zeros(10)}], np.zeros(10)), r"^x\[1\] must be an array.*of type dict$"),
    (([np.zeros((10, 2)), 3], np.zeros(10)), r"^x\[1\] must be an array of samples\. Received: x\[1\]=3$"),
    (([np.zeros((10, 2)), np.zeros((10, 2))], np.zeros(9)),
     r"^x and y must hold the same number of samples\. Received: x with 10 samples and y with 9$"),
])
def test_a_list_that_is_not_a_list_of_arrays_of_one_length_is_one_clear_line(result, message):
    with pytest.raises(KerasDoctorError, match=message):
        validate(result)


def test_lists_of_numbers_and_of_numpy_scalars_stay_one_array():
    data = validate(([[float(i), 1.0] for i in range(10)], [np.int64(i % 2) for i in range(10)]), seed=0)
    assert data.x_train.shape == (8, 2) and data.y_train.shape == (8,)


def test_take_rows_keeps_the_container_of_a_list_of_inputs():
    x = [np.arange(6), np.arange(6) * 10]
    assert [list(a) for a in take_rows(x, np.array([1, 4]))] == [[1, 4], [10, 40]]
    assert count_rows(x) == 6
