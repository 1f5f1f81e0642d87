"""The one place with backend-specific code.

- ``compile_probe``/``snapshot``/``current``/``to_device``/``COMPILE_FROM_STEP``/``ASYNC_DISPATCH``/
  ``is_ready``: the Monitor's gradient probe (``probe_*.py``).
- ``sam_train_step``: the two-gradient training step of SAM (``sam_*.py``).
- ``devices.accelerator``: which accelerator the backend trains on (``speed``).
"""

import keras

BACKEND = keras.backend.backend()

if BACKEND == "jax":
    from kerasdoctor._backends.probe_jax import (
        ASYNC_DISPATCH, COMPILE_FROM_STEP, compile_probe, current, is_ready, snapshot, to_device,
    )
    from kerasdoctor._backends.sam_jax import sam_train_step
elif BACKEND == "tensorflow":
    from kerasdoctor._backends.probe_tensorflow import (
        ASYNC_DISPATCH, COMPILE_FROM_STEP, compile_probe, current, is_ready, snapshot, to_device,
    )
    from kerasdoctor._backends.sam_tensorflow import sam_train_step
elif BACKEND == "torch":
    from kerasdoctor._backends.probe_torch import (
        ASYNC_DISPATCH, COMPILE_FROM_STEP, compile_probe, current, is_ready, snapshot, to_device,
    )
    from kerasdoctor._backends.sam_torch import sam_train_step
else:  # pragma: no cover - the numpy and openvino backends cannot train

    def _unsupported(*args, **kwargs):
        raise NotImplementedError(f"Training is not available on the {BACKEND} backend.")

    compile_probe = current = is_ready = snapshot = to_device = sam_train_step = _unsupported
    COMPILE_FROM_STEP, ASYNC_DISPATCH = 2, False

__all__ = [
    "ASYNC_DISPATCH", "BACKEND", "COMPILE_FROM_STEP", "compile_probe", "current", "is_ready", "sam_train_step",
    "snapshot", "to_device",
]
