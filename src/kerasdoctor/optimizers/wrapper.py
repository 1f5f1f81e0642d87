"""OptimizerWrapper: the shared plumbing of optimizers that wrap another optimizer.

The wrapper owns its own state and the inner optimizer's (``variables``), so
it saves and loads inside a ``.keras`` model and works under JAX's stateless
``stateless_apply`` (which calls ``apply`` in a scope mapping every variable).
"""

import keras

_BASE_ONLY = ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "use_ema", "loss_scale_factor")


class OptimizerWrapper(keras.optimizers.Optimizer):
    """Base class: subclasses implement ``build_wrapper`` and ``wrapped_apply``."""

    def __init__(self, optimizer, *, name, **kwargs):
        if not isinstance(optimizer, keras.optimizers.Optimizer):
            raise ValueError(
                f"{type(self).__name__} wraps a keras.optimizers.Optimizer instance, such as "
                f"keras.optimizers.Adam(). Received: optimizer of type {type(optimizer).__name__}"
            )
        for argument in _BASE_ONLY:
            if kwargs.get(argument) not in (None, False):
                raise ValueError(
                    f"Set `{argument}` on the wrapped optimizer, not on {type(self).__name__}. "
                    f"Received: {argument}={kwargs[argument]!r}"
                )
        kwargs = {k: v for k, v in kwargs.items() if k not in _BASE_ONLY}
        super().__init__(learning_rate=0.0, name=name, **kwargs)
        self.inner_optimizer = optimizer

    def build(self, var_list):
        if self.built:
            return
        self.inner_optimizer.build(var_list)
        super().build(var_list)
        self.build_wrapper(var_list)

    def build_wrapper(self, var_list):
        """Creates the wrapper's own variables (none by default)."""

    @property
    def variables(self):
        return self._variables + self.inner_optimizer.variables

    @property
    def learning_rate(self):
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        self.inner_optimizer.learning_rate = learning_rate

    @property
    def iterations(self):
        return self.inner_optimizer.iterations

    def apply(self, grads, trainable_variables=None):
        if trainable_variables is None:
            trainable_variables = self._trainable_variables
        else:
            trainable_variables = list(trainable_variables)
            if not self.built:
                self.build(trainable_variables)
        self.wrapped_apply(list(grads), trainable_variables)

    def wrapped_apply(self, grads, trainable_variables):
        raise NotImplementedError

    def finalize_variable_values(self, var_list):
        self.inner_optimizer.finalize_variable_values(var_list)

    def get_config(self):
        return {
            "name": self.name,
            "optimizer": keras.saving.serialize_keras_object(self.inner_optimizer),
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        inner = keras.saving.deserialize_keras_object(config.pop("optimizer"), custom_objects=custom_objects)
        return cls(inner, **config)
