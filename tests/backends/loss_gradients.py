"""The gradient of a scalar function of one array, on the active Keras backend."""

import keras
import numpy as np


def gradient(fn, x):
    """(fn(x), d fn / d x) as NumPy values; x is a float32 array."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        value, grad = jax.value_and_grad(fn)(jax.numpy.asarray(x))
    elif backend == "tensorflow":
        import tensorflow as tf

        variable = tf.Variable(x)
        with tf.GradientTape() as tape:
            value = fn(variable)
        grad = tape.gradient(value, variable)
    elif backend == "torch":
        import torch

        variable = torch.tensor(x, requires_grad=True)
        value = fn(variable)
        (grad,) = torch.autograd.grad(value, variable)
    else:
        raise ValueError(f"No gradient helper for the backend {backend!r}.")
    return float(keras.ops.convert_to_numpy(value)), np.asarray(keras.ops.convert_to_numpy(grad))
