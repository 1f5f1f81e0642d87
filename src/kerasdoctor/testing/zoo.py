"""A random-model zoo for the diagnosis' precision: models nobody tuned the rules on.

Modelled on how AUTOTRAINER (Zhang et al., ICSE 2021) built its 495 models: small offline
tasks, random architectures and random training configurations, each generated from a seed
and labelled by its own outcome. The distributions, the tasks' best known scores and the
labelling thresholds below were fixed before any rule was changed against the zoo.

```python
from kerasdoctor.testing.zoo import zoo_model
spec = zoo_model(7)              # a ZooSpec: task, layers, optimizer, batch size, epochs
workload = spec.workload()       # the object `check` runs
spec.healthy(history)            # the label, from the run's own epoch logs
```
"""

import math
from dataclasses import asdict, dataclass

import keras
import numpy as np

from kerasdoctor.testing.bases import MULTICLASS, REGRESSION, _scaled, _split
from kerasdoctor.workload.loader import Workload

# The best validation score known for each task (accuracy; R^2 for regression), from the
# scikit-learn documentation's examples and common results on these sets, fixed up front.
TASKS = {
    "circles": (MULTICLASS, 0.98),
    "moons": (MULTICLASS, 0.97),
    "blobs": (MULTICLASS, 0.99),
    "breast_cancer": (MULTICLASS, 0.97),
    "wine": (MULTICLASS, 0.98),
    "digits": (MULTICLASS, 0.97),
    "digits_image": (MULTICLASS, 0.98),
    "diabetes": (REGRESSION, 0.45),
    "friedman": (REGRESSION, 0.90),
}
# Labelling: healthy when the best validation score reaches this share of the task's best
# known, and the final one this share of the run's own best.
HEALTHY_OF_BEST_KNOWN = 0.9
HEALTHY_FINAL_OF_OWN_BEST = 0.95
ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "selu", "leaky_relu")
INITIALIZERS = ("glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "lecun_normal")
OPTIMIZERS = ("sgd", "momentum", "adam", "adagrad", "rmsprop", "nadam", "adadelta")
BATCH_SIZES = (8, 16, 32, 64, 128, 256)
WIDTHS = (8, 16, 32, 64, 128)
MAX_STEPS = 30_000
# Training samples of each task after the 75/25 split (for the step budget).
TRAIN_SAMPLES = {"circles": 750, "moons": 750, "blobs": 750, "breast_cancer": 426, "wine": 133,
                 "digits": 1347, "digits_image": 1347, "diabetes": 331, "friedman": 750}


def _load(task, seed):
    from sklearn import datasets

    if task == "circles":
        x, y = datasets.make_circles(n_samples=1000, noise=0.1, factor=0.5, random_state=seed)
    elif task == "moons":
        x, y = datasets.make_moons(n_samples=1000, noise=0.2, random_state=seed)
    elif task == "blobs":
        x, y = datasets.make_blobs(n_samples=1000, centers=4, n_features=8, cluster_std=2.0, random_state=seed)
    elif task == "breast_cancer":
        x, y = datasets.load_breast_cancer(return_X_y=True)
    elif task == "wine":
        x, y = datasets.load_wine(return_X_y=True)
    elif task == "diabetes":
        x, y = datasets.load_diabetes(return_X_y=True)
        y = (y - y.mean()) / y.std()
    elif task == "friedman":
        x, y = datasets.make_friedman1(n_samples=1000, noise=1.0, random_state=seed)
        y = (y - y.mean()) / y.std()
    else:  # digits, digits_image
        x, y = datasets.load_digits(return_X_y=True)
    classification = TASKS[task][0] == MULTICLASS
    (x_train, y_train), (x_val, y_val) = _split(x, y, seed, stratify=classification)
    if task == "digits_image":
        x_train, x_val = (x_train / 16.0).reshape(-1, 8, 8, 1), (x_val / 16.0).reshape(-1, 8, 8, 1)
    else:
        x_train, x_val = _scaled(x_train, x_val)
    cast = (lambda a: a.astype("int32")) if classification else (lambda a: a.astype("float32"))
    return (x_train.astype("float32"), cast(y_train)), (x_val.astype("float32"), cast(y_val))


@dataclass(frozen=True)
class ZooSpec:
    """One zoo model: everything needed to build and train it, drawn from ``seed``."""

    seed: int
    task: str
    widths: tuple
    activation: str
    initializer: str
    batch_norm: bool
    dropout: float
    optimizer: str
    learning_rate: float
    batch_size: int
    epochs: int

    @property
    def name(self):
        return f"zoo-{self.seed:04d}-{self.task}"

    def to_dict(self):
        return asdict(self)

    def with_epochs(self, epochs):
        return ZooSpec(**{**self.to_dict(), "epochs": epochs})

    def build(self):
        kind, _ = TASKS[self.task]
        layers = []
        if self.task == "digits_image":
            layers += [keras.Input((8, 8, 1)),
                       keras.layers.Conv2D(self.widths[0], 3, padding="same", activation=self.activation,
                                           kernel_initializer=self.initializer),
                       keras.layers.MaxPooling2D(2), keras.layers.Flatten()]
        widths = self.widths[1:] if self.task == "digits_image" else self.widths
        for width in widths:
            layers.append(keras.layers.Dense(width, activation=self.activation, kernel_initializer=self.initializer))
            if self.batch_norm:
                layers.append(keras.layers.BatchNormalization())
            if self.dropout:
                layers.append(keras.layers.Dropout(self.dropout))
        if kind == REGRESSION:
            layers.append(keras.layers.Dense(1))
            loss, metrics = "mse", ["mae"]
        else:
            layers.append(keras.layers.Dense(_classes(self.task), activation="softmax"))
            loss, metrics = "sparse_categorical_crossentropy", ["accuracy"]
        model = keras.Sequential(layers, name=f"zoo_{self.seed}")
        model.compile(optimizer=self._optimizer(), loss=loss, metrics=metrics)
        return model

    def _optimizer(self):
        if self.optimizer in ("sgd", "momentum"):
            return keras.optimizers.SGD(self.learning_rate, momentum=0.9 if self.optimizer == "momentum" else 0.0)
        return keras.optimizers.get({"class_name": self.optimizer, "config": {"learning_rate": self.learning_rate}})

    def workload(self):
        """A Workload (the object `check` runs); the data split follows the model's seed."""
        fit = {"epochs": self.epochs, "batch_size": self.batch_size}
        return Workload(f"zoo/{self.name}", name=self.name, build=self.build,
                        load=lambda: _load(self.task, self.seed % 5), fit=fit, accepts_hp=False)

    def scores(self, epochs, val_variance=None):
        """Validation accuracy per epoch; for regression R^2 = 1 - val MSE / variance."""
        if TASKS[self.task][0] == REGRESSION:
            return [1 - e["logs"].get("val_loss", math.inf) / val_variance for e in epochs]
        return [e["logs"].get("val_accuracy", 0.0) for e in epochs]

    def healthy(self, scores):
        """The outcome label: True when the run reached a good score and kept it."""
        finite = [s for s in scores if isinstance(s, float) and math.isfinite(s)]
        if not finite or not math.isfinite(scores[-1]):
            return False
        best = max(finite)
        return best >= HEALTHY_OF_BEST_KNOWN * TASKS[self.task][1] and scores[-1] >= HEALTHY_FINAL_OF_OWN_BEST * best


def _classes(task):
    return {"circles": 2, "moons": 2, "blobs": 4, "breast_cancer": 2, "wine": 3}.get(task, 10)


def zoo_model(seed):
    """The zoo model drawn from ``seed``: task, architecture and training configuration."""
    rng = np.random.default_rng(seed)
    task = str(rng.choice(list(TASKS)))
    depth = int(rng.integers(1, 11))
    learning_rate = float(10 ** rng.uniform(-4, 0))
    batch_size = int(rng.choice(BATCH_SIZES))
    epochs = int(round(10 ** rng.uniform(math.log10(20), math.log10(300))))
    steps_per_epoch = math.ceil(TRAIN_SAMPLES[task] / batch_size)
    epochs = max(1, min(epochs, MAX_STEPS // steps_per_epoch))
    return ZooSpec(
        seed=seed, task=task,
        widths=tuple(int(w) for w in rng.choice(WIDTHS, size=depth)),
        activation=str(rng.choice(ACTIVATIONS)),
        initializer=str(rng.choice(INITIALIZERS)),
        batch_norm=bool(rng.random() < 0.2),
        dropout=float(round(rng.uniform(0.1, 0.5), 2)) if rng.random() < 0.2 else 0.0,
        optimizer=str(rng.choice(OPTIMIZERS)),
        learning_rate=learning_rate, batch_size=batch_size, epochs=epochs,
    )
