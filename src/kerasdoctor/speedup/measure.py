"""The runs ``speed`` measures: a short timing run, and an accuracy run to the workload's epochs."""

import contextlib
import statistics
import sys
import time

import keras
import numpy as np

from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.vocabulary import objective
from kerasdoctor.workload.data import count_rows, take_rows
from kerasdoctor.workload.pipelines import repeat_batches

# A timing run trains a first epoch (it holds the compilation) and then steady epochs of the
# same steps until they add up to at least this many steps.
TIMING_STEPS = 200


class _Clock(keras.callbacks.Callback):
    """Wall seconds since the fit began at each epoch's end (the epoch end syncs the device), and
    the steps each epoch trained (from the optimizer's step count).

    It has no hook per batch: Keras runs a fit whose callbacks have none (or only hooks that say
    they are ``async_safe``) without waiting for each step's results before it starts the next,
    and a hook of keras-doctor's own in the training loop would make every timing run wait at
    every step, most of all at one step per execution.

    With ``time_limit``, the fit stops at the end of the epoch in which it passed that many
    seconds (a knob many times slower than the baseline: its ratio is known to be below the
    bound, and measuring it out would take longer than everything else together); ``stopped``
    holds the seconds it took."""

    def __init__(self, time_limit=None):
        super().__init__()
        self.started, self.epoch_started, self.ends, self.durations, self.logs = None, None, [], [], []
        self.steps, self._done = [], 0
        self.time_limit, self.stopped = time_limit, None

    def _count(self):
        """The optimizer's steps so far; None under loss scaling, whose optimizer does not count
        the steps it skips (their gradients overflowed)."""
        optimizer = self.model.optimizer
        if hasattr(optimizer, "inner_optimizer"):
            return None
        return int(keras.ops.convert_to_numpy(optimizer.iterations.value))

    def on_train_begin(self, logs=None):
        self._done = self._count()
        self.started = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        now = time.perf_counter()
        done = self._count()
        # Under loss scaling, the steps Keras planned for the epoch (None when it does not know).
        self.steps.append((self.params or {}).get("steps") if done is None else done - self._done)
        self._done = done
        self.durations.append(now - self.epoch_started)
        self.ends.append(now - self.started)
        if self.time_limit is not None and now - self.started > self.time_limit:
            self.stopped = now - self.started
            self.model.stop_training = True
        self.logs.append(dict(logs or {}))


@contextlib.contextmanager
def distributed(settings):
    """Data parallelism over the local devices while the block runs, when ``settings`` ask for it."""
    if not settings.data_parallel:
        yield
        return
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=keras.distribution.list_devices()))
    try:
        yield
    finally:
        keras.distribution.set_distribution(None)


def _compiled_rate(config):
    """The learning rate in a model's compile config (a number, a serialized schedule, or None)."""
    optimizer = config.get("optimizer")
    return optimizer.get("config", {}).get("learning_rate") if isinstance(optimizer, dict) else None


def learning_rate_is_number(model):
    """Whether ``model`` was compiled with a learning rate that is a number (one ``build`` can scale)."""
    try:
        return isinstance(_compiled_rate(model.get_compile_config() or {}), (int, float))
    except Exception:  # noqa: BLE001 - a model that cannot say: the batch knobs fail in their rows
        return True


def build(workload, settings, seed):
    """A fresh model of ``workload`` trained the way ``settings`` say (the user's objects untouched).
    Call it after ``keras.backend.clear_session()``, which would also clear the distribution."""
    keras.utils.set_random_seed(seed)
    previous = keras.config.dtype_policy()
    if settings.dtype_policy:
        keras.config.set_dtype_policy(settings.dtype_policy)
    try:
        model = workload.build_model()
    finally:
        keras.config.set_dtype_policy(previous)
    config = model.get_compile_config()
    config["jit_compile"] = settings.jit_compile
    config["steps_per_execution"] = settings.steps_per_execution
    if settings.learning_rate_scale != 1.0:
        rate = _compiled_rate(config)
        if not isinstance(rate, (int, float)):
            raise KerasDoctorError("the learning rate is a schedule or cannot be read, so it cannot be scaled "
                                   "with the batch size")
        config["optimizer"]["config"]["learning_rate"] = float(rate) * settings.learning_rate_scale
    model.compile_from_config(config)
    return model


def _fit_inputs(data, settings, validation):
    arguments = data.fit_arguments()
    if not validation:
        arguments.pop("validation_data")
        arguments.pop("validation_steps", None)
    if settings.batch_size is not None:
        arguments["batch_size"] = settings.batch_size
    if settings.prefetch:
        arguments["x"] = prefetched(arguments["x"])
    return arguments


def prefetched(dataset):
    """A ``tf.data`` pipeline that makes its next batches while a step runs (AUTOTUNE's buffer)."""
    return dataset.prefetch(-1)  # -1 is tf.data.AUTOTUNE


