"""The repair loop's judging on synthetic RunLogs: the objective, the noise, the horizon, the budget."""

import math
from types import SimpleNamespace

import pytest

from kerasdoctor.diagnose.base import Finding
from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.repair.changes import Change
from kerasdoctor.repair.loop import (
    Budget, Judged, _tried_as, fixes_only_despite, horizon_for, judge, planning_facts, run_length, same_settings,
    to_fix,
)
from kerasdoctor.runlog import RunLog


def _log(values, name="val_accuracy", samples=400):
    records = [{"type": "header", "schema": 2},
               {"type": "data", "split": "val", "samples": samples, "y": {}}]
    for epoch, value in enumerate(values):
        records.append({"type": "epoch", "epoch": epoch, "step": 10 * (epoch + 1), "seconds": 1.0,
                        "logs": {"loss": 1.0 / (epoch + 1), name: value}})
    return RunLog(records=records)


def test_judge_reads_the_best_value_and_the_noise():
    judged = judge(_log([0.5, 0.8, 0.79, 0.81]))
    assert judged.metric == "val_accuracy" and judged.direction == "max"
    assert judged.value == pytest.approx(0.81) and judged.epochs == 4
    # the binomial standard error of 0.81 on 400 samples, above the epoch-to-epoch swing here
    assert judged.noise == pytest.approx(math.sqrt(0.81 * 0.19 / 400), rel=1e-6)


def test_judge_at_a_horizon_sees_only_those_epochs():
    judged = judge(_log([0.5, 0.6, 0.9]), upto=2)
    assert judged.epochs == 2 and judged.value == pytest.approx(0.6)


def test_a_loss_objective_is_minimized_and_better_than_compares_in_its_direction():
    low = judge(_log([3.0, 2.0], name="val_loss"))
    high = judge(_log([3.0, 2.5], name="val_loss"))
    assert low.direction == "min" and low.value == 2.0
    assert low.better_than(high) == pytest.approx(0.5) and high.better_than(low) == pytest.approx(-0.5)


def test_a_run_without_a_finite_value_is_beaten_by_any_that_has_one():
    crashed = judge(_log([float("nan")]))
    assert crashed.value is None
    assert judge(_log([0.3])).better_than(crashed) == math.inf and crashed.better_than(judge(_log([0.3]))) is None


@pytest.mark.parametrize("epochs, horizon", [(1, 1), (3, 1), (5, 1), (6, 2), (10, 2), (20, 4), (40, 8)])
def test_the_horizon_is_a_fifth_of_the_epochs(epochs, horizon):
    assert horizon_for(epochs) == horizon


def _fit(epochs):
    return SimpleNamespace(fit={"epochs": epochs, "batch_size": 32})


def test_a_candidate_with_more_epochs_in_its_fit_runs_and_is_judged_as_much_longer():
    assert run_length(_fit(3), _fit(3), 3, 1) == (3, 1)
    assert run_length(_fit(3), _fit(17), 3, 1) == (17, 6)  # judged after 1 x 17 / 3 epochs
    assert run_length(_fit(3), _fit(17), 6, 2) == (34, 11)  # a run given its own --epochs scales alike
    assert run_length(_fit(3), _fit(17), 3, 3) == (17, 17)  # judged on the full run
    assert run_length(_fit(10), _fit(5), 10, 2) == (5, 1)
    assert run_length(_fit(3), SimpleNamespace(fit={}), 3, 1) == (3, 1)


def test_the_planners_see_the_epochs_of_the_workloads_fit_not_those_a_repair_ran():
    log = _log([0.5, 0.6])
    log.records.insert(1, {"type": "run", "fit": {"epochs": 2, "batch_size": 4}})  # repair --epochs 2
    facts = planning_facts(SimpleNamespace(snapshot=lambda: log, workload=SimpleNamespace(fit={"epochs": 8})))
    assert facts["epochs"] == 8 and facts["batch_size"] == 4
    # a batch 8 times larger then trains the run's 2 epochs x sqrt(8), and FIT's 8 x sqrt(8) in the copy
    from kerasdoctor.repair.planners import _larger_batch

    change = _larger_batch(facts, "LOSS_OSCILLATING")
    assert change.params["epochs"] == 23
    assert run_length(_fit(8), _fit(change.params["epochs"]), 2, 1) == (6, 3)


