"""Which accelerator the active backend trains on (for ``speed``'s choice of knobs)."""

import keras


def accelerator():
    """``"gpu"`` or ``"tpu"`` when the active backend sees one, else ``"cpu"``."""
    backend = keras.backend.backend()
    try:
        if backend == "jax":
            import jax

            return jax.devices()[0].platform
        if backend == "torch":
            import torch

            return "gpu" if torch.cuda.is_available() else "cpu"
        if backend == "tensorflow":
            import tensorflow as tf

            return "gpu" if tf.config.list_physical_devices("GPU") else "cpu"
    except Exception:  # noqa: BLE001 - a backend that cannot list its devices: assume the CPU
        pass
    return "cpu"
