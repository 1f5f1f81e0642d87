"""The names keras-doctor knows: layer families, activations, losses and metrics with their direction.

Standard library only, so that every stage (the Monitor, the rules, `compare`, `tune`,
`lr_find`, the initializers) reads one list instead of keeping its own.
"""

import re

# Layer families, by Keras class name.
DENSE_LAYERS = ("Dense", "EinsumDense")
CONV_LAYERS = (
    "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
    "SeparableConv1D", "SeparableConv2D", "DepthwiseConv1D", "DepthwiseConv2D",
)
RECURRENT_LAYERS = (
    "SimpleRNN", "LSTM", "GRU", "SimpleRNNCell", "LSTMCell", "GRUCell",
    "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "RNN", "Bidirectional",
)
ATTENTION_LAYERS = ("MultiHeadAttention", "GroupedQueryAttention")
EMBEDDING_LAYERS = ("Embedding",)
KERNEL_LAYERS = DENSE_LAYERS + CONV_LAYERS + RECURRENT_LAYERS + ATTENTION_LAYERS + EMBEDDING_LAYERS
WRAPPER_LAYERS = ("TimeDistributed", "Bidirectional")
# Pooling by the window maximum (the JAX probe computes its gradient its own way).
MAX_POOLING_LAYERS = ("MaxPooling1D", "MaxPooling2D", "MaxPooling3D")
# Layers that pass their input's values through unchanged in kind (the output activation is behind them).
PASSTHROUGH_LAYERS = (
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "AlphaDropout", "GaussianDropout",
    "GaussianNoise", "ActivityRegularization", "Flatten", "Reshape", "Permute", "RepeatVector", "Identity",
    "Masking", "Cropping1D", "Cropping2D", "Cropping3D",
)

# Variables drawn by a layer's `kernel_initializer`, by variable name; the recurrent kernel has
# its own initializer (orthogonal by default) and an embedding table is not a kernel.
KERNEL_VARIABLES = ("kernel", "depthwise_kernel", "pointwise_kernel")
RECURRENT_KERNEL_VARIABLES = ("recurrent_kernel",)

# Activations.
ACTIVATION_LAYERS = {"ReLU": "relu", "LeakyReLU": "leaky_relu", "ELU": "elu", "PReLU": "prelu", "Softmax": "softmax"}
LINEAR = (None, "linear")
# Rectifiers: a unit outputs exactly zero for negative inputs and can die.
RECTIFIERS = ("relu", "relu6", "leaky_relu")
# The ReLU family for initialization: He's variance scaling fits them (He et al., 2015).
RELU_FAMILY = RECTIFIERS + ("prelu", "elu", "gelu", "silu", "swish", "mish", "softplus", "celu", "glu", "hard_silu")
SELU_FAMILY = ("selu",)
GLOROT_FAMILY = ("tanh", "sigmoid", "hard_sigmoid", "linear", "softmax", "softsign", None)
# Activations with flat ends where the gradient vanishes.
SATURATING = ("sigmoid", "tanh", "hard_sigmoid", "softsign")


def activation_of(class_name, config):
    """The activation a layer applies, from its class name and config (None when it applies none)."""
    if class_name in ACTIVATION_LAYERS:
        return ACTIVATION_LAYERS[class_name]
    activation = (config or {}).get("activation")
    if isinstance(activation, dict):
        inner = activation.get("config")
        activation = inner if isinstance(inner, str) else activation.get("class_name")
    return activation


# Losses, by snake-case name.
CATEGORICAL_LOSSES = (
    "sparse_categorical_crossentropy", "categorical_crossentropy",
    "sparse_categorical_focal_crossentropy", "categorical_focal_crossentropy",
)
BINARY_LOSSES = ("binary_crossentropy", "binary_focal_crossentropy")
HINGE_LOSSES = ("hinge", "squared_hinge", "categorical_hinge")
REGRESSION_LOSSES = (
    "mean_squared_error", "mean_absolute_error", "huber", "log_cosh", "mean_squared_logarithmic_error",
    "mean_absolute_percentage_error",
)
CLASSIFICATION_LOSSES = CATEGORICAL_LOSSES + BINARY_LOSSES + HINGE_LOSSES + ("kl_divergence",)
LOSS_ALIASES = {
    "mse": "mean_squared_error", "mae": "mean_absolute_error", "mape": "mean_absolute_percentage_error",
    "msle": "mean_squared_logarithmic_error", "huber_loss": "huber", "logcosh": "log_cosh",
    "kld": "kl_divergence", "kullback_leibler_divergence": "kl_divergence",
}


def loss_name(name):
    """'SparseCategoricalCrossentropy' -> 'sparse_categorical_crossentropy'; aliases resolved."""
    if not name:
        return ""
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()
    name = name.replace("cross_entropy", "crossentropy").replace("k_l_", "kl_")
    return LOSS_ALIASES.get(name, name)


# Metrics: what a logged name means and which way is better.
ACCURACY_METRICS = (
    "accuracy", "acc", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy",
)
HIGHER_IS_BETTER = ACCURACY_METRICS + (
    "auc", "precision", "recall", "f1_score", "fbeta_score", "r2_score", "iou", "mean_iou", "binary_iou", "io_u", "mean_io_u", "binary_io_u",
    "one_hot_iou", "one_hot_mean_iou", "cosine_similarity", "true_positives", "true_negatives",
    "precision_at_recall", "recall_at_precision", "sensitivity_at_specificity", "specificity_at_sensitivity",
)
LOWER_IS_BETTER = (
    "loss", "error", "crossentropy", "hinge", "divergence", "mae", "mse", "mape", "msle", "rmse",
    "logcosh", "log_cosh", "poisson", "false_positives", "false_negatives",
)
DIRECTIONS = ("min", "max")


def _base(name):
    """'val_out_a_auc_1' -> 'out_a_auc': without the validation prefix and Keras's de-duplicating suffix."""
    return re.sub(r"_\d+$", "", name.removeprefix("val_"))


def _names(base, known):
    return base in known or any(base.endswith("_" + k) for k in known)


def is_accuracy(name):
    """Whether a logged metric name is an accuracy ('acc', 'val_binary_accuracy', 'val_out_acc', ...)."""
    return _names(_base(name), ACCURACY_METRICS)


def direction(name, default=None):
    """'max' when a higher value of the logged metric ``name`` is better, 'min' when lower is,
    else ``default``."""
    base = _base(name)
    if _names(base, HIGHER_IS_BETTER):
        return "max"
    if any(word in base for word in LOWER_IS_BETTER):
        return "min"
    return default


def objective(names):
    """(name, direction) of the metric to judge a run by, among the logged ``names``.

    The first validation accuracy; else the validation loss; else the first training
    accuracy; else the training loss. With no names, ('val_loss', 'min').
    """
    names = list(names)
    for prefix in ("val_", ""):
        for name in names:
            if name.startswith("val_") == bool(prefix) and is_accuracy(name):
                return name, "max"
        if prefix + "loss" in names:
            return prefix + "loss", "min"
    return "val_loss", "min"


def accuracy_name(names, prefix=""):
    """The first logged accuracy name among ``names`` (training ones with no ``prefix``)."""
    for name in names:
        if name.startswith("val_") == (prefix == "val_") and is_accuracy(name):
            return name
    return None
