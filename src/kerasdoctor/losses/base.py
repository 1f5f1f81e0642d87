"""What the losses share: label encodings, log-probabilities, argument checks."""

import keras
from keras import ops


def is_sparse(y_true, y_pred):
    """True when ``y_true`` holds class indices rather than one row per class.

    Indices come as ``(batch,)`` or ``(batch, 1)``; one-hot or soft labels have
    the shape of ``y_pred``. Shapes are static here (also while tracing).
    """
    if len(y_true.shape) < len(y_pred.shape):
        return True
    return y_true.shape[-1] == 1 and y_pred.shape[-1] != 1


def class_indices(y_true, y_pred):
    """Integer class indices of shape ``y_pred.shape[:-1]``, for sparse labels."""
    if len(y_true.shape) == len(y_pred.shape):
        y_true = ops.squeeze(y_true, axis=-1)
    return ops.cast(y_true, "int32")


def target_distribution(y_true, y_pred):
    """Labels as a distribution over the classes (one-hot for class indices)."""
    if is_sparse(y_true, y_pred):
        return ops.one_hot(class_indices(y_true, y_pred), y_pred.shape[-1], dtype=y_pred.dtype)
    return ops.cast(y_true, y_pred.dtype)


def log_probabilities(y_pred, from_logits):
    """Log-softmax of logits, or the log of probabilities clipped as Keras clips them.

    Probabilities are renormalised and clipped to ``[epsilon, 1 - epsilon]``,
    like ``keras.losses.categorical_crossentropy``, so the gradient stays finite
    at p = 0 and p = 1 (it is zero where the clip holds).
    """
    if from_logits:
        return ops.log_softmax(y_pred, axis=-1)
    epsilon = keras.config.epsilon()
    y_pred = y_pred / ops.sum(y_pred, axis=-1, keepdims=True)
    return ops.log(ops.clip(y_pred, epsilon, 1.0 - epsilon))


def check_range(argument, value, low, high, *, closed_high=False, why=""):
    """Raises a Keras-style error for a value outside [low, high) (or [low, high])."""
    inside = low <= value <= high if closed_high else low <= value < high
    if not inside:
        bracket = "]" if closed_high else ")"
        why = f" {why}" if why else ""
        raise ValueError(
            f"Argument `{argument}` must be in the [{low:g}, {high:g}{bracket} range.{why} "
            f"Received: {argument}={value}."
        )


def check_at_least(argument, value, low, *, why=""):
    """Raises a Keras-style error for a value below ``low``."""
    if not value >= low:
        why = f" {why}" if why else ""
        raise ValueError(f"Argument `{argument}` must be >= {low:g}.{why} Received: {argument}={value}.")


def check_positive(argument, value, *, why=""):
    """Raises a Keras-style error for a value that is not positive."""
    if not value > 0:
        why = f" {why}" if why else ""
        raise ValueError(f"Argument `{argument}` must be positive.{why} Received: {argument}={value}.")


def check_counts(argument, counts):
    """Class counts as a list of floats; each must be positive and there must be two or more."""
    values = [float(c) for c in counts]
    if len(values) < 2 or not all(c > 0 for c in values):
        raise ValueError(
            f"Argument `{argument}` must hold the positive number of training samples of each "
            f"class (two classes or more); a class without samples has no weight or margin. "
            f"Received: {argument}={list(counts)}."
        )
    return values


def check_num_classes(samples_per_class, y_pred):
    """Raises when the class counts and the model's outputs disagree on the number of classes."""
    if y_pred.shape[-1] is not None and y_pred.shape[-1] != len(samples_per_class):
        raise ValueError(
            f"`samples_per_class` holds {len(samples_per_class)} counts but the model predicts "
            f"{y_pred.shape[-1]} classes. Received: y_pred.shape={tuple(y_pred.shape)}."
        )
