"""The Monitor: a Keras callback that only watches, and records into a RunLog."""

import functools
import logging
import threading
import time

import keras
import numpy as np

from kerasdoctor import _backends
from kerasdoctor.monitor.datastats import (
    bounded_summary, estimated_overlap, is_arrays, summarize, summarize_labels,
)
from kerasdoctor.monitor.describe import describe_model, variable_names
from kerasdoctor.monitor.probe import ProbeProgram
from kerasdoctor.monitor.schedule import AdaptiveSchedule, FixedSchedule
from kerasdoctor.runlog import RunLog

logger = logging.getLogger(__name__)
# While the probe step compiles, due steps are kept as copies of the weights and probed
# once it is ready: at most this many, and at most this many bytes in all.
MAX_PENDING = 8
MAX_PENDING_BYTES = 256 * 2**20
# Where the backend dispatches asynchronously (JAX), a probe of the current weights is started at
# its step and read back at a later hook, once it has run, so that training is not held up while
# the steps it has queued catch up, and the probe's host work fills time the training thread
# would spend waiting anyway. At most this many are in flight, and their copies of the weights
# take at most MAX_PENDING_BYTES (a larger model is probed at once, without a copy).
MAX_IN_FLIGHT = 4


def _length(x):
    if isinstance(x, dict):
        return len(next(iter(x.values())))
    if isinstance(x, (list, tuple)) and x and all(hasattr(a, "shape") for a in x):
        return len(x[0])  # a list of inputs, one array each
    return len(x)


def _head(x, count):
    return keras.tree.map_structure(lambda a: np.asarray(a)[:count], x)


def _error_line(error):
    # Traced errors (tf.function, jit) span many lines; the cause is the last one.
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[-1] if lines else ''}"


def _learning_rate(optimizer):
    if optimizer is None:
        return None
    try:
        return float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    except (TypeError, ValueError, AttributeError):
        return None


def _bytes(variables):
    return sum(int(np.prod(v.shape)) * np.dtype(v.dtype).itemsize for v in variables)


# Up to this many elements a variable is summed on the host: its transfer costs less than the
# compilation of a sum on the device, which JAX pays for each new shape on the training thread
# (about 20 ms each, at the end of a user's first epoch).
HOST_SUM_ELEMENTS = 1 << 20


def _sum(variable):
    if int(np.prod(variable.shape)) <= HOST_SUM_ELEMENTS:
        return float(np.sum(keras.ops.convert_to_numpy(variable.value), dtype="float64"))
    return float(keras.ops.convert_to_numpy(keras.ops.sum(variable.value)))


