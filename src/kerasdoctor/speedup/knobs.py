"""Speed knobs: one change to how a workload trains, tried side by side with the baseline.

A ``Settings`` is what a timing or accuracy run trains with (batch size, learning-rate scale,
XLA, ``steps_per_execution``, the dtype policy). A ``Knob`` turns the baseline's settings into
its own; ``changes_math`` says whether it can change the result (batch size, precision), in
which case ``speed`` checks its accuracy over several seeds before recommending it.
"""

import importlib.util
import math
import os
import sys
from dataclasses import asdict, dataclass, replace

import keras

from kerasdoctor._backends.devices import accelerator, gpu_compute_capability
from kerasdoctor.workload.pipelines import pipeline_kind

# Each batch-size knob keeps at least this many steps an epoch, so the comparison stays about
# training, not about a handful of giant steps.
MIN_STEPS = 20
BATCH_FACTORS = (2, 4, 8)
STEPS_PER_EXECUTION = 16


@dataclass(frozen=True)
class Settings:
    batch_size: int | None  # None: the pipeline makes its batches
    learning_rate_scale: float = 1.0
    jit_compile: object = "auto"
    steps_per_execution: int = 1
    dtype_policy: str | None = None
    data_parallel: bool = False  # keras.distribution.DataParallel over the local devices (JAX)
    backend: str | None = None  # another backend, in a process of its own
    compilation_cache: bool = False  # JAX's persistent compilation cache (runs in processes of their own)
    prefetch: bool = False  # a tf.data training pipeline prefetches (``.prefetch(AUTOTUNE)``)

    def changed(self, **changes):
        return replace(self, **changes)

    def to_dict(self):
        return asdict(self)


@dataclass(frozen=True)
class Knob:
    name: str
    changes_math: bool
    changes: tuple  # ((field, value), ...) applied to the baseline's settings
    description: str
    group: str  # knobs of one group are alternatives: a combination takes one of each group

    def apply(self, settings):
        return settings.changed(**dict(self.changes))


def cpu_flags():
    """The CPU's feature flags (Linux ``/proc/cpuinfo``); an empty set where they cannot be read."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def local_devices():
    """The devices ``keras.distribution`` can spread a batch over (JAX only; else none)."""
    if keras.backend.backend() != "jax":
        return []
    try:
        return list(keras.distribution.list_devices())
    except Exception:  # noqa: BLE001 - no device list: no data parallelism
        return []


BACKEND_MODULES = {"jax": "jax", "tensorflow": "tensorflow", "torch": "torch"}


def installed_backends():
    """The Keras backends whose framework is installed here."""
    return [name for name, module in BACKEND_MODULES.items() if importlib.util.find_spec(module) is not None]


def facts():
    """What decides which knobs apply: the backend, the accelerator and its devices, bf16 support of the CPU."""
    flags = cpu_flags()
    return {
        "backend": keras.backend.backend(),
        "accelerator": accelerator(),
        "gpu_capability": gpu_compute_capability(),
        "devices": len(local_devices()),
        "backends": installed_backends(),
        "cpu_bf16": bool({"avx512_bf16", "amx_bf16"} & flags),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
    }


def checked_scale(factor, measured_ratio):
    """The scaling rule (sqrt or linear) nearer, on a log scale, to the ratio of lr_find's
    suggestions at the larger and the baseline batch size; (scale, rule)."""
    rules = {"sqrt": math.sqrt(factor), "linear": float(factor)}
    rule = min(rules, key=lambda name: abs(math.log(rules[name]) - math.log(measured_ratio)))
    return rules[rule], rule


def sqrt_scale(factor):
    """The learning-rate scale for a batch ``factor`` times larger: sqrt for adaptive optimizers
    (Adam and its kin; Malladi et al., 2022), linear for SGD (Goyal et al., 2017)."""
    return math.sqrt(factor)


def already_prefetches(dataset):
    """Whether a ``tf.data`` pipeline's last step is a prefetch."""
    return "prefetch" in type(dataset).__name__.lower()


