"""Changes to a compiled model for tuning and comparisons: optimizer, learning rate, initializer.

Each returns the same model, changed in place (callers work on fresh copies from
``build_model``), and raises ``KerasDoctorError`` with the known names on a bad one.
"""

import keras
import numpy as np

from kerasdoctor import initializers as kd_initializers
from kerasdoctor import optimizers as kd_optimizers
from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.optimizers.registry import OPTIMIZERS

KERAS_OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "nadam", "adamax", "rmsprop", "adagrad",
                    "adadelta", "adafactor", "lion", "lamb", "ftrl", "muon")
OWN = {name.lower(): name for name in OPTIMIZERS}
OWN.update({"schedule_free_sgd": "ScheduleFreeSGD", "schedulefreesgd": "ScheduleFreeSGD"})
KERNEL_LAYERS = (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)
INITIALIZERS = ("glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "lecun_normal", "lecun_uniform",
                "orthogonal", "random_normal", "random_uniform", "truncated_normal", "lsuv", "fit")


def optimizer_names():
    return sorted(set(KERAS_OPTIMIZERS) | set(OWN))


def make_optimizer(name, learning_rate):
    """A fresh optimizer by name: Keras's own (``sgd``, ``adam``, ...; ``momentum`` and
    ``nesterov`` are SGD with momentum 0.9) or keras-doctor's (``radam``, ``adabelief``, ...)."""
    key = name.lower().replace("-", "_")
    if key == "momentum":
        return keras.optimizers.SGD(learning_rate, momentum=0.9)
    if key == "nesterov":
        return keras.optimizers.SGD(learning_rate, momentum=0.9, nesterov=True)
    if key in OWN:
        return getattr(kd_optimizers, OWN[key])(learning_rate=learning_rate)
    if key in KERAS_OPTIMIZERS:
        return keras.optimizers.get({"class_name": key, "config": {"learning_rate": learning_rate}})
    raise KerasDoctorError(f"Unknown optimizer {name!r}. Known: {', '.join(optimizer_names())}.")


def learning_rate_of(model):
    value = model.optimizer.learning_rate
    try:
        return float(keras.ops.convert_to_numpy(value))
    except (TypeError, ValueError):
        return None


def recompile(model, optimizer=None, learning_rate=None):
    """Compiles ``model`` again with another optimizer and/or learning rate; loss and metrics kept."""
    if optimizer is None and learning_rate is None:
        return model
    if learning_rate is not None and not learning_rate > 0:
        raise KerasDoctorError(f"A learning rate must be positive. Received: learning_rate={learning_rate}")
    if optimizer is None:
        current = model.optimizer
        config = current.get_config()
        config["learning_rate"] = learning_rate
        new = type(current).from_config(config)
    else:
        new = make_optimizer(optimizer, learning_rate or learning_rate_of(model) or 1e-3)
    config = model.get_compile_config()
    config["optimizer"] = keras.optimizers.serialize(new)
    model.compile_from_config(config)
    return model


def _kernel_layers(model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _kernel_layers(layer)
        elif isinstance(layer, KERNEL_LAYERS):
            yield layer


def reinitialize(model, initializer, x_batch=None, seed=0):
    """Draws every Dense/Conv kernel again with ``initializer``; ``lsuv`` needs ``x_batch``,
    ``fit`` picks He/LeCun/Glorot from each layer's activation."""
    name = initializer.lower()
    if name == "lsuv":
        if x_batch is None:
            raise KerasDoctorError("The lsuv initializer needs a batch of training inputs.")
        kd_initializers.lsuv(model, x_batch, seed=seed)
        return model
    if name == "fit":
        kd_initializers.fit_initializers(model)
        return model
    if name not in INITIALIZERS:
        raise KerasDoctorError(f"Unknown initializer {initializer!r}. Known: {', '.join(INITIALIZERS)}.")
    for index, layer in enumerate(_kernel_layers(model)):
        draw = keras.initializers.get({"class_name": name, "config": {"seed": seed + index}})
        kernel = layer.kernel
        kernel.assign(np.asarray(keras.ops.convert_to_numpy(draw(kernel.shape, kernel.dtype))))
    return model