def weights_fingerprint(model):
    """A few numbers that change whenever training changes the weights: the sums of the first,
    middle and last trainable variables (a large one reduced where it lives, so only its sum
    crosses to the host). Restoring saved weights restores the numbers exactly."""
    variables = model.trainable_variables
    if not variables:
        return None
    chosen = {0, len(variables) // 2, len(variables) - 1}
    return tuple(_sum(variables[i]) for i in sorted(chosen))


def restored_epoch(fingerprints, final):
    """The epoch whose weights the model holds at the end of training, when a callback restored
    an earlier epoch's weights (EarlyStopping(restore_best_weights=True)); else None.

    ``fingerprints`` holds one ``weights_fingerprint`` per epoch end, ``final`` the one at the
    end of training. The restore can run before or after the Monitor's own epoch-end hook in
    the last epoch, so it shows either as final weights that differ from the last epoch's, or as
    a last epoch whose weights changed in training and yet equal an earlier epoch's. Weights that
    never changed (a frozen model) restore nothing.
    """
    if final is None or len(fingerprints) < 2:
        return None
    last = fingerprints[-1]
    if final == last and fingerprints[-2] == last:
        return None
    for epoch, fingerprint in enumerate(fingerprints[:-1]):
        if fingerprint == final:
            return epoch
    return None


def _watching(hook):
    """A Monitor hook that never raises inside the user's ``fit``: an internal failure is
    one note in the log, and the run goes on unwatched."""

    @functools.wraps(hook)
    def guarded(self, *args, **kwargs):
        if self._failed:
            return None
        started = time.thread_time()
        try:
            return hook(self, *args, **kwargs)
        except Exception as error:  # noqa: BLE001 - a watcher must not stop training
            self._failed = True
            message = f"stopped watching after an internal error in {hook.__name__}: {_error_line(error)}"
            logger.warning("Monitor: %s", message)
            try:
                self.log.append("note", message=message)
            except Exception:  # noqa: BLE001 - the log itself failed (a closed file)
                pass
            return None
        finally:
            self._cpu_seconds += time.thread_time() - started

    return guarded


def _check_arguments(probe_data, every_n_steps, overhead_budget, schedule, validation_data):
    if every_n_steps is not None and (not isinstance(every_n_steps, int) or every_n_steps < 1):
        raise ValueError(
            "Argument `every_n_steps` must be a positive integer or None. "
            f"Received: every_n_steps={every_n_steps!r}"
        )
    if not 0 < overhead_budget < 1:
        raise ValueError(
            "Argument `overhead_budget` must be in the (0, 1) range, the share "
            f"of training time probing may take. Received: overhead_budget={overhead_budget}"
        )
    if schedule not in (None, "fixed", "adaptive") or (schedule == "adaptive" and every_n_steps):
        raise ValueError(
            "Argument `schedule` must be 'fixed' or 'adaptive' (or None: 'fixed' with "
            "`every_n_steps`, else 'adaptive'); `every_n_steps` is a fixed schedule. "
            f"Received: schedule={schedule!r}, every_n_steps={every_n_steps!r}"
        )
    if probe_data is not None and (not isinstance(probe_data, (tuple, list)) or len(probe_data) != 2):
        raise ValueError(
            "Argument `probe_data` must be a tuple `(x, y)` taken from the "
            f"training data. Received: probe_data of type {type(probe_data).__name__}"
        )
    if probe_data is not None:
        _same_length("probe_data", probe_data)
    if validation_data is not None and not (
        isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3)
        and is_arrays(tuple(validation_data[:2]))
    ):
        raise ValueError(
            "Argument `validation_data` must be the tuple `(x_val, y_val)` of arrays that `fit` "
            f"validates on. Received: validation_data of type {type(validation_data).__name__}"
        )
    if validation_data is not None:
        _same_length("validation_data", validation_data)


def _same_length(name, pair):
    inputs, labels = _length(pair[0]), _length(pair[1])
    if inputs != labels:
        raise ValueError(f"Argument `{name}` must hold as many labels as inputs. "
                         f"Received: {inputs} inputs and {labels} labels")


