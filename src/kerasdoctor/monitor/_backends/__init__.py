"""The one place with backend-specific code: taking a gradient and snapshotting values."""

import keras

_BACKEND = keras.backend.backend()

if _BACKEND == "jax":
    from kerasdoctor.monitor._backends.jax import compile_probe, snapshot
elif _BACKEND == "tensorflow":
    from kerasdoctor.monitor._backends.tensorflow import compile_probe, snapshot
elif _BACKEND == "torch":
    from kerasdoctor.monitor._backends.torch import compile_probe, snapshot
else:  # pragma: no cover - numpy/openvino cannot train
    def compile_probe(program, example):
        raise NotImplementedError(f"Gradients are not available on the {_BACKEND} backend.")

    def snapshot(variables):
        return [keras.ops.convert_to_numpy(v.value).copy() for v in variables]

__all__ = ["compile_probe", "snapshot"]
