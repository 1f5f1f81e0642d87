"""A healthy binary classifier on scikit-learn's breast-cancer data (569 samples, 30 features).

Features are standardised with statistics of the training split only.
"""

import keras
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

FIT = {"epochs": 30, "batch_size": 32}


def load_data():
    x, y = load_breast_cancer(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=0.2, stratify=y, random_state=0
    )
    scaler = StandardScaler().fit(x_train)
    return (
        (scaler.transform(x_train).astype("float32"), y_train.astype("float32")),
        (scaler.transform(x_val).astype("float32"), y_val.astype("float32")),
    )


def build_model(hp=None):
    model = keras.Sequential(
        [
            keras.Input((30,)),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ],
        name="breast_cancer_mlp",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model
