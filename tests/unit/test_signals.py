"""The probe's host-side signals against a plain reference (every array converted to float64
first, every count taken), on shapes, dtypes and values a probe meets."""

import math

import numpy as np
import pytest

from kerasdoctor.monitor.signals import (
    LAYER_FIELDS, SIGMOID_EDGE, TANH_EDGE, VARIABLE_FIELDS, activation_signals, variable_signals,
)


def _reference_norm(values):
    return float(np.sqrt(np.sum(np.square(np.asarray(values, np.float64)))))


def _reference_nonfinite(values):
    values = np.asarray(values, np.float64)
    return float(values.size - np.count_nonzero(np.isfinite(values)))


def _reference_variable(gradient, weight, previous):
    gradient, weight = np.asarray(gradient, np.float64), np.asarray(weight, np.float64)
    return {
        "grad_norm": _reference_norm(gradient),
        "weight_norm": _reference_norm(weight),
        "update_norm": _reference_norm(weight - np.asarray(previous, np.float64)),
        "zero_grad_fraction": float(np.mean(gradient == 0)) if gradient.size else 0.0,
        "nonfinite_grad": _reference_nonfinite(gradient),
        "nonfinite_weight": _reference_nonfinite(weight),
        "size": float(weight.size),
    }


def _reference_layer(output, kind):
    output = np.asarray(output, np.float64)
    if output.size == 0:
        return dict.fromkeys(LAYER_FIELDS, 0.0)
    if kind == "sigmoid":
        saturated = np.mean((output < SIGMOID_EDGE) | (output > 1.0 - SIGMOID_EDGE))
    elif kind == "tanh":
        saturated = np.mean(np.abs(output) > TANH_EDGE)
    else:
        saturated = 0.0
    dead = (float(np.all(output == 0)) if output.ndim < 2
            else float(np.mean(np.all(output == 0, axis=tuple(range(output.ndim - 1))))))
    return {"mean": float(output.mean()), "std": float(output.std()), "zero_fraction": float(np.mean(output == 0)),
            "dead_fraction": dead, "saturated_fraction": float(saturated), "nonfinite": _reference_nonfinite(output)}


def _same(got, expected):
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert isinstance(got[key], float), key
        if math.isnan(value):
            assert math.isnan(got[key]), key
        else:
            assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-300), key


def _arrays(rng, dtype):
    yield rng.normal(size=(128, 8, 8, 16)).astype(dtype)
    yield np.maximum(rng.normal(size=(32, 10)), 0).astype(dtype)  # ReLU zeros, some whole units
    dead = rng.normal(size=(16, 5, 7)).astype(dtype)
    dead[..., 2] = 0
    yield dead
    yield rng.normal(size=(9,)).astype(dtype)
    yield np.zeros((0, 4), dtype)
    yield np.full((3, 4), 1e3, dtype) + rng.normal(size=(3, 4)).astype(dtype)  # large mean, small spread
    special = rng.normal(size=(64, 3)).astype(dtype)
    special[0, 0], special[5, 1], special[7, 2] = np.nan, np.inf, -np.inf
    yield special
    only_inf = rng.normal(size=(10, 2)).astype(dtype)
    only_inf[3, 1] = np.inf
    yield only_inf


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_activation_signals_match_the_reference(dtype):
    rng = np.random.default_rng(0)
    for output in _arrays(rng, dtype):
        for kind in (None, "tanh", "sigmoid"):
            _same(activation_signals(output, kind), _reference_layer(output, kind))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_variable_signals_match_the_reference(dtype):
    rng = np.random.default_rng(1)
    for gradient in _arrays(rng, dtype):
        weight = rng.normal(size=gradient.shape).astype(dtype)
        previous = rng.normal(size=gradient.shape).astype(dtype)
        got = variable_signals(gradient, weight, previous)
        assert set(got) == set(VARIABLE_FIELDS)
        _same(got, _reference_variable(gradient, weight, previous))
        _same(variable_signals(weight, gradient, weight), _reference_variable(weight, gradient, weight))


def test_saturation_limits_are_compared_in_float64():
    # The float32 value nearest tanh(5) lies on one side of it: counted as it was in float64.
    edge = np.float32(TANH_EDGE)
    output = np.array([[edge, -edge, 0.5]], np.float32)
    assert activation_signals(output, "tanh")["saturated_fraction"] == pytest.approx(
        float(np.mean(np.abs(output.astype(np.float64)) > TANH_EDGE)))


def test_a_huge_float64_weight_is_still_counted_finite():
    weight = np.array([1e200, 1.0])  # its square overflows float64: the count is taken
    row = variable_signals(np.zeros(2), weight, weight)
    assert row["nonfinite_weight"] == 0.0 and math.isinf(row["weight_norm"])
