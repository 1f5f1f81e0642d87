"""Float64 NumPy forward passes of a few Keras layers, and central finite differences.

Written from the layers' documented equations, not from the code the Monitor runs,
so a gradient taken by finite differences of these losses is an independent reference.
"""

import math

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def softmax(z, axis=-1):
    shifted = np.exp(z - z.max(axis=axis, keepdims=True))
    return shifted / shifted.sum(axis=axis, keepdims=True)


def lstm(x, kernel, recurrent_kernel, bias):
    """The last hidden state of an LSTM over x (batch, time, features); gates in Keras order i, f, c, o."""
    hidden = cell = np.zeros((x.shape[0], recurrent_kernel.shape[0]))
    for t in range(x.shape[1]):
        i, f, c, o = np.split(x[:, t] @ kernel + hidden @ recurrent_kernel + bias, 4, axis=-1)
        cell = sigmoid(f) * cell + sigmoid(i) * np.tanh(c)
        hidden = sigmoid(o) * np.tanh(cell)
    return hidden


def self_attention(x, query, key, value, output):
    """Multi-head self-attention; each projection is (kernel, bias), kernels (dim, heads, key_dim)."""
    q, k, v = (np.einsum("btd,dhk->bthk", x, kernel) + bias for kernel, bias in (query, key, value))
    scores = softmax(np.einsum("bqhk,bshk->bhqs", q, k) / math.sqrt(q.shape[-1]))
    attended = np.einsum("bhqs,bshk->bqhk", scores, v)
    return np.einsum("bqhk,hkd->bqd", attended, output[0]) + output[1]


def layer_norm(x, gamma, beta, epsilon=1e-3):
    mean, variance = x.mean(axis=-1, keepdims=True), x.var(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + epsilon) * gamma + beta


def mean_squared_error(prediction, target):
    return np.mean((prediction - target) ** 2)


def sparse_cross_entropy(probabilities, labels):
    return -np.mean(np.log(probabilities[np.arange(len(labels)), labels]))


def finite_difference_gradients(loss_fn, params, epsilon=1e-6):
    """{name: d loss_fn(params) / d params[name]} by central differences, in float64."""
    params = {name: np.array(value, dtype=np.float64) for name, value in params.items()}
    gradients = {}
    for name, value in params.items():
        gradient = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            original = value[index]
            value[index] = original + epsilon
            above = loss_fn(params)
            value[index] = original - epsilon
            below = loss_fn(params)
            value[index] = original
            gradient[index] = (above - below) / (2.0 * epsilon)
        gradients[name] = gradient
    return gradients


def simple_rnn(x, kernel, recurrent_kernel, bias, go_backwards=False):
    """The last hidden state of a tanh SimpleRNN over x (batch, time, features)."""
    hidden = np.zeros((x.shape[0], recurrent_kernel.shape[0]))
    for t in reversed(range(x.shape[1])) if go_backwards else range(x.shape[1]):
        hidden = np.tanh(x[:, t] @ kernel + hidden @ recurrent_kernel + bias)
    return hidden


def step_norms(gradient):
    """The norm of a (batch, time, ...) gradient at the first, middle and last time steps."""
    length = gradient.shape[1]
    return [float(np.linalg.norm(gradient[:, t])) for t in (0, length // 2, length - 1)]
