"""A rich progress bar as a Keras callback.

It updates on batch *begin*: a callback with an on_train_batch_end hook would
turn off Keras's asynchronous dispatch and slow every step.
"""

import keras

from kerasdoctor.vocabulary import is_accuracy
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


def make_progress(console):
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


class ProgressCallback(keras.callbacks.Callback):
    def __init__(self, progress, description="training"):
        super().__init__()
        self.progress = progress
        self.description = description

    def on_train_begin(self, logs=None):
        epochs = self.params.get("epochs") or 1
        steps = self.params.get("steps") or 0
        self.task = self.progress.add_task(self.description, total=epochs * max(steps, 1), status="")
        self.steps = max(steps, 1)
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        self.progress.update(self.task, completed=self.epoch * self.steps + batch)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        status = "  ".join(f"{k}={float(v):.4g}" for k, v in logs.items() if k in ("loss", "val_loss") or is_accuracy(k))
        self.progress.update(self.task, completed=(epoch + 1) * self.steps, status=f"epoch {epoch + 1}  {status}")
