"""Adaptive gradient clipping, unit-wise (Brock et al., 2021)."""

from keras import ops

from kerasdoctor.optimizers.registry import register
from kerasdoctor.optimizers.wrapper import OptimizerWrapper


def unitwise_norm(x):
    """L2 norm per output unit: over all axes but the last (Dense, Conv kernels), or whole."""
    if len(x.shape) <= 1:
        return ops.sqrt(ops.sum(ops.square(x)))
    axes = tuple(range(len(x.shape) - 1))
    return ops.sqrt(ops.sum(ops.square(x), axis=axes, keepdims=True))


@register
class AdaptiveGradientClipping(OptimizerWrapper):
    """Wraps any Keras optimizer with unit-wise adaptive gradient clipping (AGC).

    Each unit's gradient is clipped to ``clip_factor`` times that unit's weight
    norm (at least ``epsilon``), so the relative update |dW|/|W| stays bounded
    whatever the scale of the loss:

        g <- g * min(1, clip_factor * max(|W|_u, epsilon) / |g|_u)

    Units are the last axis of a kernel (a Dense unit, a Conv filter); biases
    and other vectors are clipped as a whole.

    Args:
        optimizer: the inner `keras.optimizers.Optimizer`.
        clip_factor: lambda. Defaults to `0.01` (the paper's value for large
            batches; 0.02-0.16 suit smaller ones).
        epsilon: floor of the weight norm, so zero-initialised weights can
            still move. Defaults to `1e-3`.

    Reference: A. Brock et al., "High-Performance Large-Scale Image Recognition
    Without Normalization", ICML 2021, https://arxiv.org/abs/2102.06171
    """

    def __init__(self, optimizer, clip_factor=0.01, epsilon=1e-3, name="adaptive_gradient_clipping", **kwargs):
        super().__init__(optimizer, name=name, **kwargs)
        if clip_factor <= 0:
            raise ValueError(f"Argument `clip_factor` must be positive. Received: clip_factor={clip_factor}")
        self.clip_factor, self.epsilon = clip_factor, epsilon

    def clip(self, gradient, variable):
        weight = ops.cast(variable, gradient.dtype)
        max_norm = self.clip_factor * ops.maximum(unitwise_norm(weight), self.epsilon)
        grad_norm = unitwise_norm(gradient)
        scaled = gradient * (max_norm / ops.maximum(grad_norm, 1e-6))
        return ops.where(grad_norm > max_norm, scaled, gradient)

    def wrapped_apply(self, grads, trainable_variables):
        clipped = [None if g is None else self.clip(g, v) for g, v in zip(grads, trainable_variables)]
        self.inner_optimizer.apply(clipped, trainable_variables)

    def get_config(self):
        config = super().get_config()
        config.update(clip_factor=self.clip_factor, epsilon=self.epsilon)
        return config
