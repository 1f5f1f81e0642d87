"""A recommended training recipe: a batch size, a one-cycle peak from a range test, and a
way to train that pays for one compilation of each step.

``recommend`` picks the batch size (the largest power of two, at most ``max_batch``, that
still gives ``min_steps`` steps per epoch), runs ``lr_find`` at that batch size on the model
to be trained (restored afterwards), and takes the top of its bracket as the one-cycle peak:
Smith & Topin (2018) set the peak at the largest rate at which the range test's loss still
falls, well above the best constant rate. ``TrainingRecipe.fit`` then trains:

- the one-cycle rate is written before each batch (``ScheduleCallback``), so the model keeps
  the optimizer, and the step compiled during the range test, instead of recompiling for a
  schedule;
- the batches are reshuffled every epoch and the last, smaller one is left out, so the step
  is compiled for one batch shape (the leftover rows change from epoch to epoch);
- the validation set is evaluated in one batch when it has at most ``MAX_VALIDATION_BATCH``
  rows (one compilation of the test step, no partial batch).
"""

from dataclasses import asdict, dataclass

import keras
import numpy as np

from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.schedules import OneCycle, ScheduleCallback
from kerasdoctor.tune.lr_find import lr_find
from kerasdoctor.workload.data import count_rows, take_rows

BATCH_SIZES = (16, 32, 64, 128, 256, 512)
MAX_VALIDATION_BATCH = 2048


@dataclass
class TrainingRecipe:
    batch_size: int
    max_learning_rate: float
    epochs: int
    steps_per_epoch: int
    lr_find_steps: int
    lr_find_suggestion: float = None

    def to_dict(self):
        return asdict(self)

    def schedule(self):
        return OneCycle(self.max_learning_rate, total_steps=max(self.epochs * self.steps_per_epoch, 2))

    def callback(self):
        """The one-cycle schedule as a callback for a compiled model (no recompilation)."""
        return ScheduleCallback(self.schedule())

    def apply(self, model):
        """Recompiles ``model`` with its optimizer class under the one-cycle schedule (this
        compiles the train step again; ``fit`` and ``callback`` do not)."""
        config = model.optimizer.get_config()
        config["learning_rate"] = self.schedule()
        optimizer = type(model.optimizer).from_config(config)
        compile_config = model.get_compile_config()
        compile_config["optimizer"] = keras.optimizers.serialize(optimizer)
        model.compile_from_config(compile_config)
        return model

    def fit(self, model, x, y, *, validation_data=None, callbacks=(), seed=0, verbose=0, epochs=None):
        """Trains the compiled ``model`` (constant learning rate) with this recipe; returns the History.

        ``epochs``: train this many (default: the recipe's); past the schedule's end the rate
        stays at its last value."""
        batches = ShuffledBatches(x, y, self.batch_size, seed=seed)
        validation_batch_size = None
        if validation_data is not None and len(validation_data[1]) <= MAX_VALIDATION_BATCH:
            validation_batch_size = len(validation_data[1])
        return model.fit(batches, epochs=epochs or self.epochs, validation_data=validation_data,
                         validation_batch_size=validation_batch_size, verbose=verbose,
                         callbacks=[self.callback(), *callbacks])


class ShuffledBatches(keras.utils.PyDataset):
    """Full batches of ``batch_size`` rows, reshuffled every epoch; the leftover rows (fewer
    than a batch) sit out that epoch."""

    def __init__(self, x, y, batch_size, seed=0):
        super().__init__()
        if count_rows(y) < batch_size:
            raise ValueError(f"{count_rows(y)} samples are fewer than one batch of {batch_size}.")
        self.x, self.y, self.batch_size = x, y, batch_size
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(count_rows(y))

    def __len__(self):
        return len(self.y) // self.batch_size

    def __getitem__(self, index):
        rows = np.sort(self.order[index * self.batch_size:(index + 1) * self.batch_size])
        return take_rows(self.x, rows), take_rows(self.y, rows)

    def on_epoch_end(self):
        self.order = self.rng.permutation(len(self.y))


def choose_batch_size(samples, *, min_steps=20, max_batch=256):
    fitting = [b for b in BATCH_SIZES if b <= max_batch and samples / b >= min_steps]
    return fitting[-1] if fitting else BATCH_SIZES[0]


def recommend(build, data, *, epochs, seed=0, min_steps=20, max_batch=256, model=None):
    """Chooses the batch size and the one-cycle peak rate for ``build()`` on ``data``.

    ``model``: the compiled model you will train, to run the range test on (restored
    afterwards, and its compiled step reused by ``TrainingRecipe.fit``); by default a fresh
    ``build()``.
    """
    if getattr(data, "is_pipeline", False):
        raise KerasDoctorError("recommend chooses a batch size, so it needs arrays; a pipeline makes its own "
                               "batches: run lr_find on it for the learning rate.")
    samples = count_rows(data.y_train)
    batch_size = min(choose_batch_size(samples, min_steps=min_steps, max_batch=max_batch), samples)
    if model is None:
        keras.utils.set_random_seed(seed)
        model = build()
    found = lr_find(model, data.x_train, data.y_train, batch_size=batch_size, seed=seed)
    return TrainingRecipe(batch_size, found.high, epochs, samples // batch_size, found.steps,
                          found.suggestion)
