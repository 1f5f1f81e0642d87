"""SAM's training step on PyTorch: two backward passes."""

import keras
import torch

from kerasdoctor._backends.sam_common import ascent, update_metrics


def _loss_and_gradients(model, x, y, sample_weight):
    model.zero_grad()
    y_pred = model(x, training=True)
    loss = model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True)
    loss.backward()
    gradients = [
        torch.zeros_like(w.value) if w.value.grad is None else w.value.grad.clone()
        for w in model.trainable_weights
    ]
    return loss.detach(), y_pred.detach(), gradients


def sam_train_step(model, rho, data):
    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    weights = model.trainable_weights
    loss, y_pred, gradients = _loss_and_gradients(model, x, y, sample_weight)
    with torch.no_grad():
        steps = ascent(gradients, rho)
        kept = [v.value.detach().clone() for v in model.non_trainable_weights]
        for weight, step in zip(weights, steps):
            weight.assign(weight.value + step)
    _, _, sharp = _loss_and_gradients(model, x, y, sample_weight)
    with torch.no_grad():
        for weight, step in zip(weights, steps):
            weight.assign(weight.value - step)
        for variable, value in zip(model.non_trainable_weights, kept):
            variable.assign(value)  # the second pass only gives the gradient
        model.optimizer.apply(sharp, weights)
        return update_metrics(model, loss, y, y_pred, sample_weight)
