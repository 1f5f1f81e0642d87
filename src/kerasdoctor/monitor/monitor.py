"""The Monitor: a Keras callback that only watches, and records into a RunLog."""

import logging
import threading
import time

import keras
import numpy as np

from kerasdoctor.monitor.datastats import summarize
from kerasdoctor.monitor.describe import describe_model
from kerasdoctor.monitor.probe import ProbeProgram
from kerasdoctor.runlog import RunLog

logger = logging.getLogger(__name__)
PROBES_PER_EPOCH = 10
# Probed whenever the probe step is compiled by then (always with compile_in_background=False).
EARLY_STEPS = frozenset((1, 2, 4, 8, 16, 32))


def _length(x):
    if isinstance(x, dict):
        return len(next(iter(x.values())))
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


class Monitor(keras.callbacks.Callback):
    """Records losses, learning rate and per-layer training signals into a RunLog.

    A callback never sees the training data, so gradients and activations are
    computed on a fixed probe batch that you pass in. Probing runs on a copy of
    the state (no batch-norm, dropout or metric state is touched), so training
    with and without the Monitor gives identical weights.

    Args:
        probe_data: ``(x, y)`` sample of the training data, for gradient and
            activation statistics. Without it only losses, learning rate and
            weight statistics are recorded.
        log: a ``RunLog`` to append to. Defaults to a new one (in memory, or
            at ``path``).
        path: where to write the RunLog (JSON Lines) as training goes.
        every_n_steps: probe every N optimizer steps. By default the interval
            adapts so that probing costs about ``overhead_budget`` of the
            training time, with at most about ten probes per epoch, and steps
            1, 2, 4, 8, 16 and 32 are probed too when the probe step is compiled
            by then (a learning rate that is far off shows in the first steps).
        overhead_budget: the share of training time probing may take when
            ``every_n_steps`` is not given.
        probe_size: the largest probe batch used; longer probe data is cut.
        compile_in_background: compile the probe step in a thread while
            training starts (the default), so the first seconds of training
            are not held up; probes begin once it is ready, starting with the
            initial weights. ``False`` compiles before the first step, so that
            probing follows ``every_n_steps`` exactly from step 0.

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
        every_n_steps=None,
        overhead_budget=0.02,
        probe_size=256,
        compile_in_background=True,
    ):
        super().__init__()
        if every_n_steps is not None and (
            not isinstance(every_n_steps, int) or every_n_steps < 1
        ):
            raise ValueError(
                "Argument `every_n_steps` must be a positive integer or None. "
                f"Received: every_n_steps={every_n_steps!r}"
            )
        if not 0 < overhead_budget < 1:
            raise ValueError(
                "Argument `overhead_budget` must be in the (0, 1) range, the share "
                f"of training time probing may take. Received: overhead_budget={overhead_budget}"
            )
        if probe_data is not None and (
            not isinstance(probe_data, (tuple, list)) or len(probe_data) != 2
        ):
            raise ValueError(
                "Argument `probe_data` must be a tuple `(x, y)` taken from the "
                f"training data. Received: probe_data of type {type(probe_data).__name__}"
            )
        if probe_data is not None and _length(probe_data[0]) != _length(probe_data[1]):
            raise ValueError(
                "Argument `probe_data` must hold as many labels as inputs. "
                f"Received: {_length(probe_data[0])} inputs and {_length(probe_data[1])} labels"
            )
        self.log = log if log is not None else RunLog(path)
        self.every_n_steps = every_n_steps
        self.overhead_budget = overhead_budget
        self.compile_in_background = compile_in_background
        self.probe_data = None
        if probe_data is not None:
            self.probe_data = (
                _head(probe_data[0], probe_size),
                _head(probe_data[1], probe_size),
            )
        self._program = None
        self._variable_names = []
        self._previous = None
        self._said = set()

    # Keras hooks. Only on_train_batch_begin runs per step, and it does work only
    # when a probe is due: an on_*_batch_end hook would turn off async dispatch.

    def on_train_begin(self, logs=None):
        model = self.model
        self._epoch, self._epoch_first_step, self._last_batch = 0, 0, -1
        self._steps_per_execution = int(getattr(model, "steps_per_execution", 1) or 1)
        self._monitor_seconds = 0.0
        self._probe_count, self._steady_seconds, self._last_cost = 0, 0.0, 0.0
        self._next_probe_step = 0
        self._train_started = time.perf_counter()
        self._program, self._compiler, self._initial, self._initial_done = None, None, None, False
        self._ready, self._previous = False, None  # a Monitor reused for a second fit starts afresh
        if model.trainable_variables:
            self._setup(model)
        # else: a subclassed model that builds in its first step; set up once built.

    def _setup(self, model):
        self._ready = True
        self._variable_names = [v.path for v in model.trainable_variables]
        self.log.append(
            "model",
            **describe_model(model),
            variables=self._variable_names,
            backend=keras.backend.backend(),
        )
        self._start_probing(model)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._epoch_started = time.perf_counter()
        self._epoch_monitor_seconds = 0.0

    def on_train_batch_begin(self, batch, logs=None):
        self._last_batch = batch
        step = self._epoch_first_step + batch
        if not self._ready:
            if not self._model.trainable_variables:
                return
            self._setup(self.model)
        if self._probe_due(step):
            self._probe(step)

    def on_epoch_end(self, epoch, logs=None):
        self._epoch_first_step += self._last_batch + self._steps_per_execution
        self._last_batch = -1
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

    def on_train_end(self, logs=None):
        if not self._ready and self._model.trainable_variables:
            self._setup(self.model)
        if self._compiler is not None and not self._initial_done:
            # A run shorter than the compilation: wait, so it is still probed.
            if self._compiler.ident is None:
                self._compiler.start()
            self._compiler.join()
            if self._program_ready():
                self._probe(self._epoch_first_step)
        self.log.append(
            "end",
            status="stopped" if getattr(self.model, "stop_training", False) else "completed",
            step=self._epoch_first_step,
            monitor_seconds=self._monitor_seconds,
        )

    # Probing.

    def _note_once(self, message):
        if message not in self._said:
            self._said.add(message)
            logger.info("Monitor: %s", message)
            self.log.append("note", message=message)

    def _start_probing(self, model):
        """Builds the probe and compiles it in a background thread.

        Compiling takes seconds on JAX and TensorFlow; training goes on
        meanwhile, and the initial weights, kept aside, are probed first once
        the program is ready, so step 0 is still recorded.
        """
        if self.probe_data is None:
            self._note_once(
                "no probe_data was given, so gradient and activation statistics "
                "are skipped; pass probe_data=(x_train[:128], y_train[:128])"
            )
            self._probe(0)
            return
        x, y = self.probe_data
        self.log.append("data", split="probe", **summarize(x, y))
        try:
            program = ProbeProgram(model, x, y)
            self._initial = program.snapshot()
        except Exception as error:  # a model we cannot differentiate: record, don't stop fit
            self._note_once(f"gradient statistics are skipped: {_error_line(error)}")
            self._probe(0)
            return
        if program.skipped:
            self._note_once(program.skipped)
        self._compile_error = None
        self._compiler = threading.Thread(
            target=self._compile, args=(program,), name="kerasdoctor-probe-compile", daemon=True
        )
        if not self.compile_in_background:
            self._compiler.start()
            self._compiler.join()
            if self._program_ready():
                self._probe(0)

    def _compile(self, program):
        try:
            program.compile(self._initial)
            self._program = program
        except Exception as error:
            self._compile_error = error

    def _program_ready(self):
        if self._compiler is None or self._compiler.is_alive():
            return False
        if self._program is None and self._compile_error is not None:
            error, self._compile_error = self._compile_error, None
            self._note_once(f"gradient statistics are skipped: {_error_line(error)}")
            self._initial, self._compiler = None, None  # fall back to weight statistics
        return self._program is not None

    def _probe_due(self, step):
        if self._compiler is not None and not self._initial_done:
            if self._compiler.ident is None and step >= 2:
                self._compiler.start()
            return self._program_ready()
        if self.every_n_steps is None and step in EARLY_STEPS and self._program is not None:
            return True  # the first steps show a learning rate that is far off; a few cheap probes
        if step < self._next_probe_step:
            return False
        if self.every_n_steps is not None:
            return True
        elapsed = time.perf_counter() - self._train_started
        return self._steady_seconds + self._last_cost <= self.overhead_budget * elapsed

    def _probe(self, step):
        if self._initial is not None and not self._initial_done:
            self._initial_done = True
            self._record_probe(0, 0, self._initial)
            self._initial = None
            if step == 0:
                return
        self._record_probe(step, self._epoch)

    def _record_probe(self, step, epoch, state=None):
        started = time.perf_counter()
        model = self.model  # on JAX this syncs the trainer's state into the variables
        record = {"step": step, "epoch": epoch}
        try:
            if self._program is not None:
                record.update(self._gradient_record(state))
            else:
                record.update(self._weight_record(model))
        except Exception as error:
            self._note_once(f"a probe failed and was skipped: {_error_line(error)}")
            self._program = None
            record.update(self._weight_record(model))
        seconds = time.perf_counter() - started
        record["seconds"] = seconds
        self.log.append("probe", **record)
        self._monitor_seconds += seconds
        if hasattr(self, "_epoch_monitor_seconds"):
            self._epoch_monitor_seconds += seconds
        self._probe_count += 1
        if self._probe_count > 1:  # the first probe also pays for warm-up
            self._steady_seconds += seconds
            self._last_cost = seconds
        self._next_probe_step = step + (self.every_n_steps or self._min_gap())

    def _min_gap(self):
        # Within the budget, spread probes over the epoch (at most ~10 per epoch)
        # rather than spending it all on consecutive steps after compiling.
        steps = (self.params or {}).get("steps") or 0
        return max(1, int(steps) // PROBES_PER_EPOCH)

    def _gradient_record(self, state):
        loss, variables, layers, weights = self._program.run(self._previous, state)
        first = self._previous is None
        self._previous = weights
        for row in variables.values():
            update = row.pop("update_norm")
            row["update_ratio"] = None if first else update / max(row["weight_norm"], 1e-12)
        return {"loss": loss, "variables": variables, "layers": layers}

    def _weight_record(self, model):
        current = [
            np.array(keras.ops.convert_to_numpy(v.value), dtype="float64")
            for v in model.trainable_variables
        ]
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
