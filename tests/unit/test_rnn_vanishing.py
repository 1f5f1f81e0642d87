"""VANISHING_GRADIENTS through time, on synthetic logs of a recurrent model.

Each probe carries ``gradient_through_time``: the norm of the loss's gradient with respect to
the first recurrent layer's input sequence at its first, middle and last steps.
"""

import math

import numpy as np
import pytest

from kerasdoctor.diagnose.rules.gradients import VanishingGradients
from kerasdoctor.monitor.through_time import gradient_row
from kerasdoctor.runlog import RunLog

BINARY_LABELS = {"shape": [128], "nan": 0, "inf": 0, "min": 0.0, "max": 1.0, "mean": 0.5, "std": 0.5,
                 "encoding": "index", "classes": [0, 1], "counts": [64, 64], "num_classes": 2}


def recurrent_log(ratios, losses, reads="forward", length=80, labels=True, steps=None):
    """A SimpleRNN -> Dense model whose probes see the given first/last (or middle/ends) ratios,
    at ``steps`` (default: every 10 steps)."""
    log = RunLog()
    layers = [
        {"name": "rnn", "class_name": "SimpleRNN", "activation": "tanh",
         "variables": ["rnn/kernel", "rnn/recurrent_kernel", "rnn/bias"]},
        {"name": "out", "class_name": "Dense", "activation": "sigmoid", "variables": ["out/kernel", "out/bias"]},
    ]
    log.append("model", layers=layers, loss={"name": "BinaryCrossentropy", "config": {}},
               variables=[v for layer in layers for v in layer["variables"]])
    if labels:
        log.append("data", split="probe", samples=128, y=BINARY_LABELS)
    for index, (ratio, loss) in enumerate(zip(ratios, losses)):
        ends = (ratio, 1.0, 1.0) if reads == "forward" else (1.0, 1.0, ratio) if reads == "backward" else (1.0, ratio, 1.0)
        variables = {name: {"grad_norm": 0.1, "size": 16.0, "nonfinite_grad": 0.0} for name in log.model["variables"]}
        step = index * 10 if steps is None else steps[index]
        log.append("probe", step=step, epoch=index // 4, loss=loss, variables=variables, layers={},
                   gradient_through_time={"layer": "rnn", "reads": reads, "length": length,
                                          "steps": [0, length // 2, length - 1], "grad_norms": list(ends)})
    return log


CHANCE = math.log(2)


def test_fires_when_the_first_step_gets_a_billionth_of_the_last_and_the_loss_stays_at_chance():
    log = recurrent_log([1e-3] * 4 + [1e-9] * 4, [0.75] + [CHANCE] * 7)
    finding = VanishingGradients().check(log)
    assert finding is not None and finding.code == "VANISHING_GRADIENTS"
    assert finding.evidence["median_time_ratio"] == pytest.approx(1e-9)
    assert finding.evidence["layer"] == "rnn" and finding.evidence["length"] == 80
    assert finding.evidence["reference_loss"] == pytest.approx(CHANCE)
    assert finding.step == 40 and "through time" in finding.message


def test_quiet_when_the_gradient_reaches_the_first_steps_after_learning_starts():
    # A gated layer: it starts with a fading gradient, then carries it back as it learns.
    log = recurrent_log([1e-8] * 4 + [0.5, 0.9, 1.0, 0.8], [CHANCE] * 6 + [0.3, 0.01])
    assert VanishingGradients().check(log) is None


def test_the_probes_of_the_first_steps_do_not_outvote_the_end_of_the_run():
    # The Monitor's adaptive schedule in a short fit: steps 0-32 probed while the loss is at
    # chance and the gradient has not reached back yet, then only the trained weights at step 630.
    steps = [0, 1, 2, 4, 8, 16, 32, 630]
    log = recurrent_log([4e-8] * 7 + [0.6], [CHANCE] * 7 + [0.4], steps=steps)
    assert VanishingGradients().check(log) is None
    # The same schedule on a model that stays stuck is judged by its last probes.
    assert VanishingGradients().check(recurrent_log([1e-9] * 8, [CHANCE] * 8, steps=steps)) is not None


def test_quiet_when_the_model_learns_although_the_first_steps_get_no_gradient():
    # A task that the last steps decide: nothing needs to reach back.
    log = recurrent_log([1e-12] * 8, [CHANCE, 0.5, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01])
    assert VanishingGradients().check(log) is None


def test_reads_the_later_half_of_the_probes_only():
    log = recurrent_log([1e-12] * 4 + [1e-3] * 4, [CHANCE] * 8)
    assert VanishingGradients().check(log) is None


def test_severity_is_error_below_the_square_of_the_threshold():
    assert VanishingGradients().check(recurrent_log([1e-13] * 6, [CHANCE] * 6)).severity == "error"
    assert VanishingGradients().check(recurrent_log([1e-8] * 6, [CHANCE] * 6)).severity == "warning"


def test_a_layer_reading_backwards_is_judged_from_its_last_input_step():
    log = recurrent_log([1e-9] * 6, [CHANCE] * 6, reads="backward")
    assert VanishingGradients().check(log).evidence["reads"] == "backward"
    # The same norms read forwards put the tiny gradient at the last step read: not vanishing.
    flipped = recurrent_log([1e-9] * 6, [CHANCE] * 6, reads="backward")
    for probe in flipped.probes:
        probe["gradient_through_time"]["reads"] = "forward"
    assert VanishingGradients().check(flipped) is None


def test_a_bidirectional_layer_is_judged_at_the_middle_step():
    finding = VanishingGradients().check(recurrent_log([1e-9] * 6, [CHANCE] * 6, reads="both"))
    assert finding is not None and "middle step" in finding.message


def test_without_label_statistics_the_first_probe_loss_is_the_reference():
    log = recurrent_log([1e-9] * 6, [0.9] + [0.85] * 5, labels=False)
    finding = VanishingGradients().check(log)
    assert finding is not None and finding.evidence["reference_loss"] == pytest.approx(0.9)


def test_needs_min_probes_in_its_window():
    # The window is the second half of the run, or the last min_probes probes when it holds fewer.
    assert VanishingGradients().check(recurrent_log([1e-9] * 3, [CHANCE] * 3)) is not None
    assert VanishingGradients().check(recurrent_log([1e-9], [CHANCE])) is None
    assert VanishingGradients(min_probes=1).check(recurrent_log([1e-9], [CHANCE])) is not None
    # Early probes are outside the window once the second half holds enough of its own.
    assert VanishingGradients().check(recurrent_log([1e-9] * 3 + [0.5] * 3, [CHANCE] * 6)) is None


def test_a_log_without_the_through_time_field_is_not_judged_through_time():
    log = recurrent_log([1e-9] * 6, [CHANCE] * 6)
    for probe in log.probes:
        del probe["gradient_through_time"]
    assert VanishingGradients().check(log) is None


def test_non_finite_norms_are_skipped():
    log = recurrent_log([1e-9] * 6, [CHANCE] * 6)
    for probe in log.probes[1:]:
        probe["gradient_through_time"]["grad_norms"] = [math.nan, 1.0, 1.0]
    assert VanishingGradients().check(log) is None


@pytest.mark.parametrize("name", ["min_time_ratio", "max_loss_share"])
@pytest.mark.parametrize("value", [0, 1, 1.5])
def test_thresholds_outside_zero_one_are_refused(name, value):
    with pytest.raises(ValueError, match=f"Argument `{name}` must be in \\(0, 1\\). Received: {name}={value}"):
        VanishingGradients(**{name: value})


def _gradient(rows, length, reached, value=1.0):
    """(rows, length, 2) gradients: ``value`` at the steps ``reached(row)`` gives, 0 elsewhere."""
    gradient = np.zeros((rows, length, 2))
    for row in range(rows):
        gradient[row, reached(row), :] = value
    return gradient


def test_the_gradient_row_reads_each_padded_row_between_its_own_first_and_last_steps():
    class Layer:
        name = "lstm"

    # Pre-padded rows (a masked layer sends nothing back to padding): row r starts at step 2r.
    gradient = _gradient(4, 10, lambda row: slice(2 * row, 10))
    gradient[:, -1] *= 3.0
    record = gradient_row(gradient, Layer(), "LSTM", "forward")
    assert record["unreached_rows"] == 3 and record["length"] == 10
    assert record["steps"] == [3, 6, 9]  # the medians of the steps read: first 0-6, middle 5-8
    np.testing.assert_allclose(record["grad_norms"], [np.sqrt(8), np.sqrt(8), np.sqrt(72)])
    # Post-padded, and a row with no gradient at all (it is left out).
    gradient = _gradient(3, 10, lambda row: slice(0, 10 - 3 * row))
    gradient[2] = 0.0
    record = gradient_row(gradient, Layer(), "LSTM", "forward")
    assert record["unreached_rows"] == 1 and record["steps"] == [0, 4, 7]  # int medians: (9 + 6) / 2
    # No padding: the plain first, middle and last steps, no extra field.
    record = gradient_row(_gradient(2, 10, lambda row: slice(0, 10)), Layer(), "LSTM", "forward")
    assert record["steps"] == [0, 5, 9] and "unreached_rows" not in record
    np.testing.assert_allclose(record["grad_norms"], [2.0, 2.0, 2.0])
