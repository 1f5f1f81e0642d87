"""The learning-rate range test (Smith 2015/2017; the fastai and Lightning procedure).

The learning rate grows exponentially from ``start_lr`` to ``end_lr`` over at most
``num_steps`` steps, one batch each; the loss is smoothed with an exponential moving
average and the sweep stops when it exceeds ``diverge_factor`` times its best. The model's
weights and its optimizer's state are restored afterwards, so the model comes out as it went in.
"""

import logging
import math
from dataclasses import dataclass, field

import keras
import numpy as np

from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.runlog import to_jsonable
from kerasdoctor.workload import pipelines
from kerasdoctor.workload.data import count_rows, take_rows
from kerasdoctor.workload.source import describe_error
from kerasdoctor.tune.suggest import SUGGESTIONS, zero_lag
from kerasdoctor.vocabulary import objective

logger = logging.getLogger(__name__)
SUGGESTION_SMOOTHING = 0.8
DIVERGED = 4.0
# The sweep's defaults: 25 steps per decade from 1e-6. At 12.5 per decade from 1e-7, the default
# rule's suggestion spread 1.6-5.9x (median 2.9x) over five seeds on a development set; at 25,
# 1.3-4.4x (median 1.7x), with the rule closer to a grid's best (bench/lr_find_rules.py).
START_LR, END_LR, NUM_STEPS, RULE = 1e-6, 10.0, 175, "midway"
MATPLOTLIB_HINT = "pip install matplotlib (a dependency of keras-doctor that is missing here)"


def can_plot():
    """Whether matplotlib imports; only the curve's picture needs it."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(repr=False)
class LRFindResult:
    """The sweep and what it suggests: ``low <= suggestion <= high``.

    ``learning_rates``, ``losses`` and ``raw_losses`` have one length and end at the last point
    the suggestions read: where the raw loss first passed 4x its best (``diverged_at``, the rate
    there) or the last finite loss. ``steps`` counts every step trained, the tail included.
    """

    learning_rates: list
    losses: list  # smoothed
    raw_losses: list
    suggestion: float
    low: float
    high: float
    rule: str
    suggestions: dict = field(default_factory=dict)
    stopped_early: bool = False
    steps: int = 0
    diverged_at: float | None = None

    def __repr__(self):
        return (f"LRFindResult(suggestion={self.suggestion:.3g}, bracket=({self.low:.3g}, {self.high:.3g}), "
                f"steps={self.steps}, rule={self.rule!r}"
                + (f", diverged_at={self.diverged_at:.3g})" if self.diverged_at is not None else ")"))

    def _repr_html_(self):
        from kerasdoctor.report.notebook import lr_find_notebook_html

        return lr_find_notebook_html(self.to_dict())

    def to_dict(self):
        return to_jsonable({
            "suggestion": self.suggestion, "low": self.low, "high": self.high, "rule": self.rule,
            "suggestions": self.suggestions, "stopped_early": self.stopped_early, "steps": self.steps,
            "diverged_at": self.diverged_at,
            "learning_rates": self.learning_rates, "losses": self.losses, "raw_losses": self.raw_losses,
        })

    def plot(self, path=None):
        """The smoothed loss against the learning rate (log scale), with the bracket.

        Returns the matplotlib Figure; with ``path``, also saves it there (PNG).
        """
        if not can_plot():
            raise KerasDoctorError(f"Plots need matplotlib: {MATPLOTLIB_HINT}.")
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib.figure import Figure

        figure = Figure(figsize=(6, 4), dpi=100)
        axes = figure.add_subplot()
        axes.plot(self.learning_rates, self.raw_losses, color="0.8", lw=1, label="loss")
        axes.plot(self.learning_rates, self.losses, color="C0", lw=2, label="smoothed")
        axes.axvspan(self.low, self.high, color="C2", alpha=0.15, label="bracket")
        axes.axvline(self.suggestion, color="C2", lw=1.5, label=f"{self.rule}: {self.suggestion:.2g}")
        axes.set_xscale("log")
        finite = [v for v in self.losses if math.isfinite(v)]
        if finite:
            top = min(max(finite), 3 * finite[0]) if finite[0] > 0 else max(finite)
            axes.set_ylim(min(finite) - 0.05 * abs(min(finite)), top * 1.05)
        axes.set_xlabel("learning rate")
        axes.set_ylabel("training loss")
        axes.set_title("Learning-rate range test")
        axes.legend(loc="best", fontsize=8)
        figure.tight_layout()
        if path is not None:
            figure.savefig(path)
        return figure


def _batch_rows(size, batch_size, count, seed):
    """``count`` rows of ``batch_size`` indices drawn from shuffled passes over the data."""
    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(size) for _ in range(-(-count * batch_size // size))])
    return order[: count * batch_size].reshape(count, batch_size)


class _SweepBatches(keras.utils.PyDataset):
    """The sweep's batches, one per step, for ``fit``."""

    def __init__(self, x, y, rows):
        super().__init__()
        self.x, self.y, self.rows = x, y, rows

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, index):
        return take_rows(self.x, self.rows[index]), take_rows(self.y, self.rows[index])


