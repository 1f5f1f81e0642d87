"""The adaptive schedule, on a clock the test moves: probes spread over the run, within budget."""

from kerasdoctor.monitor.schedule import EARLY_STEPS, AdaptiveSchedule, FixedSchedule


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def _simulate(schedule, clock, *, steps, step_seconds, probe_seconds, slow_until=0, slow_seconds=0.0,
              announced=True):
    """Run ``steps`` training steps (announced to the schedule, or not); each due step is probed
    at a cost of ``probe_seconds``. Returns [(step, time the probe started)] of the steady probes
    (not step 0, not the early steps)."""
    schedule.start(steps if announced else None, 1)
    probes = []
    for step in range(steps):
        if schedule.due(step):
            schedule.taken(step)
            if step and step not in EARLY_STEPS:
                probes.append((step, clock.now))
            clock.now += probe_seconds
            schedule.cost(probe_seconds)
        clock.now += slow_seconds if step < slow_until else step_seconds
    return probes


def test_a_budget_built_up_while_the_train_step_compiled_is_spread_over_the_run():
    clock = Clock()
    schedule = AdaptiveSchedule(0.02, probes_per_epoch=1000, clock=clock)
    # The first step takes 1 s (the training step compiling), the other 232 a millisecond each:
    # 2% of the compilation would pay for 20 probes in a row.
    probes = _simulate(schedule, clock, steps=233, step_seconds=0.001, probe_seconds=0.001,
                       slow_until=1, slow_seconds=1.0)
    steps = [step for step, _ in probes]
    assert len(steps) >= 6
    assert sum(step < 233 / 4 for step in steps) <= len(steps) / 2  # not spent in one burst at the start
    assert max(later - earlier for earlier, later in zip(steps, steps[1:] + [233])) <= 233 / 4


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


def test_no_step_before_earliest_due_is_due_on_either_schedule():
    # The Monitor skips the schedule's look on the steps before earliest_due: it must be exact.
    clock = Clock()
    for schedule in (AdaptiveSchedule(0.02, probes_per_epoch=10, clock=clock), FixedSchedule(),
                     FixedSchedule(every_n_steps=7)):
        schedule.start(300, 3)
        taken = []
        for step in range(900):
            clock.now += 0.01
            if schedule.due(step):
                schedule.taken(step)
                schedule.cost(0.0002)
                taken.append(step)
                quiet_until = schedule.earliest_due(step + 1)
                assert quiet_until > step
                assert not any(schedule.due(later) for later in range(step + 1, min(quiet_until, 900)))
        assert len(taken) > 20


def test_one_slow_probe_does_not_stop_probing():
    # A probe slowed 30-fold (the machine busy for a moment) counts at the probes' median cost.
    clock, steady = Clock(), []
    for slow_probe in (False, True):
        schedule = AdaptiveSchedule(0.02, probes_per_epoch=1000, clock=clock)
        schedule.start(2000, 1)
        probes = 0
        for step in range(2000):
            if schedule.due(step):
                schedule.taken(step)
                probes += 1
                cost = 0.03 if slow_probe and probes == 3 else 0.001
                clock.now += cost
                schedule.cost(cost)
            clock.now += 0.001
        steady.append(probes)
    assert steady[1] >= steady[0] - 1


def _short_run(announced):
    """A short run: the first step takes 1 s (compiling), the other 399 0.5 ms, a probe 1.5 ms.
    Returns (the share of the elapsed time's budget spent, the steady probes' steps)."""
    clock = Clock()
    schedule = AdaptiveSchedule(0.02, probes_per_epoch=1000, clock=clock)
    probes = _simulate(schedule, clock, steps=400, step_seconds=0.0005, probe_seconds=0.0015, slow_until=1,
                       slow_seconds=1.0, announced=announced)
    # Step 0's probe pays for warm-up and is not counted; the early steps are.
    return (len(probes) + len(EARLY_STEPS)) * 0.0015 / (0.02 * clock.now), [step for step, _ in probes]


def test_a_short_run_of_known_length_spends_its_budget_over_its_steps():
    # The budget built up while compiling, and what the remaining steps earn, spread over them:
    # nearly all of it is spent, and the second half is watched (the pacing by the share spent
    # so far left 38% unspent here and probed the second half twice).
    share, probed = _short_run(announced=True)
    assert 0.9 <= share <= 1.0
    assert sum(step >= 200 for step in probed) >= 5


def test_a_run_of_unknown_length_keeps_within_its_budget():
    share, probed = _short_run(announced=False)
    assert 0.3 <= share <= 1.0 and probed[-1] > 200
