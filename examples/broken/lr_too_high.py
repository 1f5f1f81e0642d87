"""BROKEN: a learning rate 100x too high.

What is wrong: SGD with momentum at learning_rate=10.0 on an MLP whose sensible
rate is about 0.1. The first updates overshoot: within the first epoch the loss
jumps to several times its starting value (2.3) and the model ends up predicting
one class for every digit, at chance, with many of its ReLU units dead. The loss
stays finite (no NaN). `check` reports LEARNING_RATE_TOO_HIGH, with LOSS_DIVERGED
and NOT_LEARNING under it.
Fix: a learning rate near 0.1 (a learning-rate range test finds it), or gradient clipping.
"""

import keras
from sklearn.datasets import load_digits

FIT = {"epochs": 5, "batch_size": 32}


def load_data():
    x, y = load_digits(return_X_y=True)
    return (x / 16.0).astype("float32"), y.astype("int32")


def build_model(hp=None):
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ],
        name="lr_too_high",
    )
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=10.0, momentum=0.9),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model