def candidates(found, baseline, *, samples, optimizer, python_workload=True, pipeline=None, rate_is_number=True):
    """The knobs that apply, and (name, why) for the ones that do not. ``pipeline``: the training
    pipeline of a pipeline workload (its kind decides the input knobs); ``rate_is_number``: whether
    the compiled learning rate is a number, which a batch-size knob scales (not a schedule)."""
    knobs, skipped = [], []
    for backend in found.get("backends", ()):
        if backend == found["backend"]:
            continue
        if python_workload:
            knobs.append(Knob(f"backend {backend}", True, (("backend", backend),),
                              f"the {backend} backend (KERAS_BACKEND={backend}), in a process of its own", "backend"))
        else:
            skipped.append((f"backend {backend}", "a .keras model with --data runs on this backend only"))
    if found["backend"] == "torch":  # "auto" leaves torch.compile off
        knobs.append(Knob("jit_compile", False, (("jit_compile", True),),
                          "jit_compile=True: torch.compile the train step", "jit"))
    else:  # "auto" compiles with XLA where it can; XLA can lose on small or dynamic models
        knobs.append(Knob("no jit", False, (("jit_compile", False),),
                          "jit_compile=False: no XLA compilation of the train step", "jit"))
    if baseline.batch_size is None:
        skipped.append(("batch size", "the pipeline makes its own batches"))
    elif not rate_is_number:
        skipped.append(("batch size", "the learning rate is a schedule, which a larger batch would need scaled "
                                      "with it; speed scales a number only"))
    else:
        linear = optimizer.lower() == "sgd"
        for factor in BATCH_FACTORS:
            size = baseline.batch_size * factor
            if samples // size < MIN_STEPS:
                skipped.append((f"batch x{factor}", f"{samples} samples make fewer than {MIN_STEPS} steps of {size}"))
                continue
            scale = float(factor) if linear else sqrt_scale(factor)
            knobs.append(Knob(f"batch x{factor}", True, (("batch_size", size), ("learning_rate_scale", scale)),
                              f"batch size {size}, learning rate x{scale:.3g} ({'linear' if linear else 'sqrt'} scaling)",
                              "batch"))
    steps = None if baseline.batch_size is None else samples // baseline.batch_size
    if found["backend"] == "torch":
        skipped.append(("steps_per_execution", "Keras runs one step per execution on PyTorch"))
    elif steps is None or steps >= 2 * STEPS_PER_EXECUTION:
        knobs.append(Knob(f"steps_per_execution={STEPS_PER_EXECUTION}", False,
                          (("steps_per_execution", STEPS_PER_EXECUTION),),
                          f"{STEPS_PER_EXECUTION} training steps per call into the compiled function "
                          "(callbacks see every 16th batch)", "execution"))
    else:
        skipped.append(("steps_per_execution", f"{steps} steps an epoch"))
    kind = None if pipeline is None else pipeline_kind(pipeline)
    if kind == "tf.data" and not already_prefetches(pipeline):
        knobs.append(Knob("prefetch", False, (("prefetch", True),),
                          "the tf.data pipeline makes the next batches while a step runs (.prefetch(AUTOTUNE))",
                          "input"))
    elif kind == "tf.data":
        skipped.append(("prefetch", "the tf.data pipeline already prefetches"))
    elif pipeline is None:
        skipped.append(("prefetch", "Keras makes and prefetches the batches of arrays itself"))
    else:
        skipped.append(("prefetch", f"a {kind or 'generator'} pipeline has no prefetch knob here"))
    if found["backend"] != "jax":
        skipped.append(("compilation cache", "a persistent compilation cache is tried on JAX only"))
    elif not python_workload:
        skipped.append(("compilation cache", "a .keras model with --data is timed in this process only"))
    else:
        knobs.append(Knob("compilation cache", False, (("compilation_cache", True),),
                          "JAX's persistent compilation cache: a later run of the same model reads its "
                          "compiled steps from disk", "cache"))
    devices = found.get("devices", 0)
    if devices > 1 and baseline.batch_size is not None and baseline.batch_size % devices == 0:
        knobs.append(Knob(f"data parallel x{devices}", False, (("data_parallel", True),),
                          f"keras.distribution.DataParallel: each batch split over {devices} devices", "parallel"))
    elif devices > 1:
        skipped.append(("data parallel", f"the batch size is not a multiple of the {devices} devices"
                        if baseline.batch_size else "the pipeline's batch size is not known"))
    if found["accelerator"] in ("gpu", "tpu"):
        policies = ["mixed_float16"] if found["accelerator"] == "gpu" else ["mixed_bfloat16"]
        if found["accelerator"] == "gpu" and (found.get("gpu_capability") or 0) >= 8.0:
            policies.append("mixed_bfloat16")  # Ampere and later: bfloat16 without loss scaling
        for policy in policies:
            knobs.append(Knob(policy, True, (("dtype_policy", policy),),
                              f"{policy} compute, float32 variables"
                              + (" (loss scaling for float16)" if policy == "mixed_float16" else ""), "precision"))
    elif found["cpu_bf16"]:
        knobs.append(Knob("mixed_bfloat16", True, (("dtype_policy", "mixed_bfloat16"),),
                          "bfloat16 compute on a CPU with AVX512-BF16/AMX, float32 variables", "precision"))
    else:
        skipped.append(("mixed precision", "no GPU, and the CPU reports neither AVX512-BF16 nor AMX"))
    return knobs, skipped