def test_an_output_mismatch_a_run_trained_despite_is_left_to_fix_and_other_static_findings_are_not():
    despite = {"trained_despite": True}
    mismatch = Finding("OUTPUT_LOSS_MISMATCH", "warning", None, "sigmoid over classes", evidence=despite)
    init = Finding("POOR_INITIALIZATION", "warning", None, "zeros", evidence=despite)
    lr = Finding("LEARNING_RATE_TOO_HIGH", "error", 3, "too high")
    judged = Judged([lr, mismatch, init], [lr], "val_accuracy", "max", 0.9, 0.01, 5)
    assert [f.code for f in to_fix(judged)] == ["LEARNING_RATE_TOO_HIGH", "OUTPUT_LOSS_MISMATCH"]
    output = Change.make("layer", ("output",), "OUTPUT_LOSS_MISMATCH", activation="softmax")
    rate = Change.make("compile", why="LEARNING_RATE_TOO_HIGH", learning_rate=1e-3)
    assert fixes_only_despite([output]) and not fixes_only_despite([output, rate]) and not fixes_only_despite([])


def test_the_layers_inside_a_nested_model_are_read_from_a_build_only_for_planners_that_use_them():
    log = _log([0.1, 0.1])
    log.records.insert(1, {"type": "model", "layers": [{"name": "backbone", "class_name": "Functional"}]})
    builds = []

    def build_model():
        builds.append(1)
        raise RuntimeError("the user's build_model failed")

    workload = SimpleNamespace(fit={"epochs": 2}, build_model=build_model)
    training = SimpleNamespace(snapshot=lambda: log, workload=workload)
    assert planning_facts(training, ["LEARNING_RATE_TOO_HIGH"])["inner_layers"] == [] and builds == []
    # a build that fails leaves the top level to plan for
    assert planning_facts(training, ["DYING_RELU"])["inner_layers"] == [] and builds == [1]


def test_an_output_fix_that_lost_at_the_horizon_is_tried_again_on_full_runs_and_other_fixes_are_not():
    mismatch = Finding("OUTPUT_LOSS_MISMATCH", "error", None, "logits without from_logits")
    rate = Finding("LEARNING_RATE_TOO_HIGH", "error", 3, "too high")
    paused, ended = SimpleNamespace(finished=False), SimpleNamespace(finished=True)
    assert _tried_as(mismatch, paused) != _tried_as(mismatch, ended)
    assert _tried_as(rate, paused) == _tried_as(rate, ended)


def test_the_budget_is_in_full_trainings_or_minutes():
    budget = Budget()
    assert budget.limit == math.inf  # until the first epochs say how long a training takes
    budget.set_epoch_seconds(2.0, 10)
    assert budget.limit == pytest.approx(3 * 20.0)
    assert Budget(multiple=1.5, minutes=0.1).limit == pytest.approx(6.0)
    for bad in ({"multiple": 0}, {"multiple": -1.0}, {"minutes": 0}, {"multiple": float("nan")}):
        with pytest.raises(KerasDoctorError):
            Budget(**bad)


def test_a_repair_not_accepted_says_what_its_best_changes_did_do():
    from kerasdoctor.repair import _partial_gain

    oscillating = Finding("LOSS_OSCILLATING", "warning", 40, "the loss oscillates")
    before = Judged([], [], "val_accuracy", "max", 0.5167, 0.03, 6)
    after = Judged([oscillating], [oscillating], "val_accuracy", "max", 0.7633, 0.04, 6)
    line = _partial_gain([Change.make("compile", why="LEARNING_RATE_TOO_HIGH", learning_rate_scale=0.1)], before, after)
    assert line == ("The best changes found (compile: learning_rate_scale x0.1) took val_accuracy from 0.5167 to "
                    "0.7633, but the run still shows LOSS_OSCILLATING, so no repaired copy was written.")


