"""Backend-neutral pieces of the SAM step: the ascent direction and the metric updates."""

from keras import ops


def ascent(gradients, rho):
    """e = rho * g / ||g||, with the norm over all gradients together (Foret et al., eq. 2)."""
    norm = ops.sqrt(sum(ops.sum(ops.square(g)) for g in gradients))
    scale = rho / (norm + 1e-12)
    return [g * scale for g in gradients]


def update_metrics(model, loss, y, y_pred, sample_weight):
    """Updates the compiled metrics statefully (TensorFlow, PyTorch) and returns the logs."""
    for metric in model.metrics:
        if metric.name == "loss":
            metric.update_state(loss)
        else:
            metric.update_state(y, y_pred, sample_weight=sample_weight)
    return _logs((metric.name, metric.result()) for metric in model.metrics)


def stateless_update_metrics(model, metrics_variables, loss, y, y_pred, sample_weight):
    """The same for JAX: returns (logs, new metrics variables)."""
    updated, results, start = [], [], 0
    for metric in model.metrics:
        own = metrics_variables[start : start + len(metric.variables)]
        start += len(metric.variables)
        if metric.name == "loss":
            own = metric.stateless_update_state(own, loss)
        else:
            own = metric.stateless_update_state(own, y, y_pred, sample_weight=sample_weight)
        results.append((metric.name, metric.stateless_result(own)))
        updated += list(own)
    return _logs(results), updated


def _logs(named_results):
    # The compiled-metrics container returns a dict of its metrics; others a value.
    logs = {}
    for name, result in named_results:
        logs.update(result if isinstance(result, dict) else {name: result})
    return logs
