"""The repair loop: diagnose, plan candidates, judge them on a short horizon, train the best on.

Every run is ``check``'s own (the Monitor, the fixed probe schedule, the same seed), in a thread
of its own that pauses after the short horizon (``horizon`` epochs) until the loop tells it to
go on or to stop. So the original is judged at the horizon and only trained on when no
candidate beats it; a candidate that wins goes on from where it paused instead of training
again from scratch, and its full run is the run of the repaired workload. Candidates are
tried one at a time in the planner's order of likelihood; the first that clears the finding
and beats the reference at the horizon by more than the noise wins the round (the others are
not trained); in a later round, whose reference is an earlier round's winner, it clears what is
left and must not fall behind that winner by more than the noise. An output that does not fit
its loss is fixed even in a run that trained despite it: there the fix must not fall behind the
original by more than the noise, and a fix that fell behind at the horizon is tried once more on
full runs, since a new output or loss learns at another pace at first. A round's winner is
diagnosed at the end of its run; a new problem starts the next round (at most ``max_rounds``),
within the time budget.
"""

import json
import logging
import math
import threading
import time
from dataclasses import dataclass, field, replace

import keras

from kerasdoctor.checkup import run_check
from kerasdoctor.diagnose import blocking, diagnose
from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.repair.changes import apply, inner_layers
from kerasdoctor.repair.planners import (
    GRAPH_MODELS, READS_INNER_LAYERS, decline_reason, facts_from_log, plan, with_inner_layers,
)
from kerasdoctor.runlog import RunLog
from kerasdoctor.vocabulary import objective

logger = logging.getLogger(__name__)
DEFAULT_BUDGET = 3.0  # in full trainings of the original
MAX_ROUNDS = 3


def horizon_for(epochs):
    """The short horizon: a fifth of the epochs, at least one (the fault benchmark's median run
    shows its finding within the first epoch)."""
    return max(1, math.ceil(epochs / 5))


def run_length(original, changed, epochs, horizon):
    """(epochs, horizon) for a run of the workload ``changed`` made from ``original``, where the
    original runs ``epochs`` and is judged after ``horizon``. A FIT change of the epochs (a larger
    batch trained for more epochs) scales both by the same ratio, so that a candidate is judged
    after the same share of its own run as the run it is compared with."""
    before, after = original.fit.get("epochs"), changed.fit.get("epochs")
    if not before or not after or before == after:
        return epochs, horizon
    scaled = max(1, round(epochs * after / before))
    return scaled, min(scaled, max(1, round(horizon * after / before)))


def planning_facts(training, codes=()):
    """The planners' facts of a run, with the epochs of its workload's FIT rather than those it
    ran (``repair --epochs`` runs every training for other epochs): a FIT change of the epochs is
    written into the repaired workload, and ``run_length`` scales the epochs run by its ratio to
    FIT's. Where one of ``codes`` (the findings to plan for) has a planner that reads the layers
    inside nested models, and the model nests one, they are read from a build of the model."""
    facts = facts_from_log(training.snapshot())
    facts["epochs"] = training.workload.fit.get("epochs") or facts["epochs"]
    if (any(code in READS_INNER_LAYERS for code in codes)
            and any(layer.get("class_name") in GRAPH_MODELS for layer in facts["layers"])):
        # The layers inside a nested model, which the log does not describe, from a build of it.
        try:
            with_inner_layers(facts, inner_layers(training.workload.build_model()))
        except Exception as error:  # the user's build_model: the top level is still planned for
            logger.info("the layers inside the nested model(s) could not be read: %s", _describe(error))
    return facts


class _Gate(keras.callbacks.Callback):
    """Pauses training after ``at`` epochs until ``go_on`` or ``stop`` is called."""

    def __init__(self, at):
        super().__init__()
        self.at = at
        self.paused = threading.Event()
        self._decided = threading.Event()
        self._stop = False

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.at:
            self.paused.set()
            self._decided.wait()
            if self._stop:
                self.model.stop_training = True

    def decide(self, stop):
        self._stop = stop
        self._decided.set()


