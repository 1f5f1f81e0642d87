"""``autolog``: keras-doctor on every ``keras.Model.fit`` of the process, with no change to the script.

(The package is not named ``autolog``: a submodule of that name would shadow the function
``kerasdoctor.autolog`` once imported.)

Each ``fit`` gets a Monitor with a probe batch taken from its own data, and at its end the findings
on stderr and a run folder. Training is never changed (the Monitor only watches), and keras-doctor
never raises inside the user's ``fit``: a failure of its own is one note, and the fit goes on.
"""

import functools
import inspect
import threading
from dataclasses import dataclass, field

import keras

from kerasdoctor.autologging.inputs import describe_kind, read_fit_data
from kerasdoctor.autologging.watch import Watch, say, summary_lines
from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.monitor import Monitor

_MISSING = object()


@dataclass
class Autolog:
    """What ``autolog`` watches with, and the CheckResult of every watched ``fit`` so far."""

    schedule: str = "fixed"
    out: object = None
    fail_on: str | None = None
    probe_rows: int = 128
    seed: int = 0
    results: list = field(default_factory=list)

    @property
    def failed(self):
        """True when a fit has a finding at or above ``fail_on``."""
        if self.fail_on is None:
            return False
        from kerasdoctor.diagnose import severity_rank

        threshold = severity_rank(self.fail_on)
        return any(severity_rank(f.severity) >= threshold for r in self.results for f in r.findings)


_state = {"session": None, "original": _MISSING, "fits": 0}
_inside = threading.local()  # a fit called from inside a watched fit is not watched again


def _note(message):
    say(f"note: {message}")


def _error_line(error):
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[-1] if lines else ''}"


def _start(session, model, arguments, replace):
    """A Watch for this fit, or None (with one note) when it runs unwatched.

    ``replace`` gets the fit arguments to pass instead of the user's (a generator's replay),
    even when watching fails after reading began.
    """
    callbacks = arguments.get("callbacks")
    if callbacks is not None and not isinstance(callbacks, (list, tuple)):
        _note("this fit runs unwatched: its callbacks are not a list. Received: "
              f"callbacks of type {type(callbacks).__name__}")
        return None
    if any(isinstance(c, Monitor) for c in callbacks or ()):
        _note("this fit carries its own keras-doctor Monitor, so it is left to that one (no run folder "
              "here; the Monitor's log holds what it saw)")
        return None
    try:
        data = read_fit_data(arguments, probe_rows=session.probe_rows, seed=session.seed, replace=replace)
    except KerasDoctorError as error:
        _note(f"this fit runs unwatched: {error}")
        return None
    if data is None:
        _note("this fit runs unwatched: keras-doctor reads arrays with labels, tf.data.Dataset, "
              f"keras.utils.PyDataset, torch DataLoader and generators. Received: x={describe_kind(arguments.get('x'))}")
        return None
    _state["fits"] += 1
    return Watch(model, arguments, data, index=_state["fits"], schedule=session.schedule,
                 out=session.out, seed=session.seed)


def _finish(session, watch, model):
    result = watch.finish()
    session.results.append(result)
    say("\n".join(summary_lines(result, model.name)))


def _guarded(step, *args):
    """Runs a keras-doctor step; a failure of ours is one note and None, never the user's problem."""
    try:
        return step(*args)
    except Exception as error:  # noqa: BLE001 - the user's fit must go on
        _note(f"keras-doctor stopped watching this fit after an internal error: {_error_line(error)}")
        return None


