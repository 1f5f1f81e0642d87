"""SAM, sharpness-aware minimization (Foret et al., 2021), as a model wrapper."""

import keras

from kerasdoctor import _backends


@keras.saving.register_keras_serializable(package="kerasdoctor")
class SAM(keras.Model):
    """Trains the wrapped model with sharpness-aware minimization.

    Each step takes the gradient g at the weights w, moves to the worst point
    nearby, w + e with e = rho * g / ||g||, takes the gradient there, and gives
    that second gradient to the compiled optimizer for the update of w. Flat
    minima generalize better; the price is **two forward and backward passes
    per step, about 2x the time of a plain step**.

    SAM needs the second gradient inside the training step, so it is a model
    wrapper rather than an optimizer: compile the wrapper with any optimizer
    (an optimizer of keras-doctor's too) and fit it. Batch-norm statistics
    are updated by the first pass only; the logged loss and metrics are those
    at w. Inference (`predict`, `evaluate`) is the wrapped model's.

    Args:
        model: the `keras.Model` to train.
        rho: the radius of the neighbourhood. Defaults to `0.05` (the paper's
            value for CIFAR; 0.01-0.1 is the usual range).

    Example:

    ```python
    sam = kerasdoctor.optimizers.SAM(model, rho=0.05)
    sam.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    sam.fit(x_train, y_train, epochs=10)
    ```

    Reference: P. Foret et al., "Sharpness-Aware Minimization for Efficiently
    Improving Generalization", ICLR 2021, https://arxiv.org/abs/2010.01412
    """

    def __init__(self, model, rho=0.05, **kwargs):
        if not isinstance(model, keras.Model):
            raise ValueError(f"SAM wraps a keras.Model. Received: model of type {type(model).__name__}")
        if not rho > 0:
            raise ValueError(f"Argument `rho` must be positive. Received: rho={rho}")
        super().__init__(**kwargs)
        self.wrapped = model
        self.rho = rho

    def build(self, input_shape):
        if not self.wrapped.built:
            self.wrapped.build(input_shape)
        self.built = True

    def call(self, inputs, training=None):
        return self.wrapped(inputs, training=training)

    def train_step(self, *args):
        # JAX passes (state, data) and expects (logs, state); the others pass data.
        return _backends.sam_train_step(self, self.rho, *args)

    def get_config(self):
        return {
            **super().get_config(),
            "model": keras.saving.serialize_keras_object(self.wrapped),
            "rho": self.rho,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        model = keras.saving.deserialize_keras_object(config.pop("model"), custom_objects=custom_objects)
        return cls(model, **config)
