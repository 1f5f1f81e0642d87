"""Workload sources that tests write to files."""

# A workload that trains well in seconds: two Gaussian features decide the class.
SEPARABLE_WORKLOAD = """
import keras
import numpy as np

FIT = {{"epochs": {epochs}, "batch_size": {batch_size}}}


def load_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=({rows}, 8)).astype("float32")
    return x, (x[:, 0] + x[:, 1] > 0).astype("int32")


def build_model(hp=None):
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
"""


def separable_source(*, rows=1000, epochs=2, batch_size=16):
    return SEPARABLE_WORKLOAD.format(rows=rows, epochs=epochs, batch_size=batch_size)
