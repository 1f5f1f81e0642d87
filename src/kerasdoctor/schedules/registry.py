"""The registry of keras-doctor's learning-rate schedules."""

import keras

SCHEDULES = {}


def register(cls):
    SCHEDULES[cls.__name__] = cls
    return keras.saving.register_keras_serializable(package="kerasdoctor")(cls)
