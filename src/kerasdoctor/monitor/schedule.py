"""When the Monitor probes.

Two schedules:

- ``FixedSchedule``: step 0, the early steps, then evenly spaced steps. It is a
  function of the step count and the run's size only, so a run is probed at the
  same steps however busy the machine is, and the same seed gives the same
  findings. `check` and every verb built on it use it.
- ``AdaptiveSchedule``: the early steps, then as often as a share of the
  training time allows. The default for the Monitor in a user's own ``fit``,
  where the cost of watching matters more than a repeatable record.
"""

import math
import statistics
import time

PROBES_PER_EPOCH = 10
MAX_PROBES = 200
# A learning rate that is far off shows in the first steps: a few cheap probes there.
EARLY_STEPS = frozenset((1, 2, 4, 8, 16, 32))


def _next_early(step):
    return min((early for early in EARLY_STEPS if early >= step), default=math.inf)


class FixedSchedule:
    """Probes step 0, the early steps and then every ``interval`` steps.

    The interval is ``every_n_steps`` when given; otherwise it keeps at most
    ``probes_per_epoch`` probes in an epoch and about ``max_probes`` in the
    whole run (epochs x steps per epoch, as ``fit`` announces them). When
    ``fit`` does not know the steps per epoch (a generator without a length),
    the first epoch's step count sets the interval from the second epoch on.

    Args:
        every_n_steps: a fixed interval; the early steps are then not added.
        probes_per_epoch: the most probes in one epoch.
        max_probes: about how many probes a whole run gets.
    """

    def __init__(self, every_n_steps=None, *, probes_per_epoch=PROBES_PER_EPOCH, max_probes=MAX_PROBES):
        self.every_n_steps = every_n_steps
        self.probes_per_epoch, self.max_probes = probes_per_epoch, max_probes
        self.interval, self.next_step, self._epochs = 1, 0, 1

    def start(self, steps_per_epoch, epochs):
        self.next_step, self._epochs = 0, max(int(epochs or 1), 1)
        self.interval = self.every_n_steps or self._interval(steps_per_epoch)

    def _interval(self, steps_per_epoch):
        if not steps_per_epoch:
            return PROBES_PER_EPOCH  # until the first epoch says how long an epoch is
        total = steps_per_epoch * self._epochs
        return max(1, steps_per_epoch // self.probes_per_epoch, math.ceil(total / self.max_probes))

    def epoch_ended(self, steps_so_far, epochs_done):
        if self.every_n_steps is None and epochs_done == 1 and steps_so_far:
            self.interval = self._interval(steps_so_far)

    def due(self, step):
        if self.every_n_steps is None and step in EARLY_STEPS:
            return True
        return step >= self.next_step

    def taken(self, step):
        if step >= self.next_step:
            self.next_step = step + self.interval

    def earliest_due(self, step):
        """The first step from ``step`` on that can be due (the steps before it need no look)."""
        early = math.inf if self.every_n_steps is not None else _next_early(step)
        return min(max(step, self.next_step), early)

    def keeps(self, step):
        """Every due step is kept while the probe step compiles (an exact schedule)."""
        return True

    def cost(self, seconds):
        """A fixed schedule does not look at the clock."""


class AdaptiveSchedule:
    """Probes the early steps, then as often as ``overhead_budget`` of the training time
    allows, spread over the run, at most ``probes_per_epoch`` probes an epoch. The steps
    probed depend on the machine's speed and load.

    A probe's cost ``c`` is taken as the median cost of the probes so far, so that one probe
    slowed by the machine (a busy neighbour, a garbage collection) neither spends the budget
    nor stretches the gap after it. Probing so far, at that cost each, never exceeds the
    budget of the elapsed time. When the run's length is known (``fit`` announces its steps
    and epochs, or the first epoch counts them), the budget not yet spent plus the budget of
    the time the remaining steps will take (at the pace of the steps since the last probe) is
    spread evenly over those steps: a budget built up while the first epoch compiled is spent
    over the whole run, neither in a burst of consecutive probes at its start nor kept unspent
    at its end. Otherwise a probe is followed by ``c / overhead_budget`` seconds of training
    (the steady rate) times the share of the budget spent so far.

    Args:
        overhead_budget: the share of training time probing may take.
        probes_per_epoch: the most probes in one epoch.
        clock: the time source, in seconds (``time.perf_counter``).
    """

    def __init__(self, overhead_budget, *, probes_per_epoch=PROBES_PER_EPOCH, clock=time.perf_counter):
        self.overhead_budget, self.probes_per_epoch = overhead_budget, probes_per_epoch
        self._clock = clock
        self.start(None, None)

    def start(self, steps_per_epoch, epochs):
        self.min_gap = max(1, int(steps_per_epoch or 0) // self.probes_per_epoch)
        self._epochs = int(epochs or 0)
        self._total_steps = int(steps_per_epoch or 0) * self._epochs or None
        self.next_step, self._started = 0, self._clock()
        self._probes, self._steady_seconds, self._last_cost, self._costs = 0, 0.0, 0.0, []
        self._last_ended, self._taken_at = self._started, (0, self._started)

    def epoch_ended(self, steps_so_far, epochs_done):
        if epochs_done == 1 and self.min_gap == 1 and steps_so_far:
            self.min_gap = max(1, steps_so_far // self.probes_per_epoch)
        if epochs_done == 1 and self._total_steps is None and steps_so_far and self._epochs:
            self._total_steps = steps_so_far * self._epochs

    def due(self, step):
        if step in EARLY_STEPS:
            return True
        if step < self.next_step:
            return False
        now = self._clock()
        allowed = self.overhead_budget * (now - self._started)
        if self._steady_seconds + self._last_cost > allowed:
            return False
        return now - self._last_ended >= self._gap(step, now, allowed)

    def _gap(self, step, now, allowed):
        """The seconds of training to leave after the last probe before the next one."""
        cost, remaining = self._last_cost, (self._total_steps or 0) - step
        taken_step, taken_time = self._taken_at
        if remaining > 0 and step > taken_step:
            # Spread what the rest of the run can afford evenly over its remaining steps, at the
            # pace of the steps since the last one taken.
            remaining_seconds = remaining * (now - taken_time) / (step - taken_step)
            affordable = allowed - self._steady_seconds + self.overhead_budget * remaining_seconds
            return cost * remaining_seconds / affordable if affordable > 0 else math.inf
        # The steady gap (cost / budget), shortened while the budget is underspent.
        spent = self._steady_seconds / allowed if allowed > 0 else 1.0
        return cost / self.overhead_budget * spent

    def taken(self, step):
        self._taken_at = (step, self._clock())
        if step >= self.next_step:
            self.next_step = step + self.min_gap

    def earliest_due(self, step):
        """The first step from ``step`` on that can be due (the steps before it need no look)."""
        return min(max(step, self.next_step), _next_early(step))

    def keeps(self, step):
        """While the probe step compiles, only step 0 and the early steps are kept."""
        return step == 0 or step in EARLY_STEPS

    def cost(self, seconds):
        self._probes += 1
        self._last_ended = self._clock()
        if self._probes > 1:  # the first probe also pays for warm-up
            self._costs.append(seconds)
            self._last_cost = statistics.median(self._costs)
            self._steady_seconds = self._last_cost * len(self._costs)
