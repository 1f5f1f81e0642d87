"""A learning-rate schedule applied to an already compiled model, batch by batch."""

import keras
import numpy as np


class ScheduleCallback(keras.callbacks.Callback):
    """Sets the optimizer's learning rate from ``schedule`` before every training batch.

    Keras evaluates a ``LearningRateSchedule`` inside the compiled train step, so giving a
    compiled model a schedule means a new optimizer and a new compilation. This callback
    keeps the optimizer (which must have a constant rate) and its compiled step, and writes
    ``schedule(step)`` into the rate before each batch; ``step`` counts the batches of this
    callback's ``fit`` calls from 0. Keras's ``LearningRateScheduler`` does the same once
    per epoch. With JAX, the trainer writes its state back to the variables before each
    batch for this; on a small model that cost 5-13% of the step time (docs/benchmarks.md),
    far less than a recompilation over a short run.

    Args:
        schedule: a ``keras.optimizers.schedules.LearningRateSchedule`` (e.g.
            ``kerasdoctor.schedules.OneCycle``) or any callable ``step -> rate`` that
            accepts an array of steps.

    Example:

    ```python
    schedule = kerasdoctor.schedules.OneCycle(1e-2, total_steps=epochs * steps_per_epoch)
    model.fit(x, y, epochs=epochs, callbacks=[ScheduleCallback(schedule)])
    ```
    """

    CHUNK = 1024  # rates computed at once (one vectorized call instead of one per batch)

    def __init__(self, schedule):
        super().__init__()
        if not callable(schedule):
            raise ValueError(f"Argument `schedule` must be a LearningRateSchedule or a callable. Received: {schedule!r}")
        self.schedule = schedule
        self.step = 0  # steps trained so far, over every fit this callback has seen
        self._epoch_first = 0
        self._rates, self._first = np.empty(0), 0

    def rate(self, step):
        if not self._first <= step < self._first + len(self._rates):
            steps = np.arange(step, step + self.CHUNK, dtype="float32")
            self._rates = np.asarray(keras.ops.convert_to_numpy(self.schedule(steps)), dtype="float64").reshape(-1)
            self._first = step
        return float(self._rates[step - self._first])

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_first = self.step

    def on_train_batch_begin(self, batch, logs=None):
        # ``batch`` is the epoch's step index; with ``steps_per_execution`` the hooks run once per
        # execution, with its first step here and its last at the end, so the rate holds for
        # the execution and the count stays in steps.
        # Reading .model syncs the JAX state first, so the next step reads the new rate.
        self.model.optimizer.learning_rate = self.rate(self._epoch_first + batch)

    def on_train_batch_end(self, batch, logs=None):
        self.step = self._epoch_first + batch + 1