class _Sweep:
    """The rates of the sweep, the losses seen, and when to stop."""

    def __init__(self, start_lr, factor, smoothing, diverge_factor, num_steps, progress):
        self.start_lr, self.factor, self.smoothing, self.diverge_factor = start_lr, factor, smoothing, diverge_factor
        self.num_steps, self.progress = num_steps, progress
        self.rates, self.raw, self.smooth = [], [], []
        self.average, self.best, self.stopped = 0.0, math.inf, False

    def rate(self, step):
        return self.start_lr * self.factor**step

    def record(self, step, loss):
        """Records the loss of ``step``; returns True when the sweep should stop."""
        self.average = self.smoothing * self.average + (1 - self.smoothing) * loss
        smoothed = self.average / (1 - self.smoothing ** (step + 1)) if self.smoothing else loss
        self.rates.append(self.rate(step))
        self.raw.append(loss)
        self.smooth.append(smoothed)
        if self.progress is not None:
            self.progress(step + 1, self.num_steps)
        if not math.isfinite(smoothed) or (step > 0 and smoothed > self.diverge_factor * self.best):
            self.stopped = True
            return True
        self.best = min(self.best, smoothed)
        return False


class _SweepCallback(keras.callbacks.Callback):
    """Sets each step's rate and reads each step's loss inside ``fit``."""

    def __init__(self, sweep):
        super().__init__()
        self.sweep, self.previous = sweep, 0.0

    def on_train_batch_begin(self, batch, logs=None):
        # With JAX, reading .model syncs the state, so the step reads the rate set here.
        self.model.optimizer.learning_rate = self.sweep.rate(batch)

    def on_train_batch_end(self, batch, logs=None):
        # logs["loss"] is the mean over the epoch's batches so far (all of one size): this
        # batch's loss is the change in their sum.
        mean = float(logs["loss"])
        loss, self.previous = (batch + 1) * mean - batch * self.previous, mean
        if self.sweep.record(batch, loss):
            self.model.stop_training = True


def _run_sweep(model, batches, sweep):
    """Trains one batch per step with the sweep's rates.

    Through ``fit`` (a PyDataset of the sweep's batches, or a generator of a pipeline's): the
    compiled train step is the one a later ``fit`` at the same batch size uses, so the sweep
    costs no extra compilation. With ``steps_per_execution`` > 1 a callback sees one batch in
    N, so that case steps with ``train_on_batch``.
    """
    if getattr(model, "steps_per_execution", 1) == 1:
        history = getattr(model, "history", None)
        steps = {} if isinstance(batches, keras.utils.PyDataset) else {"steps_per_epoch": sweep.num_steps}
        model.fit(batches, epochs=1, verbose=0, shuffle=False, callbacks=[_SweepCallback(sweep)], **steps)
        model.history = history
        return
    for step, batch in zip(range(sweep.num_steps), batches):
        model.optimizer.learning_rate = sweep.rate(step)
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(tuple(batch) if isinstance(batch, list) else batch)
        logs = model.train_on_batch(x, y, sample_weight=sample_weight, return_dict=True)
        if sweep.record(step, float(logs["loss"])):
            return


def _first_inputs(x, y):
    """One sample's inputs (to build a model without an Input), and the pipeline to sweep over
    (a generator read for it is replayed)."""
    if y is not None:
        return keras.tree.map_structure(lambda a: a[:1], x), x  # one row of each input (a dict or a list)
    sample = pipelines.read_sample(x, max_batches=1, max_rows=1)
    return keras.tree.map_structure(lambda a: a[:1], sample.x), (sample.replacement or x)


