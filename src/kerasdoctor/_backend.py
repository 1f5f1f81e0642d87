"""Chooses the Keras backend before Keras is imported.

Order: ``KERAS_BACKEND`` if set; otherwise the first importable of JAX,
TensorFlow and PyTorch. Keras itself would fall back to TensorFlow and fail
at import when it is absent, so the choice is made here.
"""

import importlib.util
import os
import sys

from kerasdoctor.errors import KerasDoctorError

PREFERENCE = ("jax", "tensorflow", "torch")
EXTRAS = {"jax": "jax", "tensorflow": "tensorflow", "torch": "torch"}


def _importable(name):
    return importlib.util.find_spec(name) is not None


def configure():
    """Sets ``KERAS_BACKEND`` when it is unset and returns the choice (or None)."""
    if "keras" in sys.modules:
        return sys.modules["keras"].backend.backend()
    chosen = os.environ.get("KERAS_BACKEND")
    if chosen:
        return chosen
    for name in PREFERENCE:
        if _importable(name):
            os.environ["KERAS_BACKEND"] = name
            return name
    return None


def require():
    """Returns the backend in use, or raises a one-line error naming the extra."""
    chosen = configure()
    if chosen is None:
        raise KerasDoctorError(
            "No Keras backend is installed: keras-doctor needs one of JAX, "
            "TensorFlow or PyTorch. Install one, for example: "
            "pip install 'keras-doctor[jax]' (or [tensorflow], [torch])."
        )
    module = "tensorflow" if chosen == "tensorflow" else chosen
    if chosen in EXTRAS and not _importable(module):
        raise KerasDoctorError(
            f"KERAS_BACKEND={chosen} is set but {module} is not installed. "
            f"Install it with: pip install 'keras-doctor[{EXTRAS[chosen]}]', "
            "or unset KERAS_BACKEND to use an installed backend. "
            f"Received: KERAS_BACKEND={chosen}"
        )
    return chosen
