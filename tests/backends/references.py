"""Independent float64 NumPy implementations of each component's published update rule.

Each reference takes (initial weights, a list of gradient lists) and returns the
weights after every step. They follow the papers' algorithms, written from the
equations, not from the package code they are compared with.
"""

import math

import numpy as np


def _adam_like(weights, gradient_steps, step_fn, **state):
    weights = [w.astype(np.float64).copy() for w in weights]
    slots = [dict((k, np.zeros_like(w)) for k in state["slots"]) for w in weights]
    history = []
    for t, grads in enumerate(gradient_steps, start=1):
        for w, g, s in zip(weights, grads, slots):
            w -= step_fn(t, g.astype(np.float64), s, w)
        history.append([w.copy() for w in weights])
    return history


def radam(weights, gradient_steps, lr=0.001, beta_1=0.9, beta_2=0.999, eps=1e-8, threshold=5.0):
    rho_inf = 2.0 / (1.0 - beta_2) - 1.0

    def step(t, g, s, w):
        s["m"] = beta_1 * s["m"] + (1 - beta_1) * g
        s["v"] = beta_2 * s["v"] + (1 - beta_2) * g * g
        m_hat = s["m"] / (1 - beta_1**t)
        rho = rho_inf - 2 * t * beta_2**t / (1 - beta_2**t)
        if rho > threshold:
            r = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
            return lr * r * m_hat / (np.sqrt(s["v"] / (1 - beta_2**t)) + eps)
        return lr * m_hat

    return _adam_like(weights, gradient_steps, step, slots=("m", "v"))


def adabelief(weights, gradient_steps, lr=0.001, beta_1=0.9, beta_2=0.999, eps=1e-16):
    def step(t, g, s, w):
        s["m"] = beta_1 * s["m"] + (1 - beta_1) * g
        s["s"] = beta_2 * s["s"] + (1 - beta_2) * (g - s["m"]) ** 2 + eps
        m_hat = s["m"] / (1 - beta_1**t)
        s_hat = s["s"] / (1 - beta_2**t)
        return lr * m_hat / (np.sqrt(s_hat) + eps)

    return _adam_like(weights, gradient_steps, step, slots=("m", "s"))


def schedule_free_sgd(weights, gradient_steps, lr=1.0, momentum=0.9):
    # The paper's form: y = (1-b) z + b x; z -= lr g(y); x = (1 - 1/t) x + (1/t) z.
    z = [w.astype(np.float64).copy() for w in weights]
    x = [w.astype(np.float64).copy() for w in weights]
    history = []
    for t, grads in enumerate(gradient_steps, start=1):
        for i, g in enumerate(grads):
            z[i] = z[i] - lr * g
            x[i] = (1 - 1 / t) * x[i] + (1 / t) * z[i]
        history.append([(1 - momentum) * zi + momentum * xi for zi, xi in zip(z, x)])
    return history


def prodigy(weights, gradient_steps, lr=1.0, beta_1=0.9, beta_2=0.999, eps=1e-8, d0=1e-6):
    beta_3 = math.sqrt(beta_2)
    x = [w.astype(np.float64).copy() for w in weights]
    x0 = [w.copy() for w in x]
    m = [np.zeros_like(w) for w in x]
    v = [np.zeros_like(w) for w in x]
    s = [np.zeros_like(w) for w in x]
    d, r, history = d0, 0.0, []
    for grads in gradient_steps:
        grads = [g.astype(np.float64) for g in grads]
        r = beta_3 * r + (1 - beta_3) * lr * d * d * sum(float(np.sum(g * (a - b))) for g, a, b in zip(grads, x0, x))
        for i, g in enumerate(grads):
            s[i] = beta_3 * s[i] + (1 - beta_3) * lr * d * d * g
            m[i] = beta_1 * m[i] + (1 - beta_1) * d * g
            v[i] = beta_2 * v[i] + (1 - beta_2) * d * d * g * g
            x[i] = x[i] - lr * d * m[i] / (np.sqrt(v[i]) + d * eps)
        norm = sum(float(np.abs(si).sum()) for si in s)
        if norm > 0:
            d = max(d, r / norm)
        history.append([w.copy() for w in x])
    return history


def sgd(weights, gradient_steps, lr=0.1):
    x = [w.astype(np.float64).copy() for w in weights]
    history = []
    for grads in gradient_steps:
        x = [w - lr * g for w, g in zip(x, grads)]
        history.append([w.copy() for w in x])
    return history


def lookahead_sgd(weights, gradient_steps, lr=0.1, k=2, alpha=0.5):
    fast = [w.astype(np.float64).copy() for w in weights]
    slow = [w.copy() for w in fast]
    history = []
    for t, grads in enumerate(gradient_steps, start=1):
        fast = [w - lr * g for w, g in zip(fast, grads)]
        if t % k == 0:
            slow = [s + alpha * (f - s) for s, f in zip(slow, fast)]
            fast = [s.copy() for s in slow]
        history.append([w.copy() for w in fast])
    return history


def _unit_norm(a):
    if a.ndim <= 1:
        return np.sqrt(np.sum(a * a))
    return np.sqrt(np.sum(a * a, axis=tuple(range(a.ndim - 1)), keepdims=True))


def agc_sgd(weights, gradient_steps, lr=0.1, clip_factor=0.01, eps=1e-3):
    x = [w.astype(np.float64).copy() for w in weights]
    history = []
    for grads in gradient_steps:
        clipped = []
        for w, g in zip(x, grads):
            max_norm = clip_factor * np.maximum(_unit_norm(w), eps)
            g_norm = _unit_norm(g)
            clipped.append(np.where(g_norm > max_norm, g * max_norm / np.maximum(g_norm, 1e-6), g))
        x = [w - lr * g for w, g in zip(x, clipped)]
        history.append([w.copy() for w in x])
    return history
