"""Rules that do not change their verdict with the length of the run or the number of probes."""

import math

import numpy as np

from kerasdoctor.diagnose.rules.gradients import ExplodingGradients
from kerasdoctor.diagnose.rules.progress import LossOscillating
from tests.unit.synthetic import LogBuilder, mlp

LN10 = math.log(10)


def _probed(losses, steps):
    builder = LogBuilder().data()
    for step, loss in zip(steps, losses):
        builder.probe(int(step), loss=float(loss))
    return builder.log


def _plateau_run(probes, seed=0):
    """A healthy run: the probe loss falls from ln 10 to 0.3, then sits there with small wobbles
    (2% of the trivial loss), as minibatch noise moves the weights."""
    steps = np.linspace(0, 30_000, probes).round()
    trend = 0.3 + (LN10 - 0.3) * np.exp(-steps / 1_000)
    noise = np.random.default_rng(seed).normal(scale=0.02 * LN10, size=probes)
    return _probed(trend + noise, steps)


def test_loss_oscillating_stays_quiet_on_a_long_healthy_plateau_however_many_probes():
    # The rule summed every rise over the whole run, so a long plateau's wobbles added up.
    for probes in (20, 200, 2_000):
        assert LossOscillating().check(_plateau_run(probes)) is None, probes


def _swinging_run(probes):
    steps = np.linspace(0, 3_000, probes).round()
    losses = [LN10 * (0.6 if index % 2 else 0.3) for index in range(probes)]
    return _probed(losses, steps)


def test_loss_oscillating_fires_on_a_swinging_loss_however_many_probes():
    for probes in (12, 120, 1_200):
        finding = LossOscillating().check(_swinging_run(probes))
        assert finding is not None, probes
        assert 0.5 <= finding.evidence["rise_to_fall_ratio"] <= 2.0


def test_loss_oscillating_judges_the_second_half_of_the_run():
    # Large swings early that settle into a steady fall are a healthy start, not an oscillation.
    steps = list(range(0, 1_000, 10))
    losses = [LN10 * (0.8 if i % 2 else 0.4) if i < 40 else LN10 * 0.4 * 0.99 ** i for i in range(len(steps))]
    assert LossOscillating().check(_probed(losses, steps)) is None


def _gradients(norms, losses):
    layers = mlp(widths=(32,) * 4, activation="tanh")
    builder = LogBuilder(layers=layers)
    for index, (norm, loss) in enumerate(zip(norms, losses)):
        builder.probe(index * 100, loss=loss, grads={layer["name"]: norm for layer in layers})
    return builder.log


def test_exploding_gradients_is_quiet_when_the_gradient_grows_while_the_loss_falls():
    # A deep tanh net leaving its flat start: a tiny first gradient that grows 500x as it learns.
    norms = [0.002, 0.01, 0.3, 1.0, 0.8, 0.6]
    losses = [2.30, 2.20, 1.20, 0.60, 0.40, 0.30]
    assert ExplodingGradients().check(_gradients(norms, losses)) is None


def test_exploding_gradients_needs_more_than_one_probe_above_the_limit():
    norms = [1.0, 1.2, 300.0, 1.1, 1.0, 0.9]
    losses = [2.30, 2.25, 2.40, 2.20, 2.10, 2.00]
    assert ExplodingGradients().check(_gradients(norms, losses)) is None


def test_exploding_gradients_fires_when_the_growth_persists_without_improvement():
    norms = [1.0, 5.0, 300.0, 2_000.0, 9_000.0]
    losses = [2.30, 2.60, 4.00, 9.00, 30.0]
    finding = ExplodingGradients().check(_gradients(norms, losses))
    assert finding is not None and finding.step == 200


def test_loss_diverged_ignores_one_spike_the_next_probe_recovers_from():
    from kerasdoctor.diagnose.rules.loss_diverged import LossDiverged

    # A long run whose probe loss touched 0 and wobbled once: any value is "infinitely" its best.
    steps = list(range(0, 2_000, 100))
    losses = [1.2, 0.8, 0.5, 0.2, 0.05, 0.0, 0.0, 1.8, 0.01, 0.0] + [0.0] * 10
    assert LossDiverged().check(_probed(losses, steps)) is None
    losses[8] = 2.5  # still up at the next probe: diverged
    assert LossDiverged().check(_probed(losses, steps)).step == 700


def _static_error_run(final_loss, epochs=5):
    from tests.unit.synthetic import dense

    layers = [dense("hidden", 32, initializer="Zeros"), dense("output", 10, "softmax")]
    builder = LogBuilder(layers=layers).data().data("val")
    for epoch in range(epochs):
        loss = LN10 + (final_loss - LN10) * (epoch + 1) / epochs
        builder.epoch(epoch, loss, val_loss=loss, accuracy=0.9, val_accuracy=0.9)
    return builder.log


def test_a_static_finding_on_a_model_that_trained_well_is_a_warning_that_says_so():
    from kerasdoctor.diagnose import diagnose

    trained = [f for f in diagnose(_static_error_run(0.2)) if f.code == "POOR_INITIALIZATION"]
    assert trained and trained[0].severity == "warning" and "trained despite it" in trained[0].message
    stuck = [f for f in diagnose(_static_error_run(2.2)) if f.code == "POOR_INITIALIZATION"]
    assert stuck and stuck[0].severity == "error" and "despite" not in stuck[0].message


def test_learning_rate_too_high_needs_the_early_loss_to_stop_falling():
    from kerasdoctor.diagnose.rules.learning_rate import LearningRateTooHigh

    def early(losses):
        builder = LogBuilder(lr=0.05).data()
        for step, loss in zip((0, 1, 2, 4, 8, 16), losses):
            builder.probe(step, per_step=0.15, loss=loss)
        return builder.log

    # Steps of 15% of the weights' norm: a high rate on small weights that still goes down.
    assert LearningRateTooHigh().check(early([2.3, 2.0, 1.6, 1.1, 0.8, 0.6])) is None
    assert LearningRateTooHigh().check(early([2.3, 3.5, 6.0, 9.0, 14.0, 14.0])).code == "LEARNING_RATE_TOO_HIGH"


def test_the_oscillation_fix_speaks_of_momentum_and_batch_size_only_where_the_run_has_them():
    from kerasdoctor.diagnose.rules.loss_oscillating import _advice
    from kerasdoctor.runlog import RunLog

    def log(batch_size, optimizer):
        return RunLog(records=[{"type": "header", "schema": 2}, {"type": "run", "fit": {"batch_size": batch_size}},
                               {"type": "model", "layers": [], "optimizer": optimizer}])

    sgd = {"name": "SGD", "config": {"learning_rate": 0.01, "momentum": 0.9}}
    adam = {"name": "Adam", "config": {"learning_rate": 3.0, "beta_1": 0.9}}
    assert _advice(log(1, sgd)) == ("Use a larger batch size (32-256) or lower the learning rate, or lower the "
                                    "momentum (0.9 at batch size 1 amplifies the noise of each batch).")
    assert _advice(log(32, adam)) == "Lower the learning rate (or let a schedule decay it)."
    assert "momentum" not in _advice(log(8, adam)) and "larger batch size" in _advice(log(8, adam))
