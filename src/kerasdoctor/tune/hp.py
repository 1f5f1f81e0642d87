"""KerasTuner's ``HyperParameters`` methods, backed by an Optuna trial.

A KerasTuner user's ``build_model(hp)`` calls ``hp.Int``, ``hp.Float``, ``hp.Choice``,
``hp.Boolean`` and ``hp.Fixed`` (with ``sampling="log"``, ``step``, ``default``,
``parent_name``/``parent_values`` and ``conditional_scope``). ``TrialHyperParameters``
answers them from an Optuna trial, so the same function works unchanged under
``keras-doctor tune``; ``DefaultHyperParameters`` answers every call with its default.
"""

import contextlib
import math

from kerasdoctor.errors import KerasDoctorError

SAMPLINGS = ("linear", "log", "reverse_log")


def _check_sampling(name, sampling, low):
    sampling = (sampling or "linear").lower()
    if sampling not in SAMPLINGS:
        raise KerasDoctorError(
            f"hp {name!r}: sampling must be one of {SAMPLINGS}. Received: sampling={sampling!r}")
    if sampling != "linear" and low <= 0:
        raise KerasDoctorError(
            f"hp {name!r}: log sampling needs min_value > 0. Received: min_value={low}")
    return sampling


def _check_range(name, low, high):
    if low > high:
        raise KerasDoctorError(
            f"hp {name!r}: min_value must not exceed max_value. Received: min_value={low}, max_value={high}")


class _Base:
    """The shared bookkeeping: values by name, conditions, and the KerasTuner accessors."""

    def __init__(self):
        self.values = {}
        self._conditions = []

    # KerasTuner's accessors.
    def get(self, name):
        if name not in self.values:
            raise KeyError(f"{name} does not exist.")
        return self.values[name]

    def __getitem__(self, name):
        return self.get(name)

    def __contains__(self, name):
        return name in self.values

    @contextlib.contextmanager
    def conditional_scope(self, parent_name, parent_values):
        values = parent_values if isinstance(parent_values, (list, tuple)) else [parent_values]
        self._conditions.append((parent_name, list(values)))
        try:
            yield
        finally:
            self._conditions.pop()

    def _active(self, parent_name=None, parent_values=None):
        conditions = list(self._conditions)
        if parent_name is not None:
            values = parent_values if isinstance(parent_values, (list, tuple)) else [parent_values]
            conditions.append((parent_name, list(values)))
        return all(self.values.get(name) in values for name, values in conditions)

    def _keep(self, name, value):
        self.values[name] = value
        return value

    def Fixed(self, name, value, parent_name=None, parent_values=None):
        return self._keep(name, value)

    def Boolean(self, name, default=False, parent_name=None, parent_values=None):
        return self.Choice(name, [False, True], default=default, parent_name=parent_name,
                           parent_values=parent_values)


class DefaultHyperParameters(_Base):
    """Answers every call with its default (KerasTuner's: the minimum or first value when none)."""

    def Int(self, name, min_value, max_value, step=None, sampling="linear", default=None,
            parent_name=None, parent_values=None):
        _check_range(name, min_value, max_value)
        _check_sampling(name, sampling, min_value)
        return self._keep(name, int(min_value if default is None else default))

    def Float(self, name, min_value, max_value, step=None, sampling="linear", default=None,
              parent_name=None, parent_values=None):
        _check_range(name, min_value, max_value)
        _check_sampling(name, sampling, min_value)
        return self._keep(name, float(min_value if default is None else default))

    def Choice(self, name, values, ordered=None, default=None, parent_name=None, parent_values=None):
        if not values:
            raise KerasDoctorError(f"hp {name!r}: Choice needs at least one value. Received: values={values!r}")
        return self._keep(name, values[0] if default is None else default)


class TrialHyperParameters(_Base):
    """Suggests each hyperparameter from an Optuna trial; inactive conditional ones get their default."""

    def __init__(self, trial):
        super().__init__()
        self.trial = trial
        self._defaults = DefaultHyperParameters()

    def _settled(self, name, parent_name, parent_values, fallback):
        """The value when there is nothing to suggest: already chosen, or inactive (the default)."""
        if name in self.values:
            return self.values[name]
        if not self._active(parent_name, parent_values):
            return self._keep(name, fallback())
        return None

    def Int(self, name, min_value, max_value, step=None, sampling="linear", default=None,
            parent_name=None, parent_values=None):
        _check_range(name, min_value, max_value)
        sampling = _check_sampling(name, sampling, min_value)
        settled = self._settled(name, parent_name, parent_values,
                                lambda: self._defaults.Int(name, min_value, max_value, default=default))
        if settled is not None:
            return settled
        if sampling == "linear":
            value = self.trial.suggest_int(name, int(min_value), int(max_value), step=int(step or 1))
        elif step and step > 1:  # KerasTuner: with log sampling, step multiplies
            count = int(math.floor(math.log(max_value / min_value, step) + 1e-9))
            value = self.trial.suggest_categorical(name, [int(min_value * step**k) for k in range(count + 1)])
        else:
            value = self.trial.suggest_int(name, int(min_value), int(max_value), log=True)
        return self._keep(name, value)

    def Float(self, name, min_value, max_value, step=None, sampling="linear", default=None,
              parent_name=None, parent_values=None):
        _check_range(name, min_value, max_value)
        sampling = _check_sampling(name, sampling, min_value)
        settled = self._settled(name, parent_name, parent_values,
                                lambda: self._defaults.Float(name, min_value, max_value, default=default))
        if settled is not None:
            return settled
        if sampling == "linear":
            value = self.trial.suggest_float(name, float(min_value), float(max_value), step=step)
        else:
            value = self.trial.suggest_float(name, float(min_value), float(max_value), log=True)
        return self._keep(name, value)

    def Choice(self, name, values, ordered=None, default=None, parent_name=None, parent_values=None):
        if not values:
            raise KerasDoctorError(f"hp {name!r}: Choice needs at least one value. Received: values={values!r}")
        settled = self._settled(name, parent_name, parent_values,
                                lambda: values[0] if default is None else default)
        if settled is not None:
            return settled
        return self._keep(name, self.trial.suggest_categorical(name, list(values)))
