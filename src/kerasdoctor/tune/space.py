"""Changes to a compiled model for tuning and comparisons: optimizer, learning rate, initializer.

Each returns the same model, changed in place (callers work on fresh copies from
``build_model``), and raises ``KerasDoctorError`` with the known names on a bad one.
"""

import inspect
import logging

import keras
import numpy as np

from kerasdoctor import initializers as kd_initializers
from kerasdoctor import optimizers as kd_optimizers
from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.optimizers.registry import OPTIMIZERS
from kerasdoctor.vocabulary import KERNEL_VARIABLES, RECURRENT_KERNEL_VARIABLES

logger = logging.getLogger(__name__)

KERAS_OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "nadam", "adamax", "rmsprop", "adagrad",
                    "adadelta", "adafactor", "lion", "lamb", "ftrl", "muon")
OWN = {name.lower(): name for name in OPTIMIZERS}
OWN.update({"schedule_free_sgd": "ScheduleFreeSGD", "schedulefreesgd": "ScheduleFreeSGD"})
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
        return _keras_optimizer_class(key)(learning_rate=learning_rate)
    raise KerasDoctorError(f"Unknown optimizer {name!r}. Known: {', '.join(optimizer_names())}.")


def _keras_optimizer_class(key):
    """Keras's optimizer class by lower-case class name (keras.optimizers.get() knows most of them
    in lower case, but not Lamb), or None."""
    found = {n.lower(): getattr(keras.optimizers, n) for n in dir(keras.optimizers)}.get(key)
    return found if isinstance(found, type) else None


def default_learning_rate(name):
    """The learning rate the optimizer class ``name`` (a class name such as ``Adam``, any case;
    Keras's or keras-doctor's) takes when none is given, or None for a class it does not know."""
    if not isinstance(name, str):
        return None
    key = name.lower().replace("-", "_")
    optimizer = getattr(kd_optimizers, OWN[key], None) if key in OWN else _keras_optimizer_class(key)
    if optimizer is None:
        return None
    try:
        default = inspect.signature(optimizer).parameters["learning_rate"].default
    except (KeyError, TypeError, ValueError):
        return None
    return float(default) if isinstance(default, (int, float)) and not isinstance(default, bool) else None


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


def kernels(model):
    """(kernels, recurrent kernels): the trainable variables a layer's ``kernel_initializer`` draws
    (Dense, EinsumDense, convolutions, attention projections, recurrent cells' input kernels; in
    nested models and wrappers too) and the recurrent kernels, which have their own initializer."""
    variables = model.trainable_variables
    return ([v for v in variables if v.name in KERNEL_VARIABLES],
            [v for v in variables if v.name in RECURRENT_KERNEL_VARIABLES])


def reinitialize(model, initializer, x_batch=None, seed=0):
    """Draws every kernel (see ``kernels``) again with ``initializer``; recurrent kernels keep
    theirs (orthogonal by default), which is logged. ``lsuv`` needs ``x_batch``, ``fit`` picks
    He/LeCun/Glorot from each layer's activation."""
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
    drawn, recurrent = kernels(model)
    for index, kernel in enumerate(drawn):
        draw = keras.initializers.get({"class_name": name, "config": {"seed": seed + index}})
        kernel.assign(np.asarray(keras.ops.convert_to_numpy(draw(kernel.shape, kernel.dtype))))
    if recurrent:
        logger.info("%s drew %d kernel(s); %d recurrent kernel(s) keep their own initializer: %s",
                    name, len(drawn), len(recurrent), ", ".join(v.path for v in recurrent))
    return model