def _check_arguments(start_lr, end_lr, num_steps, smoothing, diverge_factor, rule):
    if not 0 < start_lr < end_lr:
        raise KerasDoctorError(
            f"The sweep needs 0 < start_lr < end_lr. Received: start_lr={start_lr}, end_lr={end_lr}")
    if not (isinstance(num_steps, int) and 10 <= num_steps <= 10_000):
        raise KerasDoctorError(f"num_steps must be an integer in [10, 10000]. Received: num_steps={num_steps}")
    if not 0 <= smoothing < 1:
        raise KerasDoctorError(f"smoothing must be in [0, 1). Received: smoothing={smoothing}")
    if not diverge_factor > 1:
        raise KerasDoctorError(f"diverge_factor must be greater than 1. Received: diverge_factor={diverge_factor}")
    if rule not in SUGGESTIONS:
        raise KerasDoctorError(f"Unknown suggestion rule {rule!r}. Known: {', '.join(SUGGESTIONS)}")


def _optimizer_of(model):
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not getattr(model, "compiled", False):
        raise KerasDoctorError("lr_find needs a compiled model: call model.compile(optimizer=..., loss=...) first.")
    if isinstance(optimizer.learning_rate, keras.optimizers.schedules.LearningRateSchedule) or callable(
            getattr(optimizer, "_learning_rate", None)):
        raise KerasDoctorError(
            "lr_find sets the learning rate step by step, so the optimizer needs a constant one; "
            "this one uses a LearningRateSchedule. Compile a copy with a float learning rate for the sweep.")
    return optimizer


def lr_find(
    model, x, y=None, *, batch_size=32, start_lr=START_LR, end_lr=END_LR, num_steps=NUM_STEPS, smoothing=0.9,
    diverge_factor=4.0, rule=RULE, seed=0, progress=None,
):
    """Runs a learning-rate range test on ``model`` and restores it afterwards.

    Args:
        model: a compiled Keras model with a constant learning rate.
        x, y: training data (arrays, or a dict of arrays for x); or ``x`` a pipeline with ``y``
            None: a ``tf.data.Dataset``, ``keras.utils.PyDataset``, torch ``DataLoader``, a
            generator or a function that returns one. The sweep then takes the pipeline's
            batches in order, pass after pass (a generator: its one pass), at the pipeline's
            own batch size; a smaller last batch of a pass slightly misweighs that step's loss.
        batch_size: the batch size of the sweep (use the one you will train with); arrays only.
        start_lr, end_lr: the range swept, exponentially.
        num_steps: the largest number of steps (one batch each).
        smoothing: the factor of the exponential moving average of the loss (0: none).
        diverge_factor: stop once the smoothed loss exceeds this many times its best.
        rule: the suggestion rule, one of ``midway`` (the default: halfway, in log scale, from the
            steepest fall to the lowest loss; docs/benchmarks.md compares the rules), ``steep``,
            ``valley``, ``minimum/10``.
        seed: for the order of the batches.
        progress: an optional callable ``(step, num_steps)`` called after each step.

    Returns:
        An ``LRFindResult`` with ``suggestion``, ``low``, ``high``, ``learning_rates``,
        ``losses`` (smoothed), ``raw_losses``, every rule's suggestion and ``plot()``.
    """
    _check_arguments(start_lr, end_lr, num_steps, smoothing, diverge_factor, rule)
    optimizer = _optimizer_of(model)
    if y is None and pipelines.pipeline_kind(x) is None and not callable(x):
        raise KerasDoctorError("lr_find needs labels y with arrays x, or x a pipeline (tf.data.Dataset, "
                               f"PyDataset, DataLoader, a generator). Received: x of type {type(x).__name__}, y=None")
    if y is not None and count_rows(y) < batch_size:
        batch_size = count_rows(y)
    first, x = _first_inputs(x, y) if not model.built or y is None else (None, x)
    if not model.built:  # a Sequential without an Input: its weights exist after a first call
        model.predict_on_batch(first)
    weights = [np.array(w, copy=True) for w in model.get_weights()]
    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    optimizer_state = [np.array(keras.ops.convert_to_numpy(v), copy=True) for v in optimizer.variables]
    original_lr = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    factor = (end_lr / start_lr) ** (1.0 / (num_steps - 1))
    sweep = _Sweep(start_lr, factor, smoothing, diverge_factor, num_steps, progress)
    try:
        batches = (pipelines.repeat_batches(x) if y is None
                   else _SweepBatches(x, y, _batch_rows(count_rows(y), batch_size, num_steps, seed)))
        _run_sweep(model, batches, sweep)
    except Exception as error:  # shapes that do not fit the model, a broken loss, ...
        raise KerasDoctorError(
            f"Training a batch failed during the learning-rate sweep: {describe_error(error)}. "
            "Check that the data shapes match the model's input and output "
            "(keras-doctor check diagnoses the usual mismatches).") from None
    finally:
        model.set_weights(weights)
        for variable, value in zip(optimizer.variables, optimizer_state):
            variable.assign(value)
        optimizer.learning_rate = original_lr
        model.reset_metrics()
        model.stop_training = False
    ran_out = not sweep.stopped and len(sweep.raw) < num_steps and all(map(math.isfinite, sweep.raw))
    return _result(sweep.rates, sweep.smooth, sweep.raw, rule, sweep.stopped, smoothing, ran_out=ran_out)


