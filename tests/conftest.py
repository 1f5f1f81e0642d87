import textwrap

import pytest

HEALTHY_WORKLOAD = """
import keras
import numpy as np

FIT = {"epochs": 2, "batch_size": 16}

def load_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 4)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int32")
    return x, y

def build_model(hp=None):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
"""


@pytest.fixture
def write_workload(tmp_path):
    """Writes a workload file from source text and returns its path."""

    def write(source, name="workload.py"):
        path = tmp_path / name
        path.write_text(textwrap.dedent(source))
        return path

    return write


@pytest.fixture
def healthy_source():
    return HEALTHY_WORKLOAD
