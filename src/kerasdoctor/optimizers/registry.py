"""The registry of keras-doctor's optimizers: registering also makes a class serializable."""

import keras

OPTIMIZERS = {}


def register(cls):
    """Adds ``cls`` to OPTIMIZERS and registers it for Keras (de)serialization."""
    OPTIMIZERS[cls.__name__] = cls
    return keras.saving.register_keras_serializable(package="kerasdoctor")(cls)


def copies_of(optimizer, var_list, name):
    """Optimizer variables that start as copies of the model's weights.

    The value is set by the variable's initializer, not by an ``assign`` after
    creation: on TensorFlow, ``build`` can run while a training function is
    being traced, and such an assign was measured to leave the copy at zero.
    """
    copies = []
    for variable in var_list:
        if getattr(variable, "overwrite_with_gradient", False):
            copies.append(None)
            continue
        # ops.copy: a buffer of its own (JAX's trainer donates each state buffer once).
        initializer = lambda shape, dtype=None, source=variable: keras.ops.copy(
            keras.ops.cast(keras.ops.convert_to_tensor(source), dtype or source.dtype)
        )
        copies.append(optimizer.add_variable_from_reference(variable, name, initializer=initializer))
    return copies


def check_decay_rates(**rates):
    """Raises a Keras-style error for a decay rate outside [0, 1)."""
    for argument, value in rates.items():
        if not 0.0 <= value < 1.0:
            raise ValueError(f"Argument `{argument}` must be in the [0, 1) range. Received: {argument}={value}")
