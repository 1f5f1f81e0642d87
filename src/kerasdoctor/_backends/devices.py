"""Which accelerator the active backend trains on (for ``speed``'s choice of knobs), and JAX's
persistent compilation cache."""

import contextlib
import tempfile

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


def gpu_compute_capability():
    """The first GPU's CUDA compute capability as a number (8.0 for Ampere, 9.0 for Hopper), or
    None where there is no CUDA GPU or the backend does not say."""
    backend = keras.backend.backend()
    try:
        if backend == "jax":
            import jax

            device = jax.devices()[0]
            value = getattr(device, "compute_capability", None) if device.platform == "gpu" else None
        elif backend == "torch":
            import torch

            value = "%d.%d" % torch.cuda.get_device_capability(0) if torch.cuda.is_available() else None
        elif backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            found = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability") if gpus else None
            value = "%d.%d" % found if isinstance(found, tuple) else found
        else:
            value = None
        return float(value) if value is not None else None
    except Exception:  # noqa: BLE001 - a backend that cannot say: unknown
        return None


def default_compilation_cache():
    """Where a persistent compilation cache lives by default: ``$XDG_CACHE_HOME`` (else
    ``~/.cache``) ``/keras-doctor/jax-compilation-cache``."""
    import os
    from pathlib import Path

    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "keras-doctor" / "jax-compilation-cache"


def use_compilation_cache(directory=None):
    """Turns on JAX's persistent compilation cache in ``directory`` (default:
    ``default_compilation_cache()``) for this process: a later process that compiles the same
    step reads it from disk. Call it before the process compiles anything (JAX decides once
    whether a process uses the cache). Returns the directory, or None on another backend."""
    if keras.backend.backend() != "jax":
        return None
    import jax

    directory = str(directory or default_compilation_cache())
    jax.config.update("jax_compilation_cache_dir", directory)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)  # small models' steps too
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return directory


@contextlib.contextmanager
def shared_compilation_cache():
    """A persistent compilation cache of its own for what this process compiles inside the block.

    One command that trains several copies of one model (``repair``'s candidates: the same train
    and probe steps with another learning rate or initializer) compiles each step once; every
    later copy reads it from the cache. The cache lives in a new temporary folder, cold at the
    start and removed at the end, so nothing persists and a run's time does not depend on an
    earlier one. At the end JAX's cache is back where it was before the block (no folder, not
    initialized), so what the process compiles later is neither read from nor written to the
    removed folder, and a later block or ``use_compilation_cache`` starts afresh. Yields the
    folder, or None when nothing was turned on: another backend than JAX, or a cache the user
    already chose (``jax_compilation_cache_dir``), which is left as it is.
    """
    if keras.backend.backend() != "jax":
        yield None
        return
    import jax

    if jax.config.jax_compilation_cache_dir:  # a cache chosen by the user
        yield None
        return
    names = ("jax_persistent_cache_min_compile_time_secs", "jax_persistent_cache_min_entry_size_bytes")
    before = {name: getattr(jax.config, name) for name in names}
    with tempfile.TemporaryDirectory(prefix="keras-doctor-compilation-cache-") as folder:
        use_compilation_cache(folder)
        try:
            yield folder
        finally:
            from jax.experimental.compilation_cache import compilation_cache

            jax.config.update("jax_compilation_cache_dir", None)
            for name, value in before.items():
                jax.config.update(name, value)
            compilation_cache.reset_cache()  # forgets the folder it opened