class Training:
    """One ``check`` run of a workload in its own thread, paused at the horizon."""

    def __init__(self, workload, *, epochs, horizon, seed, out):
        self.workload, self.epochs, self.seed, self.out = workload, epochs, seed, out
        self.horizon = horizon
        self.gate = _Gate(horizon)
        self.log = None
        self.result = None
        self.error = None
        self.started = None
        self.seconds = 0.0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        try:
            self.result = run_check(self.workload, epochs=self.epochs, seed=self.seed, out=self.out,
                                    callbacks=[self.gate], on_log=self._keep_log)
        except BaseException as error:  # reported by the loop, never raised in this thread
            self.error = error
        finally:
            self.gate.paused.set()

    def _keep_log(self, log):
        self.log = log

    def start(self):
        """Trains up to the horizon (or to the end, or to a failure) and returns."""
        self.started = time.perf_counter()
        self._thread.start()
        self.gate.paused.wait()
        self.seconds = time.perf_counter() - self.started

    def go_on(self):
        """Trains to the end and returns."""
        begun = time.perf_counter()
        self.gate.decide(stop=False)
        self._thread.join()
        self.seconds += time.perf_counter() - begun

    def stop(self):
        self.gate.decide(stop=True)
        self._thread.join()

    @property
    def finished(self):
        return not self._thread.is_alive()

    def snapshot(self):
        """The log as it stands (paused or ended), frozen."""
        if self.result is not None:
            return self.result.log
        return RunLog(records=list(self.log.records)) if self.log is not None else None


@dataclass
class Judged:
    """What a (partial) run shows: its blocking findings, its objective and the noise on it."""

    findings: list
    blocking: list
    metric: str
    direction: str
    value: float | None  # the best value of the objective over the epochs run
    noise: float
    epochs: int

    def better_than(self, other):
        """How much better than ``other``, in the objective's direction (None if unknown)."""
        if self.value is None:
            return None
        if other.value is None:  # the other run crashed or never ended an epoch
            return math.inf
        return (self.value - other.value) if self.direction == "max" else (other.value - self.value)


def _finite(values):
    return [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]


def judge(log, upto=None, metric=None):
    """Diagnoses ``log`` (its first ``upto`` epochs) and reads its objective."""
    if upto is not None:
        log = log.until(epoch=upto - 1)  # epochs are counted from 0 in the log
    findings = diagnose(log)
    epochs = log.epochs
    names = list(epochs[-1]["logs"]) if epochs else []
    name, direction = (metric or objective(names)) if names or metric else ("val_loss", "min")
    values = _finite(e["logs"].get(name) for e in epochs)
    best = (max(values) if direction == "max" else min(values)) if values else None
    return Judged(findings, blocking(findings), name, direction, best, _noise(log, name, values), len(epochs))


def settled_late(finding):
    """Whether a finding speaks of where a run ends up, which its first epochs cannot show: a loss
    that stopped improving over the last third of a horizon's few epochs has not stalled the run.
    (A layer narrower than the output is a bottleneck from the first epoch.)"""
    return finding.code == "UNDERFITTING" and not (finding.evidence or {}).get("bottleneck")


def before_the_end(judged):
    """``judged``, a run paused before its end, without the findings only its end can settle."""
    return replace(judged, blocking=[f for f in judged.blocking if not settled_late(f)])


