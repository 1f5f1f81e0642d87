"""BROKEN: inputs that were never scaled (raw 0-255 pixel values).

What is wrong: the digits are given as 8-bit intensities in [0, 255] instead of
[0, 1] or standardised values. The first layer's pre-activations are ~100x too
large, so with SGD the first updates are huge: the loss jumps and the ReLU
units die or the training diverges.
Fix: divide by 255 or add a `keras.layers.Normalization` layer adapted on the data.
"""

import keras
from sklearn.datasets import load_digits

FIT = {"epochs": 10, "batch_size": 32}


def load_data():
    x, y = load_digits(return_X_y=True)
    return (x * (255.0 / 16.0)).astype("float32"), y.astype("int32")


def build_model(hp=None):
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ],
        name="unscaled_inputs",
    )
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.9),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model