def _watched(original):
    signature = inspect.signature(original)

    @functools.wraps(original)
    def fit(self, *args, **kwargs):
        session = _state["session"]
        if session is None or getattr(_inside, "active", False):
            return original(self, *args, **kwargs)
        bound = _guarded(lambda: signature.bind(self, *args, **kwargs))
        arguments = {} if bound is None else {**_defaults(signature), **bound.arguments}
        replace = {}
        watch = _guarded(_start, session, self, arguments, replace) if bound is not None else None
        if bound is None:
            return original(self, *args, **kwargs)
        bound.arguments.update(replace)
        if watch is None:
            return original(*bound.args, **bound.kwargs)
        # The Monitor last: it sees the weights the user's callbacks leave at the end of training
        # (EarlyStopping restores its best epoch's in on_train_end).
        bound.arguments["callbacks"] = [*(arguments.get("callbacks") or ()), watch.monitor]
        _inside.active = True
        try:
            history = original(*bound.args, **bound.kwargs)
        except BaseException as error:
            _guarded(watch.failed, error)
            raise
        finally:
            _inside.active = False
        _guarded(_finish, session, watch, self)
        return history

    fit.__kerasdoctor_original__ = original
    return fit


def _defaults(signature):
    return {name: p.default for name, p in signature.parameters.items() if p.default is not inspect.Parameter.empty}


def _check_arguments(schedule, fail_on, probe_rows):
    if schedule not in ("fixed", "adaptive"):
        raise ValueError(f"Argument `schedule` must be 'fixed' or 'adaptive'. Received: schedule={schedule!r}")
    if fail_on not in (None, "info", "warning", "error"):
        raise ValueError("Argument `fail_on` must be None, 'info', 'warning' or 'error'. "
                         f"Received: fail_on={fail_on!r}")
    if not isinstance(probe_rows, int) or probe_rows < 1:
        raise ValueError(f"Argument `probe_rows` must be a positive integer. Received: probe_rows={probe_rows!r}")


def autolog(*, disable=False, schedule="fixed", out=None, fail_on=None, probe_rows=128, seed=0):
    """Watches every ``keras.Model.fit`` of the process with keras-doctor.

    Each fit gets a ``kerasdoctor.Monitor`` whose probe batch is a seeded slice of the fit's own
    data (copied: arrays; the first batches of a ``tf.data.Dataset``, a torch ``DataLoader`` or
    a generator, or a few batches of a ``PyDataset``; see ``kerasdoctor.workload.pipelines``
    for how each is read without changing what training sees), and at its end the findings are
    printed on stderr and a run folder is written (``runlog.jsonl``, ``findings.json``,
    ``summary.json`` as ``check`` writes them, and ``report.html``). A fit whose input
    keras-doctor cannot read runs unwatched, with one note.

    Args:
        disable: restore ``keras.Model.fit`` and stop watching.
        schedule: the Monitor's probe schedule: ``"fixed"`` (a function of the step count, the
            same findings for the same seed) or ``"adaptive"``.
        out: the folder under which each fit's run folder is made (``NN-<name>``); defaults to a
            fresh ``.keras-doctor/runs/<time>-<name>`` per fit.
        fail_on: ``"info"``, ``"warning"`` or ``"error"``: the returned object's ``failed`` is
            True once a fit has a finding at least this severe (``keras-doctor run`` exits 3).
        probe_rows: the size of the probe batch.
        seed: seeds the choice of probe rows and of the rows data statistics are computed on.

    Returns:
        An ``Autolog`` whose ``results`` lists the CheckResult of every watched fit (None with
        ``disable=True``).
    """
    if disable:
        original, _state["original"], _state["session"] = _state["original"], _MISSING, None
        if original is None:
            del keras.Model.fit  # it was inherited from the backend's trainer
        elif original is not _MISSING:
            keras.Model.fit = original
        return None
    _check_arguments(schedule, fail_on, probe_rows)
    session = Autolog(schedule=schedule, out=out, fail_on=fail_on, probe_rows=probe_rows, seed=seed)
    if _state["original"] is _MISSING:
        _state["original"] = keras.Model.__dict__.get("fit")
        keras.Model.fit = _watched(keras.Model.fit)
    _state["session"] = session
    return session


__all__ = ["Autolog", "autolog"]