def _result(rates, smooth, raw, rule, stopped, smoothing, ran_out=False):
    # The sweep stops at the first non-finite loss, so only the last point can be one.
    finite = len(raw) - (0 if raw and math.isfinite(raw[-1]) else 1)
    if finite < 3 and ran_out:
        raise KerasDoctorError(
            f"The learning-rate sweep ran out of batches after {len(raw)} step(s): the pipeline (a "
            "generator is one pass) must yield at least 3 batches; pass a generator function to sweep "
            "pass after pass.")
    if finite < 3:
        raise KerasDoctorError(
            "The learning-rate sweep produced fewer than 3 finite losses: the loss is NaN from the "
            "start. Check the data for NaN (keras-doctor check) before searching a learning rate.")
    # The online average decides when to stop; suggestions read a lag-free smoothing of the
    # raw losses (the online one trails the raw curve toward larger rates).
    # They also end where the raw loss first exceeds 4x its best: a lag-free smoothing would
    # otherwise carry the blown-up tail back into the valley.
    best, end = math.inf, finite
    for index in range(finite):
        if raw[index] > DIVERGED * best:
            end = max(index, 3)
            break
        best = min(best, raw[index])
    rates_kept = rates[:end]
    smooth_kept = [float(v) for v in zero_lag(raw[:end], SUGGESTION_SMOOTHING)]
    suggestions = {name: function(rates_kept, smooth_kept) for name, function in SUGGESTIONS.items()}
    suggestion = suggestions[rule]
    # Single suggestions vary 2-3x between runs: the bracket spans that, capped at the
    # rate of the lowest loss (beyond it the loss rises).
    at_minimum = rates_kept[int(np.argmin(smooth_kept))]
    low = suggestion / 3.0
    high = max(min(suggestion * 3.0, at_minimum), suggestion)
    diverged_at = rates[end] if end < len(rates) else None
    return LRFindResult(list(rates_kept), smooth_kept, list(raw[:end]), suggestion, low, high, rule, suggestions,
                        stopped, steps=len(rates), diverged_at=diverged_at)


def confirm(build, data, rates, *, epochs=2, batch_size=32, seed=0, progress=None):
    """Settles a bracket with short runs: trains ``build()`` at each rate in ``rates`` for
    ``epochs`` and returns {'learning_rates', 'values', 'metric', 'chosen'}.

    The value is the best validation accuracy (or the lowest validation loss when the
    model tracks no accuracy) of each run: the objective of ``vocabulary.objective``.
    ``progress``: an optional callable ``(epochs_done, epochs_total, rate)`` called after each epoch.
    """
    from kerasdoctor.tune.space import recompile

    values, metric, best = [], None, max
    total = len(rates) * epochs
    for index, rate in enumerate(rates):
        keras.utils.set_random_seed(seed)
        model = recompile(build(), learning_rate=rate)
        callbacks = [] if progress is None else [keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs, done=index * epochs, rate=rate: progress(done + epoch + 1, total, rate))]
        batching = {} if data.is_pipeline else {"batch_size": batch_size}
        history = model.fit(**data.fit_arguments(), epochs=epochs, verbose=0, callbacks=callbacks,
                            **batching).history
        if metric is None:
            metric, direction = objective(history)
            best = max if direction == "max" else min
        series = [v for v in history.get(metric, []) if math.isfinite(v)]
        values.append(best(series) if series else (-math.inf if best is max else math.inf))
    pick = best
    chosen = rates[values.index(pick(values))]
    return {"learning_rates": list(rates), "values": values, "metric": metric, "chosen": chosen}
