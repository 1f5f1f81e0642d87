"""The pieces of tuning that need no training: the KerasTuner-style hp, suggestion rules, storage URLs."""

import keras
import numpy as np
import optuna
import pytest

from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.tune.hp import DefaultHyperParameters, TrialHyperParameters
from kerasdoctor.tune.objective import logged_as, objective_metric, parse_objective
from kerasdoctor.tune.study import masked, open_storage
from kerasdoctor.tune.suggest import SUGGESTIONS, midway, minimum_over_10, steep, valley, zero_lag

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _space(hp):
    """The KerasTuner getting-started space, as a build function would call it."""
    values = {"layers": hp.Int("num_layers", 1, 3)}
    for i in range(values["layers"]):
        values[f"units_{i}"] = hp.Int(f"units_{i}", min_value=32, max_value=512, step=32)
    values["activation"] = hp.Choice("activation", ["relu", "tanh"])
    values["dropout"] = hp.Boolean("dropout")
    values["lr"] = hp.Float("lr", min_value=1e-4, max_value=1e-2, sampling="log")
    return values


def test_trial_hyperparameters_suggest_within_the_declared_space():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(20):
        trial = study.ask()
        values = _space(TrialHyperParameters(trial))
        assert 1 <= values["layers"] <= 3 and values["activation"] in ("relu", "tanh")
        assert all(v % 32 == 0 and 32 <= v <= 512 for k, v in values.items() if k.startswith("units_"))
        assert 1e-4 <= values["lr"] <= 1e-2 and isinstance(values["dropout"], bool)
        assert trial.params["lr"] == values["lr"]
        study.tell(trial, 0.0)
    lrs = [t.params["lr"] for t in study.trials]
    assert min(lrs) < 1e-3 < max(lrs)  # log sampling reaches both decades


def test_the_same_name_gives_the_same_value_within_a_trial():
    hp = TrialHyperParameters(optuna.create_study().ask())
    first = hp.Float("lr", 1e-4, 1e-1, sampling="log")
    assert hp.Float("lr", 1e-4, 1e-1, sampling="log") == first == hp.get("lr") == hp["lr"]


def test_conditional_hyperparameters_take_their_default_when_inactive():
    trial = optuna.trial.FixedTrial({"model": "linear"})
    hp = TrialHyperParameters(trial)
    hp.Choice("model", ["linear", "mlp"])
    with hp.conditional_scope("model", ["mlp"]):
        units = hp.Int("units", 8, 64, default=16)
    assert units == 16 and "units" not in trial.params


def test_log_sampled_int_with_step_multiplies_like_kerastuner():
    trial = optuna.trial.FixedTrial({"units": 64})
    assert TrialHyperParameters(trial).Int("units", 16, 256, step=2, sampling="log") == 64


def test_default_hyperparameters_give_defaults_or_the_minimum():
    hp = DefaultHyperParameters()
    assert hp.Int("units", 32, 256, step=32, default=128) == 128
    assert hp.Float("lr", 1e-4, 1e-2, sampling="log") == 1e-4
    assert hp.Choice("act", ["relu", "tanh"]) == "relu" and hp.Boolean("dropout") is False
    assert hp.Fixed("epochs", 5) == 5


@pytest.mark.parametrize("call", [
    lambda hp: hp.Float("lr", 0.0, 1.0, sampling="log"),
    lambda hp: hp.Int("units", 10, 5),
    lambda hp: hp.Choice("act", []),
    lambda hp: hp.Float("lr", 1e-4, 1e-2, sampling="cubic"),
])
def test_a_bad_hyperparameter_is_one_clear_error(call):
    with pytest.raises(KerasDoctorError, match="hp '"):
        call(TrialHyperParameters(optuna.create_study().ask()))


def _curve(seed=0, points=90):
    """A range-test shape: flat, a fall between 1e-3 and 1e-1, then a blow-up; with noise."""
    rates = np.logspace(-7, 1, points)
    t = np.log10(rates)
    losses = 2.3 - 1.5 / (1 + np.exp(-(t + 2) * 3)) + np.where(t > -1, (t + 1) ** 2 * 4, 0)
    return rates, losses + np.random.default_rng(seed).normal(0, 0.02, points)


