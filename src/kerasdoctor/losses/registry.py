"""The registry of keras-doctor's losses: registering also makes a class serializable."""

import keras

LOSSES = {}


def register(cls):
    """Adds ``cls`` to LOSSES and registers it for Keras (de)serialization."""
    LOSSES[cls.__name__] = cls
    return keras.saving.register_keras_serializable(package="kerasdoctor")(cls)