def test_a_loss_that_oscillates_is_judged_like_an_output_fix_since_a_lower_rate_is_slower_at_first():
    oscillating = Finding("LOSS_OSCILLATING", "warning", 40, "the loss oscillates")
    paused, ended = SimpleNamespace(finished=False), SimpleNamespace(finished=True)
    assert _tried_as(oscillating, paused) != _tried_as(oscillating, ended)


def test_a_candidate_that_comes_out_as_the_reference_is_recognized_and_a_second_scale_is_not():
    rate = Change.make("compile", why="LEARNING_RATE_TOO_HIGH", learning_rate=0.032)
    again = Change.make("compile", why="LOSS_OSCILLATING", learning_rate=0.032)
    tenth = Change.make("compile", why="LOSS_OSCILLATING", learning_rate_scale=0.1)
    assert same_settings((rate, again), (rate,))
    assert not same_settings((rate, tenth), (rate,))
    assert not same_settings((rate, tenth, tenth), (rate, tenth))  # x0.01 is not x0.1
    assert not same_settings((tenth, rate), (rate, tenth))  # a rate set after a scale replaces it
    assert not same_settings((rate, Change.make("compile", why="LOSS_OSCILLATING", learning_rate=0.01)), (rate,))


def test_a_stall_seen_at_the_horizon_waits_for_the_full_run_and_a_bottleneck_does_not():
    from kerasdoctor.repair.loop import before_the_end

    stalled = Finding("UNDERFITTING", "warning", 90, "stopped improving", {"recent_improvement": 0.03, "epochs": 3})
    narrow = Finding("UNDERFITTING", "warning", 90, "a bottleneck", {"bottleneck": ["hidden_0", 2, 10]})
    rate = Finding("LEARNING_RATE_TOO_HIGH", "error", 3, "too high")
    paused = Judged([stalled, rate], [stalled, rate], "val_accuracy", "max", 0.3, 0.01, 3)
    assert before_the_end(paused).blocking == [rate] and before_the_end(paused).findings == [stalled, rate]
    assert before_the_end(Judged([narrow], [narrow], "val_accuracy", "max", 0.3, 0.01, 3)).blocking == [narrow]


def test_a_learning_rate_measured_on_the_same_model_is_read_back_instead_of_swept_again():
    from kerasdoctor.repair.changes import MEASURED
    from kerasdoctor.repair.loop import resolve

    first = Change.make("compile", why="LEARNING_RATE_TOO_HIGH", learning_rate=0.214)
    again = Change.make("compile", why="LOSS_OSCILLATING", learning_rate=MEASURED)
    measured = {"[]": 0.214}  # the original model, its rate aside, as the first round swept it
    workload = SimpleNamespace()  # nothing to sweep: a sweep would fail on it
    assert resolve((first, again), workload, measured=measured)[1].params["learning_rate"] == 0.214
    other = Change.make("layer", ["hidden"], activation="relu")
    with pytest.raises(Exception):  # another model: swept (and this stand-in workload cannot be)
        resolve((other, again), workload, measured=measured)


def test_a_winner_trained_past_the_original_shows_its_metric_where_the_original_stopped_too():
    from kerasdoctor.repair import _early
    from kerasdoctor.report.repair import _side

    before = Judged([], [], "val_accuracy", "max", 0.7017, 0.019, 2)
    after = {"metric": "val_accuracy", "value": 0.8467, "noise": 0.015, "epochs": 10, "findings": [],
             "at_horizon": 0.7333, "horizon_epochs": 2}
    assert _early(after, before) == "; 0.7333 after 2"
    assert _side("after", after, early=True).plain == (
        "after: val_accuracy 0.8467 (± 0.015) after 10 epoch(s), 0.7333 after 2; no problem found")
    # An original trained to its end compares with the winner's end: nothing more to show.
    assert _early(after, Judged([], [], "val_accuracy", "max", 0.84, 0.019, 10)) == ""
    assert _side("after", after).plain == "after: val_accuracy 0.8467 (± 0.015) after 10 epoch(s); no problem found"