def timing_plan(samples, batch_size, steps=TIMING_STEPS):
    """(rows, steady epochs) for the timing runs of arrays: the same rows and epochs for every
    knob, so that each epoch's fixed costs weigh the same whatever the batch size; enough steady
    epochs for ``steps`` steps of the baseline's batch size."""
    rows = min(samples, 2 * steps * batch_size)
    return rows, max(1, -(-steps // max(1, rows // batch_size)))


def timing_run(workload, data, settings, *, plan=None, steps=TIMING_STEPS, seed=0, time_limit=None):
    """{'compile_seconds', 'step_seconds', 'steps_per_second', 'samples_per_second', 'seconds'}
    of a first epoch (compilation) and steady epochs. Arrays: ``plan`` from ``timing_plan``; a
    pipeline: epochs of ``steps`` steps. With ``time_limit``, a run still going after that many
    seconds stops and gives ``{'stopped_after_seconds': ...}`` alone."""
    keras.backend.clear_session()
    with distributed(settings):
        return _timing_run(workload, data, settings, plan, steps, seed, time_limit)


def _timing_run(workload, data, settings, plan, steps, seed, time_limit=None):
    model = build(workload, settings, seed)
    arguments = _fit_inputs(data, settings, validation=False)
    execution = settings.steps_per_execution
    if settings.batch_size is not None:
        rows, steady_epochs = plan
        batch = settings.batch_size
        steps = max(1, rows // (batch * execution)) * execution
        # Whole batches of the first rows: each epoch is one pass over them (with steps_per_epoch,
        # fit would go on from where the last epoch stopped).
        kept = slice(0, steps * batch)
        arguments["x"], arguments["y"] = take_rows(arguments["x"], kept), take_rows(arguments["y"], kept)
        fit_steps = {}
    else:
        # A pipeline: steps_per_epoch goes on through one pass (``run_speed`` keeps the two epochs
        # within a pass, or the pipeline repeats).
        batch, steady_epochs = None, 1
        steps = min(steps, arguments.pop("steps_per_epoch", None) or steps)
        steps = max(execution, steps // execution * execution)
        fit_steps = {"steps_per_epoch": steps}
    clock = _Clock(time_limit)
    model.fit(**arguments, epochs=1 + steady_epochs, verbose=0, callbacks=[clock], **fit_steps)
    if clock.stopped is not None:
        return {"stopped_after_seconds": clock.stopped}
    counted = [n for n in clock.steps if n is not None]
    if len(clock.durations) < 1 + steady_epochs or min(counted, default=steps) < steps:
        raise KerasDoctorError(f"the timing run trained {min(counted, default=0)} of its {steps} steps "
                               "in an epoch (the data ran out)")
    first, steady = clock.durations[0], clock.durations[1:]
    seconds, done = sum(steady), steps * len(steady)
    result = {"compile_seconds": max(first - statistics.median(steady), 0.0), "steps": done,
              "step_seconds": seconds / done, "steps_per_second": done / seconds, "seconds": clock.ends[-1]}
    if batch is not None:
        result["samples_per_second"] = done * batch / seconds
    return result


def _peak_host_megabytes():
    try:
        import resource
    except ImportError:  # not on this platform
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 2**20  # Linux: KiB; macOS: bytes


def _input_seconds(data, settings, steps):
    """Seconds to make ``steps`` batches without training: NumPy row gathers of a shuffled order
    for arrays (what fit does), an iteration of the pipeline otherwise."""
    started = time.perf_counter()
    if settings.batch_size is not None:
        order = np.random.default_rng(0).permutation(count_rows(data.y_train))
        made = 0
        for first in range(0, len(order), settings.batch_size):
            rows = np.sort(order[first:first + settings.batch_size])
            keras.tree.map_structure(lambda a: a[rows], (data.x_train, data.y_train))
            made += 1
            if made >= steps:
                break
    else:
        made = sum(1 for _ in zip(range(steps), repeat_batches(data.train)))
    return (time.perf_counter() - started) / max(made, 1)


def profile(workload, data, settings, timing):
    """Where a step's time goes, beside a baseline ``timing``: the input's share of a step, the
    validation pass per epoch, and the process's peak host memory."""
    step = timing["step_seconds"]
    found = {"compile_seconds": timing["compile_seconds"], "step_seconds": step}
    found["input_seconds_per_step"] = _input_seconds(data, settings, 50)
    found["input_share"] = min(found["input_seconds_per_step"] / step, 1.0) if step else None
    validation = data.fit_arguments()["validation_data"]
    if isinstance(validation, tuple):
        keras.backend.clear_session()
        model = build(workload, settings, 0)
        batch = settings.batch_size or 32
        model.evaluate(*validation[:2], batch_size=batch, verbose=0)  # compiles
        started = time.perf_counter()
        model.evaluate(*validation[:2], batch_size=batch, verbose=0)
        found["validation_seconds"] = time.perf_counter() - started
        if settings.batch_size is not None:
            epoch = step * -(-count_rows(data.y_train) // settings.batch_size)
            found["validation_share"] = found["validation_seconds"] / (epoch + found["validation_seconds"])
    found["peak_host_megabytes"] = _peak_host_megabytes()
    return found


def accuracy_run(workload, data, settings, *, epochs, seed):
    """The validation metric per epoch and the wall seconds at each epoch's end (from the fit's
    start: compilation included), training to ``epochs``."""
    keras.backend.clear_session()
    with distributed(settings):
        model = build(workload, settings, seed)
        clock = _Clock()
        model.fit(**_fit_inputs(data, settings, validation=True), epochs=epochs, verbose=0, callbacks=[clock])
    metric, direction = objective(clock.logs[-1] if clock.logs else {})
    return {"metric": metric, "direction": direction, "values": [logs.get(metric) for logs in clock.logs],
            "seconds": clock.ends}