@pytest.mark.parametrize("name", SUGGESTIONS)
def test_every_rule_suggests_a_rate_inside_the_falling_part(name):
    rates, losses = _curve()
    smooth = zero_lag(losses, 0.8)
    assert 1e-4 <= SUGGESTIONS[name](rates, smooth) <= 1e-1


def test_rules_differ_as_documented():
    rates, losses = _curve()
    smooth = zero_lag(losses, 0.8)
    at_minimum = rates[int(np.argmin(smooth))]
    assert minimum_over_10(rates, smooth) == pytest.approx(at_minimum / 10)
    assert steep(rates, smooth) < at_minimum and valley(rates, smooth) < at_minimum
    # midway: halfway in log scale from the steepest fall to the lowest loss
    assert steep(rates, smooth) < midway(rates, smooth) < at_minimum
    assert midway(rates, smooth) == pytest.approx((steep(rates, smooth) * at_minimum) ** 0.5)


def test_the_command_line_sweeps_with_the_defaults_of_the_python_function():
    import inspect

    from kerasdoctor.cli.app import lr_find_command
    from kerasdoctor.tune.lr_find import lr_find

    function, command = inspect.signature(lr_find).parameters, inspect.signature(lr_find_command).parameters
    for python_name, option in (("start_lr", "start"), ("end_lr", "end"), ("num_steps", "steps"), ("rule", "rule")):
        assert command[option].default.default == function[python_name].default


def test_zero_lag_smoothing_does_not_shift_a_step():
    values = np.r_[np.ones(50), np.zeros(50)]
    smooth = zero_lag(values, 0.8)
    assert smooth[49] == pytest.approx(0.5, abs=0.15) and smooth[0] > 0.95 and smooth[-1] < 0.05


def test_a_suggestion_needs_three_points():
    with pytest.raises(ValueError, match="at least 3"):
        valley([1e-3, 1e-2], [1.0, 0.5])


def test_storage_urls_are_checked_and_passwords_masked(tmp_path):
    assert masked("postgresql://kd:secret@localhost/db") == "postgresql://kd:***@localhost/db"
    assert masked("sqlite:///x.db") == "sqlite:///x.db"
    with pytest.raises(KerasDoctorError, match="Optuna storage URL"):
        open_storage("redis-ish://nowhere")
    url, storage = open_storage(f"sqlite:///{tmp_path / 's.db'}")
    assert url.endswith("s.db") and storage is not None
    url, journal = open_storage(f"journal:{tmp_path / 'j.log'}")
    assert type(journal).__name__ == "JournalStorage"


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("val_loss", ("val_loss", "minimize")), ("val_acc", ("val_acc", "maximize")),
        ("val_auc:max", ("val_auc", "maximize")), ("val_my_score:min", ("val_my_score", "minimize")),
        ("val_accuracy:MAX", ("val_accuracy", "maximize")),
    ],
)
def test_an_objective_is_a_metric_name_and_an_optional_direction(spec, expected):
    assert parse_objective(spec) == expected


@pytest.mark.parametrize(
    "spec, message",
    [
        ("val_my_score", "cannot tell whether"), ("val_loss:sideways", "must be NAME, NAME:min or NAME:max"),
        (":max", "must be NAME, NAME:min or NAME:max"),
    ],
)
def test_a_bad_objective_is_one_clear_error(spec, message):
    with pytest.raises(KerasDoctorError, match=message) as caught:
        parse_objective(spec)
    assert f"Received: objective={spec!r}" in str(caught.value)


def test_the_default_objective_follows_the_compiled_metrics():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["acc"])
    assert objective_metric(model) == ("val_acc", "maximize")
    model.compile("adam", "sparse_categorical_crossentropy", metrics=[keras.metrics.AUC(name="auc")])
    assert objective_metric(model) == ("val_loss", "minimize")
    assert objective_metric(model, "val_auc") == ("val_auc", "maximize")



def test_the_objective_of_a_multi_output_model_is_found_under_its_output_name():
    logs = {"loss": 1.0, "out_accuracy": 0.5, "val_loss": 1.1, "val_out_accuracy": 0.4}
    assert logged_as("val_accuracy", logs) == "val_out_accuracy"
    assert logged_as("accuracy", logs) == "out_accuracy"
    assert logged_as("val_auc", logs) is None
