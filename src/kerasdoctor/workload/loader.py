"""Loads a workload: a Python file (build_model, load_data, FIT) or a .keras model with data."""

import inspect
import warnings
import zipfile
from pathlib import Path

import keras
import numpy as np

from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.workload import data as data_module
from kerasdoctor.workload.source import call_user, describe_error, run_file

DEFAULT_FIT = {"epochs": 10, "batch_size": 32}
FIT_KEYS = {"epochs", "batch_size", "shuffle", "class_weight", "steps_per_epoch", "validation_steps", "validation_freq",
            "callbacks"}
CONTRACT = (
    "A workload file defines build_model(hp=None) returning a compiled keras.Model, "
    "load_data() returning (x_train, y_train), (x_val, y_val) or (x, y) (or training and "
    "validation pipelines), and optionally "
    "FIT = {'epochs': ..., 'batch_size': ...}."
)


def _check_model(model, what):
    if not isinstance(model, keras.Model):
        raise KerasDoctorError(
            f"{what} must return a keras.Model. Received: an object of type {type(model).__name__}"
        )
    if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
        raise KerasDoctorError(
            f"{what} returned a model that is not compiled. Call "
            "model.compile(optimizer=..., loss=..., metrics=[...]) before returning it."
        )
    if getattr(model, "loss", None) is None:
        raise KerasDoctorError(
            f"{what} returned a model compiled without a loss. Pass loss=... to model.compile()."
        )
    return model


def _check_fit(fit, path):
    if fit is None:
        return dict(DEFAULT_FIT)
    if not isinstance(fit, dict):
        raise KerasDoctorError(
            f"FIT in {path} must be a dict of model.fit arguments. Received: FIT of type {type(fit).__name__}"
        )
    unknown = sorted(set(fit) - FIT_KEYS)
    if unknown:
        raise KerasDoctorError(
            f"FIT in {path} has keys keras-doctor does not pass to fit: {unknown}. "
            f"Allowed: {sorted(FIT_KEYS)}."
        )
    for key in ("epochs", "batch_size"):
        value = fit.get(key, DEFAULT_FIT[key])
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise KerasDoctorError(f"FIT['{key}'] must be a positive integer. Received: {key}={value!r}")
    callbacks = fit.get("callbacks", [])
    if not isinstance(callbacks, (list, tuple)) or not all(isinstance(c, keras.callbacks.Callback) for c in callbacks):
        raise KerasDoctorError(
            f"FIT['callbacks'] in {path} must be a list of keras.callbacks.Callback. Received: {callbacks!r}"[:400]
        )
    return {**DEFAULT_FIT, **fit}


class Workload:
    """A training setup: builds fresh compiled models and loads validated data."""

    def __init__(self, path, *, name, build, load, fit, accepts_hp, data_path=None, unsafe=False):
        self.path = Path(path)
        self.data_path = None if data_path is None else Path(data_path)  # a .keras model's --data
        self.unsafe = unsafe
        self.name = name
        self._build, self._load = build, load
        self.fit = fit
        self.accepts_hp = accepts_hp

    def build_model(self, hp=None):
        if self.accepts_hp and hp is None:
            # A KerasTuner-style build_model(hp) calls hp.Int(...) unguarded: give it defaults.
            from kerasdoctor.tune.hp import DefaultHyperParameters

            hp = DefaultHyperParameters()
        args = (hp,) if self.accepts_hp else ()
        model = call_user(self._build, self.path, "build_model()", *args)
        return _check_model(model, "build_model()")

    def load_data(self, seed=0):
        return data_module.validate(call_user(self._load, self.path, "load_data()"), seed, self.fit)


def _accepts_argument(function):
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(
        p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in parameters
    )


