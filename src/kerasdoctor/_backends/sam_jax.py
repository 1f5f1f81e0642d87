"""SAM's training step on JAX: two value_and_grad passes inside the jitted step."""

import jax
import keras

from kerasdoctor._backends.sam_common import ascent, stateless_update_metrics


def sam_train_step(model, rho, state, data):
    trainable, non_trainable, optimizer_variables, metrics_variables = state
    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)

    def loss_fn(weights, non_trainable, metrics_variables):
        y_pred, non_trainable = model.stateless_call(weights, non_trainable, x, training=True)
        loss, (_, non_trainable, metrics_variables) = model.stateless_compute_loss(
            weights, non_trainable, metrics_variables,
            x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True,
        )
        return loss, (y_pred, non_trainable, metrics_variables)

    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
    (loss, (y_pred, updated_non_trainable, _)), gradients = grad_fn(
        trainable, non_trainable, metrics_variables
    )
    perturbed = [w + e for w, e in zip(trainable, ascent(gradients, rho))]
    # The second pass only gives the gradient: its batch-norm updates are dropped.
    _, sharp_gradients = grad_fn(perturbed, non_trainable, metrics_variables)
    trainable, optimizer_variables = model.optimizer.stateless_apply(
        optimizer_variables, sharp_gradients, trainable
    )
    logs, metrics_variables = stateless_update_metrics(
        model, metrics_variables, loss, y, y_pred, sample_weight
    )
    return logs, (trainable, updated_non_trainable, optimizer_variables, metrics_variables)