class Monitor(keras.callbacks.Callback):
    """Records losses, learning rate and per-layer training signals into a RunLog.

    A callback never sees the training data, so gradients and activations are
    computed on a fixed probe batch that you pass in. Probing runs on a copy of
    the state (no batch-norm, dropout or metric state is touched), so training
    with and without the Monitor gives identical weights. The Monitor never
    raises inside ``fit``: an internal failure is one note in the log, and
    training goes on unwatched.

    For a model with a recurrent layer, each probe also records
    ``gradient_through_time``: the norm of the loss's gradient with respect to the
    first recurrent layer's input sequence at its first, middle and last steps
    (``monitor/through_time.py``).

    When a callback restores an earlier epoch's weights at the end of training
    (``EarlyStopping(restore_best_weights=True)``), the end record says which
    epoch's weights the model holds (``restored_epoch``), and the diagnosis
    judges overfitting as it stood then. Keras restores them in the callback's
    ``on_train_end``, so put the Monitor after it in ``callbacks``;
    ``keras-doctor check``, ``run`` and ``autolog`` place it after yours.

    Args:
        probe_data: ``(x, y)`` sample of the training data, for gradient and
            activation statistics. Without it only losses, learning rate and
            weight statistics are recorded.
        log: a ``RunLog`` to append to. Defaults to a new one (in memory, or
            at ``path``).
        path: where to write the RunLog (JSON Lines) as training goes.
        train_labels: the training labels (optional), so that the class
            distribution is known beyond the probe batch (imbalance, chance).
        validation_data: the ``(x_val, y_val)`` arrays given to ``fit``
            (optional), so that the validation set is summarized beside the
            training data (its labels, its scale) and checked for copies of the
            training samples: the probe batch's rows are looked up in it, and
            the share found is scaled to the training set (the length of
            ``train_labels``, when given), which takes the probe rows for a fair
            sample of it. At most 10,000 validation rows are read.
        schedule: ``"adaptive"`` (the default): steps 0, 1, 2, 4, 8, 16 and 32,
            then as often as ``overhead_budget`` of the training time allows, spread
            evenly over the steps left when the run's length is known (otherwise
            each probe is followed by the probes' median cost divided by
            ``overhead_budget`` of training, less while the budget is underspent),
            at most about ten probes an epoch; which steps depends on the machine's
            speed and load. ``"fixed"``: the same early steps, then evenly spaced
            steps (at most ten an epoch, about 200 in a run), a function of the
            step count only, so the same seed gives the same record; `check`
            uses it.
        every_n_steps: probe every N optimizer steps (a fixed schedule).
        overhead_budget: the share of training time an adaptive schedule may take.
        probe_size: the largest probe batch used; longer probe data is cut.
        compile_in_background: compile the probe step in a thread while
            training starts, so the first seconds of training are not held up.
            Steps due meanwhile are kept as copies of the weights and probed
            once it is ready, so the first steps are still recorded. Defaults
            to ``True`` for the adaptive schedule and ``False`` (compile before
            the first step) for a fixed one, which refuses ``True``: steps past
            the kept ones would be dropped, and the schedule would depend on
            the machine's speed again.

    On JAX, which dispatches a computation and returns before it has run, a
    probe of the current weights is started at its step on a copy of them and
    read back at a later step, once it has run (at the latest at the epoch's
    end), so training does not wait for it; it records what a probe run at
    once records. Its ``seconds`` are then its time on the training thread,
    and the adaptive schedule charges it that and the time of one run of the
    probe step, measured when the step compiled. The copies in flight take at
    most 256 MiB: a larger model is probed at once, without a copy.

    Example:

    ```python
    monitor = kerasdoctor.Monitor(probe_data=(x_train[:128], y_train[:128]))
    model.fit(x_train, y_train, epochs=5, callbacks=[monitor])
    monitor.log.probes[-1]["variables"]
    ```
    """

    def __init__(
        self,
        probe_data=None,
        *,
        log=None,
        path=None,
        train_labels=None,
        validation_data=None,
        schedule=None,
        every_n_steps=None,
        overhead_budget=0.02,
        probe_size=256,
        compile_in_background=None,
    ):
        super().__init__()
        _check_arguments(probe_data, every_n_steps, overhead_budget, schedule, validation_data)
        fixed = schedule == "fixed" or (schedule is None and every_n_steps is not None)
        self._schedule = FixedSchedule(every_n_steps) if fixed else AdaptiveSchedule(overhead_budget)
        self.schedule = "fixed" if fixed else "adaptive"
        self.every_n_steps = every_n_steps
        self.overhead_budget = overhead_budget
        if fixed and compile_in_background:
            raise ValueError(
                "A fixed schedule compiles the probe step before the first step, so that every due "
                "step is probed on time. Received: schedule='fixed' (or every_n_steps) with "
                "compile_in_background=True"
            )
        self.compile_in_background = not fixed if compile_in_background is None else compile_in_background
        self.log = log if log is not None else RunLog(path)
        self.train_labels = train_labels
        self.validation_data = None if validation_data is None else tuple(validation_data[:2])
        self.probe_data = None
        if probe_data is not None:
            self.probe_data = (_head(probe_data[0], probe_size), _head(probe_data[1], probe_size))
        self._program = self._compiler = self._compiling_program = None
        self._variable_names, self._pending, self._previous = [], [], None
        self._in_flight, self._ending = [], False
        self._epoch_first_step, self._quiet_until, self._settled = 0, 0, False
        self._said = set()
        self._failed = False
        self._cpu_seconds = self._compile_cpu_seconds = self._compile_seconds = 0.0

    def finish_probes(self):
        """Records the probes started and not yet read back. Keras calls no hook after a ``fit``
        that raised; call this then, before reading the log. Never raises."""
        try:
            self._collect(wait=True)
        except Exception as error:  # noqa: BLE001 - a watcher must not raise
            self._in_flight = []
            self._note_once(f"some probes were not recorded: {_error_line(error)}")

    # Keras hooks. Only on_train_batch_begin runs per step, and it does work only
    # when a probe is due: an on_*_batch_end hook would turn off async dispatch.

    def on_train_begin(self, logs=None):
        self._failed = False  # a Monitor reused for another fit watches it afresh
        self._cpu_seconds = self._compile_cpu_seconds = self._compile_seconds = 0.0
        self._begin()

    @_watching
    def _begin(self):
        model = self.model
        self._epoch, self._epoch_first_step, self._last_batch = 0, 0, -1
        self._steps_per_execution = int(getattr(model, "steps_per_execution", 1) or 1)
        self._monitor_seconds = self._epoch_monitor_seconds = 0.0
        self._epoch_started = time.perf_counter()
        params = self.params or {}
        self._schedule.start(params.get("steps"), params.get("epochs"))
        self._program, self._compiler, self._compile_error = None, None, None
        self._compiling_program = None
        self._pending, self._previous, self._ready = [], None, False  # a second fit starts afresh
        self._in_flight, self._ending = [], False
        self._quiet_until, self._settled = 0, False
        self._fingerprints = []
        if model.trainable_variables:
            self._setup(model, step=0)
        # else: a subclassed model that builds in its first step; set up once built.

    @_watching
    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._epoch_started = time.perf_counter()
        self._epoch_monitor_seconds = 0.0

    def on_train_batch_begin(self, batch, logs=None):
        self._last_batch = batch
        step = self._epoch_first_step + batch
        if step < self._quiet_until:
            return  # the cost of most steps
        if self._settled:  # nothing kept or compiling: only the schedule can make this step busy
            try:
                if not self._schedule.due(step):
                    return
            except Exception:  # noqa: BLE001 - the watched hook below notes it
                pass
        self._batch_begin(step)

    @_watching
    def _batch_begin(self, step):
        self._quiet_until, self._settled = 0, False
        if self._in_flight:
            self._collect()
        if not self._ready:
            if not self._model.trainable_variables:
                return
            self._setup(self.model, step=step)
            return  # _setup recorded (or kept) this step
        if self._compiler is not None and self._compiler.ident is None and step >= _backends.COMPILE_FROM_STEP:
            self._compiler.start()
        if self._pending and (self._program_ready() or not self._compiling()):
            self._flush()
        if self._schedule.due(step) and (not self._compiling() or self._schedule.keeps(step)):
            self._schedule.taken(step)
            self._probe_or_keep(step)
        if self._ready and not (self._pending or self._compiling() or self._in_flight):
            self._quiet_until, self._settled = self._schedule.earliest_due(step + 1), True

    @_watching
    def on_epoch_end(self, epoch, logs=None):
        self._collect(wait=True)  # the epoch's probes come before its record
        self._epoch_first_step += self._last_batch + self._steps_per_execution
        self._last_batch = -1
        self._schedule.epoch_ended(self._epoch_first_step, epoch + 1)
        logs = {k: float(v) for k, v in (logs or {}).items() if np.ndim(v) == 0}
        self.log.append(
            "epoch",
            epoch=epoch,
            step=self._epoch_first_step,
            logs=logs,
            learning_rate=_learning_rate(self.model.optimizer),
            seconds=time.perf_counter() - self._epoch_started,
            monitor_seconds=self._epoch_monitor_seconds,
        )
        try:
            fingerprint = weights_fingerprint(self.model)
        except Exception:  # noqa: BLE001 - weights we cannot sum: nothing to tell about restoring
            fingerprint = None
        self._fingerprints.append(fingerprint)

    def on_train_end(self, logs=None):
        self._finish()
        restored = self._restored()
        try:  # even after an internal failure, the log says how training ended
            self.log.append(
                "end",
                status="stopped" if getattr(self.model, "stop_training", False) else "completed",
                step=getattr(self, "_epoch_first_step", None),
                monitor_seconds=getattr(self, "_monitor_seconds", 0.0),
                monitor_cpu_seconds=self._cpu_seconds + self._compile_cpu_seconds,
                probe_compile_seconds=self._compile_seconds,
                **({} if restored is None else {"restored_epoch": restored}),
            )
        except Exception as error:  # noqa: BLE001 - a watcher must not stop training
            logger.warning("Monitor: the end of training was not recorded: %s", _error_line(error))

    @_watching
    def _restored(self):
        fingerprints = getattr(self, "_fingerprints", [])
        if len(fingerprints) < 2 or None in fingerprints:
            return None
        return restored_epoch(fingerprints, weights_fingerprint(self.model))

    @_watching
    def _finish(self):
        self._collect(wait=True)
        self._ending = True  # the trained weights are probed at once
        if not self._ready and self._model.trainable_variables:
            self._setup(self.model, step=self._epoch_first_step)
        if self._pending:
            if self._compiler is not None:
                # A run shorter than the compilation: wait, so its kept steps are still probed.
                if self._compiler.ident is None:
                    self._compiler.start()
                self._compiler.join()
                self._program_ready()
            self._flush()
        probes = self.log.probes
        if self._ready and not self._compiling() and probes and probes[-1]["step"] < self._epoch_first_step:
            self._record_probe(self._epoch_first_step, self._epoch)  # the trained weights

    # Probing.

    def _note_once(self, message):
        if message not in self._said:
            self._said.add(message)
            logger.info("Monitor: %s", message)
            self.log.append("note", message=message)

    def _setup(self, model, step):
        self._ready = True
        self._variable_names = variable_names(model)
        self.log.append(
            "model", **describe_model(model), variables=self._variable_names,
            backend=keras.backend.backend(), schedule=self.schedule,
        )
        if self.train_labels is not None:
            self.log.append("data", split="train", **summarize_labels(self.train_labels))
        if self.validation_data is not None:
            self._record_validation(None if self.probe_data is None else self.probe_data[0])
        self._schedule.taken(step)
        if self.probe_data is None:
            self._note_once(
                "no probe_data was given, so gradient and activation statistics "
                "are skipped; pass probe_data=(x_train[:128], y_train[:128])"
            )
            self._record_probe(step, self._epoch)
            return
        x, y = self.probe_data
        self.log.append("data", split="probe", **summarize(x, y))
        try:
            program = ProbeProgram(model, x, y)
            self._pending = [(step, self._epoch, program.snapshot())]
        except Exception as error:  # a model we cannot differentiate: record, don't stop fit
            self._note_once(f"gradient statistics are skipped: {_error_line(error)}")
            self._record_probe(step, self._epoch)
            return
        if program.skipped:
            self._note_once(program.skipped)
        self._compiling_program = program
        self._snapshot_bytes = _bytes(program.trainable) + _bytes(program.non_trainable)
        self._compiler = threading.Thread(
            target=self._compile, args=(program, self._pending[0][2]),
            name="kerasdoctor-probe-compile", daemon=True,
        )
        if not self.compile_in_background:
            self._compiler.start()
            self._compiler.join()
            self._program_ready()
            self._flush()

    def _record_validation(self, probe_x):
        """The validation set's summary and its estimated overlap with the training data."""
        try:
            x_val, y_val = self.validation_data
            fields, sample_x = bounded_summary(x_val, y_val, seed=0)
            train_samples = None if self.train_labels is None else _length(self.train_labels)
            self.log.append("data", split="val", **fields)
            if probe_x is not None:
                self.log.append("data", split="overlap",
                                **estimated_overlap(probe_x, sample_x, fields["samples"], train_samples))
        except Exception as error:  # noqa: BLE001 - data we cannot read: say so, go on
            self._note_once(f"validation_data was not summarized: {_error_line(error)}")

    def _compile(self, program, state):
        started, wall = time.thread_time(), time.perf_counter()
        try:
            program.compile(state)
            error = None
        except Exception as failure:
            error = failure
        if program is self._compiling_program:  # not a thread left over from an earlier fit
            self._program, self._compile_error = (program, None) if error is None else (None, error)
            self._compile_cpu_seconds += time.thread_time() - started
            self._compile_seconds += time.perf_counter() - wall

    def _program_ready(self):
        """True once the probe step is compiled; a failed compilation falls back to weights."""
        if self._compiler is None or self._compiler.is_alive() or self._compiler.ident is None:
            return self._program is not None
        if self._program is None and self._compile_error is not None:
            error, self._compile_error = self._compile_error, None
            self._note_once(f"gradient statistics are skipped: {_error_line(error)}")
            self._compiler = None  # the kept steps get weight statistics
        return self._program is not None

    def _compiling(self):
        return self._compiler is not None and self._program is None

    def _probe_or_keep(self, step):
        if not self._compiling():
            self._record_probe(step, self._epoch)
        elif len(self._pending) < MAX_PENDING and (len(self._pending) + 1) * self._snapshot_bytes <= MAX_PENDING_BYTES:
            self.model  # noqa: B018 - on JAX this syncs the trainer's state into the variables
            self._pending.append((step, self._epoch, self._compiling_program.snapshot()))
        else:
            self._note_once("some steps were not probed while the probe step compiled")

    def _flush(self):
        pending, self._pending = self._pending, []
        for step, epoch, state in pending:
            self._record_probe(step, epoch, state)

    def _record_probe(self, step, epoch, state=None):
        if state is None and self._dispatching():
            self._start_probe(step, epoch)
            return
        self._collect(wait=True)  # probes are recorded in the order of their steps
        started = time.perf_counter()
        model = self.model  # on JAX this syncs the trainer's state into the variables
        record = {"step": step, "epoch": epoch}
        try:
            if self._program is not None:
                record.update(self._gradient_record(state=state))
            else:
                record.update(self._weight_record(model, state))
        except Exception as error:
            self._note_once(f"a probe failed and was skipped: {_error_line(error)}")
            self._program = self._compiler = None  # weight statistics from now on, on schedule
            record.update(self._weight_record(model, state))
        seconds = time.perf_counter() - started
        self._append_probe(record, seconds, seconds)

    def _dispatching(self):
        """Whether a probe of the current weights is started now and read back later."""
        return (_backends.ASYNC_DISPATCH and self._program is not None and not self._ending
                and self._program.step_seconds is not None
                and (len(self._in_flight) + 1) * self._snapshot_bytes <= MAX_PENDING_BYTES)

    def _start_probe(self, step, epoch):
        started = time.perf_counter()
        self.model  # noqa: B018 - on JAX this syncs the trainer's state into the variables
        if len(self._in_flight) >= MAX_IN_FLIGHT:
            self._collect(wait=True)
        program = self._program
        try:
            handle = program.start()
        except Exception as error:
            self._note_once(f"a probe failed and was skipped: {_error_line(error)}")
            self._program = self._compiler = None
            self._record_probe(step, epoch)
            return
        self._in_flight.append((step, epoch, program, handle, time.perf_counter() - started))

    def _collect(self, wait=False):
        """Records the started probes that have run (all of them with ``wait``), in order."""
        while self._in_flight:
            step, epoch, program, handle, seconds = self._in_flight[0]
            if not (wait or program.ready(handle)):
                return
            self._in_flight.pop(0)
            started = time.perf_counter()
            record = {"step": step, "epoch": epoch}
            try:
                record.update(self._gradient_record(program=program, handle=handle))
            except Exception as error:
                self._note_once(f"a probe failed and was skipped: {_error_line(error)}")
                self._program = self._compiler = None
                record.update(self._weight_record(self.model, (handle[0], None)))
            seconds += time.perf_counter() - started
            # The budget is charged the time on this thread and the probe's own computation,
            # which the backend's threads do (timed when the step compiled).
            self._append_probe(record, seconds, seconds + program.step_seconds)

    def _append_probe(self, record, seconds, charged):
        record["seconds"] = seconds
        self.log.append("probe", **record)
        self._monitor_seconds += seconds
        self._epoch_monitor_seconds += seconds
        self._schedule.cost(charged)

    def _gradient_record(self, state=None, program=None, handle=None):
        if handle is None:
            result = self._program.run(self._previous, state)
        else:
            result = program.finish(self._previous, handle)
        loss, variables, layers, weights, through_time = result
        first = self._previous is None
        self._previous = weights
        for row in variables.values():
            update = row.pop("update_norm")
            row["update_ratio"] = None if first else update / max(row["weight_norm"], 1e-12)
        record = {"loss": loss, "variables": variables, "layers": layers}
        if through_time is not None:
            record["gradient_through_time"] = through_time
        return record

    def _weight_record(self, model, state=None):
        values = state[0] if state is not None else [v.value for v in model.trainable_variables]
        current = [np.array(keras.ops.convert_to_numpy(v), dtype="float64") for v in values]
        rows = {}
        previous = self._previous if isinstance(self._previous, list) else None
        for index, (name, weight) in enumerate(zip(self._variable_names, current)):
            norm = float(np.linalg.norm(weight))
            row = {"weight_norm": norm, "nonfinite_weight": float((~np.isfinite(weight)).sum())}
            if previous is not None and len(previous) == len(current):
                change = weight - np.asarray(previous[index], dtype="float64")
                row["update_ratio"] = float(np.linalg.norm(change)) / max(norm, 1e-12)
            rows[name] = row
        self._previous = current
        return {"variables": rows, "layers": {}}
