"""The adaptive schedule, on a clock the test moves: probes spread over the run, within budget."""

from kerasdoctor.monitor.schedule import EARLY_STEPS, AdaptiveSchedule


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def _simulate(schedule, clock, *, steps, step_seconds, probe_seconds, slow_until=0, slow_seconds=0.0):
    """Run ``steps`` training steps; each due step is probed at a cost of ``probe_seconds``.
    Returns [(step, time the probe started)] of the probes after the early steps."""
    schedule.start(steps, 1)
    probes = []
    for step in range(steps):
        if schedule.due(step):
            schedule.taken(step)
            if step > max(EARLY_STEPS):
                probes.append((step, clock.now))
            clock.now += probe_seconds
            schedule.cost(probe_seconds)
        clock.now += slow_seconds if step < slow_until else step_seconds
    return probes


def test_a_budget_built_up_while_the_train_step_compiled_is_spread_over_the_run():
    clock = Clock()
    schedule = AdaptiveSchedule(0.02, probes_per_epoch=100, clock=clock)
    # The first 40 steps take 1 s (the training step compiling), the other 960 a millisecond each.
    probes = _simulate(schedule, clock, steps=1000, step_seconds=0.001, probe_seconds=0.001,
                       slow_until=40, slow_seconds=0.025)
    gaps = [later - earlier for (_, earlier), (_, later) in zip(probes, probes[1:])]
    assert min(gaps) >= 0.001 / 0.02  # each probe is followed by its cost / budget of training
    assert probes[-1][0] >= 750  # the last quarter of the run is watched too
    assert len(probes) >= 10


def test_probing_stays_within_the_budget_of_the_elapsed_time():
    clock = Clock()
    schedule = AdaptiveSchedule(0.05, probes_per_epoch=1000, clock=clock)
    probes = _simulate(schedule, clock, steps=5000, step_seconds=0.002, probe_seconds=0.004)
    spent = (len(probes) + len(EARLY_STEPS)) * 0.004
    assert spent <= 0.05 * clock.now + 0.004
    assert len(probes) >= 0.8 * 0.05 * clock.now / 0.004  # and uses most of it


def test_the_early_steps_are_always_due():
    schedule = AdaptiveSchedule(0.02, clock=Clock())
    schedule.start(100, 1)
    for step in EARLY_STEPS:
        assert schedule.due(step)
