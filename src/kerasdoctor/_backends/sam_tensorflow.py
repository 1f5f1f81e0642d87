"""SAM's training step on TensorFlow: two GradientTape passes."""

import keras
import tensorflow as tf

from kerasdoctor._backends.sam_common import ascent, update_metrics


def _loss_and_gradients(model, x, y, sample_weight):
    with tf.GradientTape() as tape:
        y_pred = model(x, training=True)
        loss = model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True)
    return loss, y_pred, tape.gradient(loss, model.trainable_weights)


def sam_train_step(model, rho, data):
    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    weights = model.trainable_weights
    loss, y_pred, gradients = _loss_and_gradients(model, x, y, sample_weight)
    gradients = [tf.zeros_like(w) if g is None else g for g, w in zip(gradients, weights)]
    steps = ascent(gradients, rho)
    kept = [tf.identity(v) for v in model.non_trainable_weights]
    for weight, step in zip(weights, steps):
        weight.assign_add(step)
    _, _, sharp = _loss_and_gradients(model, x, y, sample_weight)
    for weight, step in zip(weights, steps):
        weight.assign_sub(step)
    for variable, value in zip(model.non_trainable_weights, kept):
        variable.assign(value)  # the second pass only gives the gradient
    sharp = [tf.zeros_like(w) if g is None else g for g, w in zip(sharp, weights)]
    model.optimizer.apply(sharp, weights)
    return update_metrics(model, loss, y, y_pred, sample_weight)
