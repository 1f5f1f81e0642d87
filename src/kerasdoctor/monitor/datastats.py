"""Summary statistics of input and label arrays, in NumPy (the data is on the host)."""

import numpy as np

MAX_CLASSES = 50


def _array_stats(values):
    values = np.asarray(values)
    stats = {"shape": list(values.shape), "dtype": str(values.dtype)}
    if values.size == 0 or not np.issubdtype(values.dtype, np.number):
        return stats
    as_float = values.astype("float64", copy=False)
    finite = np.isfinite(as_float)
    stats["nan"] = int(np.isnan(as_float).sum())
    stats["inf"] = int(np.isinf(as_float).sum())
    kept = as_float[finite]
    if kept.size:
        stats.update(
            min=float(kept.min()),
            max=float(kept.max()),
            mean=float(kept.mean()),
            std=float(kept.std()),
        )
    return stats


def _label_stats(labels):
    labels = np.asarray(labels)
    stats = _array_stats(labels)
    if labels.size == 0 or not np.issubdtype(labels.dtype, np.number):
        return stats
    if labels.ndim == 2 and labels.shape[1] > 1:
        stats["encoding"] = "one_hot"
        indices = np.argmax(labels, axis=1)
    else:
        flat = labels.reshape(len(labels), -1)[:, 0] if labels.ndim > 1 else labels
        if not np.all(np.isfinite(flat)) or not np.allclose(flat, np.round(flat)):
            stats["encoding"] = "continuous"
            return stats
        stats["encoding"] = "index"
        indices = flat.astype("int64")
    classes, counts = np.unique(indices, return_counts=True)
    if len(classes) <= MAX_CLASSES:
        stats["classes"] = [int(c) for c in classes]
        stats["counts"] = [int(c) for c in counts]
    stats["num_classes"] = int(len(classes))
    return stats


def summarize(x, y=None):
    """{'x': stats, 'y': stats, 'samples': n}; x and y may be arrays or dicts of arrays."""
    if isinstance(x, dict):
        x_stats = {name: _array_stats(value) for name, value in x.items()}
        samples = len(next(iter(x.values()))) if x else 0
    else:
        x_stats = _array_stats(x)
        samples = len(x)
    summary = {"samples": int(samples), "x": x_stats}
    if y is not None and not isinstance(y, dict):
        summary["y"] = _label_stats(y)
    return summary
