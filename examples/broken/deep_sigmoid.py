"""BROKEN: a deep all-sigmoid network that cannot learn.

What is wrong: ten stacked sigmoid layers. The sigmoid's derivative is at most
0.25, so the gradient shrinks by roughly that factor at every layer and the
first layers get almost none of it (vanishing gradients). With plain SGD the
loss stays near chance (ln 10 = 2.30) for many epochs.
Fix: ReLU activations with He initialisation, or fewer layers, or batch norm.
"""

import keras
from sklearn.datasets import load_digits

FIT = {"epochs": 10, "batch_size": 32}


def load_data():
    x, y = load_digits(return_X_y=True)
    return (x / 16.0).astype("float32"), y.astype("int32")


def build_model(hp=None):
    layers = [keras.Input((64,))]
    layers += [keras.layers.Dense(32, activation="sigmoid") for _ in range(10)]
    layers += [keras.layers.Dense(10, activation="softmax")]
    model = keras.Sequential(layers, name="deep_sigmoid")
    model.compile(
        optimizer=keras.optimizers.SGD(0.01),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model