def _noise(log, name, values):
    """Seed noise on the objective, from the run itself: the binomial standard error of an
    accuracy on the validation samples, and the epoch-to-epoch swing of its last values."""
    swings = [abs(b - a) for a, b in zip(values[-4:], values[-3:])]
    swing = (sorted(swings)[len(swings) // 2] / math.sqrt(2)) if swings else 0.0
    samples = (log.data("val") or {}).get("samples") or (log.data("val") or {}).get("sampled_rows")
    if values and samples and 0.0 <= values[-1] <= 1.0 and "acc" in name:
        p = values[-1]
        swing = max(swing, math.sqrt(max(p * (1 - p), 1.0 / samples) / samples))
    return swing


@dataclass
class Candidate:
    """One tried edit of the workload and what its short run showed."""

    round: int
    changes: tuple  # every change of this candidate, those kept from earlier rounds first
    added: tuple  # the changes this candidate tries
    verdict: str = "pending"
    metric: float | None = None
    epochs: int = 0
    seconds: float = 0.0
    findings: list = field(default_factory=list)
    note: str = ""
    run_dir: str | None = None

    def to_dict(self):
        return {"round": self.round, "changes": [c.to_dict() for c in self.added],
                "described": [c.describe() for c in self.added], "verdict": self.verdict,
                "metric": self.metric, "epochs": self.epochs, "seconds": round(self.seconds, 3),
                "findings": self.findings, "note": self.note, "run_dir": self.run_dir}


class Budget:
    """Wall time allowed, in seconds, counted from the start of the repair."""

    def __init__(self, *, multiple=None, minutes=None):
        if multiple is not None and (not math.isfinite(multiple) or multiple <= 0):
            raise KerasDoctorError(f"--budget must be a positive multiple of one training. Received: budget={multiple}")
        if minutes is not None and (not math.isfinite(minutes) or minutes <= 0):
            raise KerasDoctorError(f"--minutes must be positive. Received: minutes={minutes}")
        self.multiple = DEFAULT_BUDGET if multiple is None and minutes is None else multiple
        self.minutes = minutes
        self.started = time.perf_counter()
        self.full = None  # seconds of one full training, once the original's first epochs tell it

    def set_epoch_seconds(self, seconds_per_epoch, epochs):
        self.full = seconds_per_epoch * epochs

    @property
    def limit(self):
        limits = []
        if self.minutes is not None:
            limits.append(60.0 * self.minutes)
        if self.multiple is not None and self.full is not None:
            limits.append(self.multiple * self.full)
        return min(limits) if limits else float("inf")

    @property
    def elapsed(self):
        return time.perf_counter() - self.started

    def allows(self, seconds):
        return self.elapsed + seconds <= self.limit


# Static findings fixed even in a run that trained despite them: an output that does not fit the
# loss (sigmoid units under a softmax cross-entropy, whose outputs do not sum to one; a softmax
# under a binary loss) makes what the model predicts wrong, whatever its accuracy. A change that
# clears one keeps the objective within the noise rather than beating it.
FIXED_DESPITE = ("OUTPUT_LOSS_MISMATCH",)
# Findings whose fixes learn at another pace at first: an output that fits its loss, and a lower
# learning rate for a loss that oscillates (slower in the first epochs by design). One that fell
# behind the reference at the horizon is tried again on full runs once the reference has run to
# its end, and when the reference has, they are judged on full runs at once.
PAYS_LATE = FIXED_DESPITE + ("LOSS_OSCILLATING",)


def to_fix(judged):
    """What a run leaves to repair: its blocking findings, then those of ``FIXED_DESPITE`` that
    it trained despite."""
    return judged.blocking + [f for f in judged.findings if f.code in FIXED_DESPITE
                              and f.severity != "info" and (f.evidence or {}).get("trained_despite")]


def _tried_as(finding, reference):
    """What a round marks as tried: the finding's code; for one of ``PAYS_LATE``, also whether
    it is judged on full runs, so that a fix that fell behind at the horizon is tried once more
    on full runs when the reference has trained to its end."""
    if finding.code not in PAYS_LATE:
        return finding.code
    return finding.code, reference.finished


def same_settings(changes, reference):
    """Whether ``changes`` set nothing that ``reference`` does not already set to the same value
    (a measured learning rate that came out as the reference's own, above all)."""
    def settings(sequence):
        net, rate = {}, (None, 1.0)  # the learning rate: the last one set, times the scales after it
        for change in sequence:
            for name, value in change.params.items():
                if change.kind == "compile" and name == "learning_rate":
                    rate = (value, 1.0)
                elif change.kind == "compile" and name == "learning_rate_scale":
                    rate = (rate[0], rate[1] * float(value))
                else:
                    net[(change.kind, tuple(change.target), name)] = value
        return net, rate

    return settings(changes) == settings(reference)


def fixes_only_despite(changes):
    """Whether every change answers a finding of ``FIXED_DESPITE`` (then the objective need only hold)."""
    return bool(changes) and all(c.why in FIXED_DESPITE for c in changes)


MAX_CANDIDATES = 4  # a round tries at most this many of its planner's candidates
OVER_BUDGET = "over the time budget"  # the note of a candidate the budget left no room for
FALL = 0.95  # a range test whose smoothed loss never falls below this share of its start found no rate


@dataclass
class RepairResult:
    """What ``repair`` did: the verdict, the accepted changes, before and after, every candidate."""

    workload: str
    run_dir: object
    status: str  # "repaired", "healthy", "declined" or "not_repaired"
    message: str
    changes: list
    before: dict
    after: dict | None
    candidates: list
    manual_fix: str | None = None
    seconds: float = 0.0
    horizon: int = 0
    model: object = field(default=None, repr=False)

    @property
    def repaired(self):
        return self.status == "repaired"

    def to_dict(self):
        from kerasdoctor.runlog import to_jsonable

        return to_jsonable({
            "workload": self.workload, "repaired": self.repaired, "status": self.status, "message": self.message,
            "changes": [c.to_dict() for c in self.changes], "described": [c.describe() for c in self.changes],
            "before": self.before, "after": self.after, "candidates": [c.to_dict() for c in self.candidates],
            "manual_fix": self.manual_fix, "seconds": round(self.seconds, 3), "horizon_epochs": self.horizon,
            "run_dir": str(self.run_dir),
        })


def _summary(judged, training, findings=None):
    findings = judged.blocking if findings is None else findings
    return {"metric": judged.metric, "value": judged.value, "noise": judged.noise, "epochs": judged.epochs,
            "findings": [{"code": f.code, "severity": f.severity, "message": f.message} for f in findings],
            "seconds": round(training.seconds, 3) if training is not None else None,
            "run_dir": str(training.out) if training is not None else None}


def _codes(findings):
    return sorted({f.code for f in findings})


def _rate_only(change):
    return change.kind == "compile" and set(change.params) <= {"learning_rate", "learning_rate_scale"}


def resolve(changes, workload, seed=0, measured=None):
    """``changes`` with every setting left to measurement measured: the learning rate from
    ``lr_find`` on the candidate model (its other changes applied). ``measured``, a dict, keeps
    each rate by the changes it was measured with, so that a later round on the same model (its
    learning rate aside, which the sweep sets itself) reads it instead of sweeping again."""
    if not any(c.measured for c in changes):
        return tuple(changes)
    from kerasdoctor.tune.lr_find import lr_find

    fixed = [c for c in changes if not c.measured]
    key = json.dumps([c.to_dict() for c in fixed if not _rate_only(c)], sort_keys=True, default=str)
    if measured is not None and key in measured:
        rate = measured[key]
        return tuple(c.with_settings(learning_rate=rate) if c.measured else c for c in changes)
    probe = apply(fixed, workload)
    keras.utils.set_random_seed(seed)
    data = probe.load_data(seed)
    model = probe.build_model()
    x, y = data.training_inputs
    found = lr_find(model, x, y, batch_size=probe.fit.get("batch_size", 32), seed=seed)
    rate = found.suggestion
    losses = [v for v in found.losses if math.isfinite(v)]
    if rate is None or not math.isfinite(rate) or not losses or min(losses) > FALL * losses[0]:
        raise KerasDoctorError("the learning-rate range test found no rate at which the loss falls")
    rate = float(f"{rate:.3g}")
    if measured is not None:
        measured[key] = rate
    return tuple(c.with_settings(learning_rate=rate) if c.measured else c for c in changes)


class _Loop:
    def __init__(self, workload, *, epochs, seed, run_dir, budget, progress, max_rounds):
        self.workload, self.epochs, self.seed, self.run_dir = workload, epochs, seed, run_dir
        self.horizon = min(horizon_for(epochs), epochs)
        self.budget, self.progress, self.max_rounds = budget, progress or (lambda *a: None), max_rounds
        self.candidates = []
        self.measured = {}  # learning rates measured by lr_find, by the changes of the model swept

    def _train(self, workload, folder, horizon=None):
        epochs, horizon = run_length(self.workload, workload, self.epochs, horizon or self.horizon)
        training = Training(workload, epochs=epochs, horizon=horizon, seed=self.seed, out=self.run_dir / folder)
        training.start()
        return training

    def _estimate(self, training):
        ran = len((training.snapshot() or RunLog()).epochs)
        if ran:
            self.budget.set_epoch_seconds(training.seconds / ran, self.epochs)

    def run(self):
        original = self._train(self.workload, "original")
        if original.error is not None:
            raise original.error
        self._estimate(original)
        at_horizon = judge(original.snapshot(), upto=self.horizon)
        if self.horizon < self.epochs:  # such a finding is judged on the full run (a round then plans for it)
            at_horizon = before_the_end(at_horizon)
        # Every run is judged on the original's objective (one that crashed: the first candidate's).
        self.objective = (at_horizon.metric, at_horizon.direction) if at_horizon.value is not None else None
        # Nothing to fix at the horizon: the full run decides. A static finding to fix even in a
        # run that trains despite it (``FIXED_DESPITE``) is planned for at the horizon, like any
        # other; a fix that falls behind there is tried again on full runs (``PAYS_LATE``).
        if not to_fix(at_horizon) and not original.finished:
            original.go_on()
        if original.error is not None:
            raise original.error
        reference, reference_at_horizon = original, at_horizon
        self.original_at_horizon = self.final_at_horizon = at_horizon
        reference_judged = judge(original.snapshot(), metric=self.objective)
        changes, winner_found, tried = (), False, set()
        decline = _declined(reference_judged)
        if decline is not None:
            if not original.finished:
                original.stop()
            return original, reference, reference_judged, changes, winner_found, decline
        for round_number in range(1, self.max_rounds + 1):
            problems = to_fix(reference_judged)
            if not problems:
                break
            roots = [f for f in problems if f.caused_by is None] or problems
            facts = planning_facts(reference, [f.code for f in roots])
            target, planned = None, []
            for finding in roots:
                planned = [] if _tried_as(finding, reference) in tried else plan(finding, facts)
                if planned:
                    target = finding
                    break
            winner = None
            if planned:
                tried.add(_tried_as(target, reference))
                # A problem that shows only late in a run (overfitting, above all) is judged on full
                # runs: at the horizon a regularized candidate only looks slower. So are those of
                # ``PAYS_LATE`` once the reference has run to its end (``_tried_as``).
                late = reference.finished and (target.code not in _codes(reference_at_horizon.blocking)
                                                or target.code in PAYS_LATE)
                winner = self._round(round_number, target, planned[:MAX_CANDIDATES], changes,
                                     reference_judged if late else reference_at_horizon,
                                     self.epochs if late else self.horizon)
            if winner is None:
                if reference.finished:
                    break
                # The original, paused at the horizon, beat every candidate: its full run may show
                # the problem that the first epochs only hinted at (a frozen backbone shows as a
                # loss that will not fall before the rule for frozen layers can tell).
                reference.go_on()
                if reference.error is not None:
                    raise reference.error
                reference_judged = judge(reference.snapshot(), metric=self.objective)
                decline = _declined(reference_judged)
                if decline is not None:
                    break
                continue
            training, candidate, judged_at_horizon = winner
            if not reference.finished:
                reference.stop()
            training.go_on()
            candidate.seconds = training.seconds
            candidate.epochs = len(training.snapshot().epochs)
            if training.error is not None:
                candidate.verdict, candidate.note = "failed", _describe(training.error)
                break
            winner_found, tried = True, set()
            reference, reference_at_horizon, changes = training, judged_at_horizon, candidate.changes
            self.final_at_horizon = judged_at_horizon
            reference_judged = judge(training.snapshot(), metric=self.objective)
            # The winner's row tells its whole run: metric, epochs and what it still shows.
            candidate.metric, candidate.findings = reference_judged.value, _codes(to_fix(reference_judged))
        return original, reference, reference_judged, changes, winner_found, decline

    def _round(self, round_number, target, planned, changes, reference, horizon):
        """Tries ``planned`` in order, each judged after ``horizon`` epochs against ``reference``
        (judged after as many); returns (training, candidate, judged) of the winner or None."""
        fallback = None
        self.progress(round_number, 0, len(planned), f"round {round_number}: {target.code}")
        remaining = self.budget.full * (1 - horizon / self.epochs) if self.budget.full else 0.0
        for index, added in enumerate(planned):
            candidate = Candidate(round_number, tuple(changes) + tuple(added), tuple(added))
            self.candidates.append(candidate)
            horizon_cost = self.budget.full * horizon / self.epochs if self.budget.full else 0.0
            if not self.budget.allows(horizon_cost + remaining):
                candidate.verdict, candidate.note = "skipped", OVER_BUDGET
                continue
            try:
                resolved = resolve(candidate.changes, self.workload, self.seed, self.measured)
                candidate.changes = resolved
                candidate.added = resolved[len(changes):]
                if changes and same_settings(resolved, changes):
                    candidate.verdict, candidate.note = "skipped", "the same settings as the reference"
                    continue
                training = self._train(apply(resolved, self.workload), f"candidates/{len(self.candidates):02d}", horizon)
            except Exception as error:  # lr_find, or the user's build_model, on a changed model
                candidate.verdict, candidate.note = "failed", _describe(error)
                continue
            candidate.run_dir = str(training.out)
            candidate.seconds = training.seconds
            if training.error is not None or (training.result is not None and training.result.error):
                candidate.verdict = "failed"
                candidate.note = _describe(training.error) if training.error else training.result.error
                continue
            judged = judge(training.snapshot(), upto=training.horizon, metric=self.objective)
            if self.objective is None and judged.value is not None:
                self.objective = (judged.metric, judged.direction)
            candidate.metric, candidate.epochs = judged.value, judged.epochs
            candidate.findings = _codes(to_fix(judged))  # an output mismatch it trained despite stays
            gain = judged.better_than(reference)
            if gain is not None and _loss_changed(candidate.added, judged.metric):
                # Judged by its own loss, a run with another loss cannot be compared: the findings decide.
                gain, candidate.note = math.inf, "the loss changed: judged on the findings"
            noise = max(judged.noise, reference.noise)
            cleared = target.code not in candidate.findings
            errors = [f for f in judged.blocking if f.severity == "error"]
            # Against the original, a fix must gain more than the noise. Against an earlier round's
            # winner, which already did, it clears what is left and must not lose more than it; so
            # does the fix of an output that does not fit its loss.
            keep_up = bool(changes) or target.code in FIXED_DESPITE
            needed = -noise if keep_up else noise
            self.progress(round_number, index + 1, len(planned), f"round {round_number}: {target.code}")
            # A run may end before its pause without an error: a callback of its FIT stopped it
            # (EarlyStopping), and it is whole.
            if gain is not None and gain > needed and cleared and not errors:
                candidate.verdict = "won"
                if fallback is not None:
                    fallback[0].stop()
                return training, candidate, judged
            if gain is not None and gain > noise and (
                    fallback is None or gain > fallback[2].better_than(reference)):
                if fallback is not None:
                    fallback[0].stop()
                    fallback[1].verdict = "pruned"
                left = target.code if not cleared else ", ".join(_codes(errors))
                candidate.verdict, candidate.note = "kept", f"better, but {left} remains"
                fallback = (training, candidate, judged)
                continue
            candidate.verdict = "pruned"
            if not cleared:
                why = f"{target.code} remains"
            elif gain is None or gain <= needed:
                why = (f"behind the reference by more than the noise after {training.horizon} epoch(s)" if keep_up
                       else f"not better than the reference after {training.horizon} epoch(s)")
            else:
                why = f"{', '.join(_codes(errors))} remains"
            candidate.note = candidate.note or why
            if not training.finished:
                training.stop()
        if fallback is not None:
            fallback[1].verdict = "won"
        return fallback


def _loss_changed(changes, metric):
    """Whether ``changes`` change the loss and the objective is a loss (a regression without metrics)."""
    return metric.endswith("loss") and any(c.kind == "compile" and "loss" in c.params for c in changes)


def _declined(judged):
    """The manual fix of a problem in the data itself, if the run shows one: even in a run that
    trained well despite it (a validation set that copies the training set makes every validation
    figure untrustworthy)."""
    return next((decline_reason(f) for f in judged.findings if f.severity != "info" and decline_reason(f)), None)


def _describe(error):
    from kerasdoctor.workload.source import describe_error

    return str(error) if isinstance(error, KerasDoctorError) else describe_error(error)