def _python_workload(path):
    module = run_file(path)
    for name in ("build_model", "load_data"):
        if not callable(getattr(module, name, None)):
            raise KerasDoctorError(f"The workload {path} does not define {name}(). {CONTRACT}")
    return Workload(
        path,
        name=path.stem,
        build=module.build_model,
        load=module.load_data,
        fit=_check_fit(getattr(module, "FIT", None), path),
        accepts_hp=_accepts_argument(module.build_model),
    )


def _load_keras_model(path, unsafe):
    if not zipfile.is_zipfile(path):
        raise KerasDoctorError(
            f"{path} is not a readable .keras file (not a zip archive). Save models with model.save('model.keras')."
        )
    try:
        with warnings.catch_warnings():
            # Keras warns that it skips the saved optimizer variables when they do not match the
            # optimizer it builds; usually the model was saved compiled but untrained, so there was no
            # state to load. The weights load either way, and a run needs no earlier optimizer state.
            warnings.filterwarnings("ignore", message=r"Skipping variable loading for optimizer", category=UserWarning)
            return keras.saving.load_model(path, safe_mode=not unsafe, compile=True)
    except Exception as error:
        text = str(error)
        if "safe_mode" in text or "unsafe" in text.lower() or "lambda" in text.lower():
            raise KerasDoctorError(
                f"{path} needs unsafe deserialization (it holds Python code such as a Lambda layer). "
                "Only if you trust this file, run again with --unsafe."
            ) from None
        raise KerasDoctorError(f"Could not load the Keras model {path}: {describe_error(error)}") from None


def _read_npz(data_path):
    data_path = Path(data_path)
    if not data_path.is_file():
        raise KerasDoctorError(f"Data file not found: {data_path}")
    try:
        with np.load(data_path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except Exception as error:
        raise KerasDoctorError(
            f"Could not read the data file {data_path} as .npz: {describe_error(error)}"
        ) from None
    missing = [key for key in ("x_train", "y_train") if key not in arrays]
    if missing:
        raise KerasDoctorError(
            f"The data file {data_path} lacks {missing}: it must hold x_train, y_train "
            f"and optionally x_val, y_val. Received keys: {sorted(arrays)}"
        )
    if ("x_val" in arrays) != ("y_val" in arrays):
        raise KerasDoctorError(f"The data file {data_path} must hold both x_val and y_val, or neither.")
    if "x_val" in arrays:
        return (arrays["x_train"], arrays["y_train"]), (arrays["x_val"], arrays["y_val"])
    return arrays["x_train"], arrays["y_train"]


def _keras_workload(path, data, unsafe):
    if data is None:
        raise KerasDoctorError(
            f"{path} is a saved model: pass its data with --data FILE.npz holding "
            "x_train, y_train and optionally x_val, y_val."
        )
    _check_model(_load_keras_model(path, unsafe), f"The saved model {path}")
    arrays = _read_npz(data)
    return Workload(
        path,
        name=path.stem,
        build=lambda: _load_keras_model(path, unsafe),
        load=lambda: arrays,
        fit=dict(DEFAULT_FIT),
        accepts_hp=False,
        data_path=data,
        unsafe=unsafe,
    )


def load_workload(path, *, data=None, unsafe=False):
    """Loads a workload file (``.py``) or a saved model (``.keras`` with ``data``).

    Raises ``KerasDoctorError`` with one clear line for any bad input.
    """
    path = Path(path)
    if not path.exists():
        raise KerasDoctorError(f"Workload file not found: {path}. {CONTRACT}")
    if path.is_dir():
        raise KerasDoctorError(f"{path} is a folder; expected a workload .py file or a .keras model.")
    if path.suffix == ".py":
        if data is not None:
            raise KerasDoctorError("--data is for .keras models; a .py workload loads its own data.")
        return _python_workload(path)
    if path.suffix == ".keras":
        return _keras_workload(path, data, unsafe)
    raise KerasDoctorError(
        f"Unsupported workload {path}: expected a .py workload file or a .keras model. "
        f"Received: a '{path.suffix or 'no'}' extension"
    )
