"""Fashion-MNIST read offline from its IDX files (the Debian package ``dataset-fashion-mnist``).

``FASHION_MNIST_DIR`` points elsewhere (a copy of the four ``.gz`` files, as on a host without
the Debian package). The examples and the benchmarks read the data through ``load`` only.
"""

import gzip
import os
from pathlib import Path

import numpy as np

DEFAULT_DIR = Path("/usr/share/datasets/fashion-mnist")
FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def data_dir():
    """Where the four files are: ``$FASHION_MNIST_DIR``, else the Debian package's folder."""
    return Path(os.environ.get("FASHION_MNIST_DIR") or DEFAULT_DIR)


def available(directory=None):
    directory = Path(directory or data_dir())
    return all((directory / name).exists() for name in FILES)


def read_idx(path):
    """One IDX file: big-endian magic (2 zero bytes, dtype code, ndim), one uint32 per dimension, then data."""
    with gzip.open(path, "rb") as handle:
        raw = handle.read()
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load(directory=None, *, images=False):
    """((x_train, y_train), (x_val, y_val)): 60,000 and 10,000 images scaled to [0, 1], float32,
    flattened to 784 features or, with ``images``, shaped (28, 28, 1); labels int32."""
    directory = Path(directory or data_dir())
    missing = [name for name in FILES if not (directory / name).exists()]
    if missing:
        raise FileNotFoundError(
            f"Fashion-MNIST is not installed ({directory} lacks {missing[0]}). "
            "Install it with: apt-get install dataset-fashion-mnist (or set FASHION_MNIST_DIR to a folder "
            "holding its four .gz files)"
        )
    x_train, y_train, x_val, y_val = (read_idx(directory / name) for name in FILES)
    shape = (28, 28, 1) if images else (784,)
    scale = lambda pixels: (pixels.reshape((len(pixels),) + shape) / 255.0).astype("float32")
    return (scale(x_train), y_train.astype("int32")), (scale(x_val), y_val.astype("int32"))
