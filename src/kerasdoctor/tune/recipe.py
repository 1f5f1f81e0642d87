"""A recommended training recipe: a batch size, a learning rate from a range test, one-cycle.

``recommend`` picks the batch size (the largest power of two that still gives at least
``min_steps`` steps per epoch, at most ``max_batch``), runs ``lr_find`` at that batch size
on a fresh model, and returns the peak learning rate for a one-cycle schedule (Smith &
Topin, 2018). ``apply`` recompiles a model with that schedule.
"""

from dataclasses import asdict, dataclass

import keras

from kerasdoctor.schedules import OneCycle
from kerasdoctor.tune.lr_find import lr_find

BATCH_SIZES = (16, 32, 64, 128, 256, 512)


@dataclass
class TrainingRecipe:
    batch_size: int
    max_learning_rate: float
    epochs: int
    steps_per_epoch: int
    lr_find_steps: int

    def to_dict(self):
        return asdict(self)

    def apply(self, model):
        """Recompiles ``model`` with its optimizer class under a one-cycle schedule."""
        schedule = OneCycle(self.max_learning_rate, total_steps=max(self.epochs * self.steps_per_epoch, 2))
        config = model.optimizer.get_config()
        config["learning_rate"] = schedule
        optimizer = type(model.optimizer).from_config(config)
        compile_config = model.get_compile_config()
        compile_config["optimizer"] = keras.optimizers.serialize(optimizer)
        model.compile_from_config(compile_config)
        return model


def choose_batch_size(samples, *, min_steps=10, max_batch=256):
    fitting = [b for b in BATCH_SIZES if b <= max_batch and samples / b >= min_steps]
    return fitting[-1] if fitting else BATCH_SIZES[0]


def recommend(build, data, *, epochs, seed=0, min_steps=10, max_batch=256, model=None):
    """Chooses the batch size and the one-cycle peak rate for ``build()`` on ``data``.

    ``model``: an already built model to run the range test on (restored afterwards) —
    pass the model you will train to reuse its compiled step.
    """
    samples = len(data.y_train)
    batch_size = choose_batch_size(samples, min_steps=min_steps, max_batch=max_batch)
    if model is None:
        keras.utils.set_random_seed(seed)
        model = build()
    found = lr_find(model, data.x_train, data.y_train, batch_size=batch_size, seed=seed)
    steps = -(-samples // batch_size)
    return TrainingRecipe(batch_size, found.suggestion, epochs, steps, len(found.learning_rates))
