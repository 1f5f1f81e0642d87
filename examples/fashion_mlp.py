"""A healthy MLP on Fashion-MNIST (60,000 training images, 10,000 for validation).

The data comes from the Debian package `dataset-fashion-mnist` (offline). Reaches
about 86% validation accuracy within FIT.
"""

import keras

from kerasdoctor.testing import fashion

FIT = {"epochs": 5, "batch_size": 128}
DATA_DIR = fashion.data_dir()  # $FASHION_MNIST_DIR, else the Debian package's folder


def load_data():
    return fashion.load(DATA_DIR)


def build_model(hp=None):
    model = keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ],
        name="fashion_mlp",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model
