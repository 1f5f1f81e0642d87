"""Fault injections with ground truth, applied to the healthy base workloads.

A ``Fault`` changes a base's recipe, its data or its FIT, and names the
finding codes ``keras-doctor check`` must produce for it (the first one is the
root cause). ``cases()`` yields every (base, fault, seed) case plus the
healthy cases, which must produce no finding of severity warning or above.

```python
from kerasdoctor.testing.faults import cases
for case in cases(held_out=False):
    result = run_check(case.workload(), seed=case.seed)
```
"""

from dataclasses import dataclass

import keras
import numpy as np

from kerasdoctor.testing.bases import BASES, BINARY, MULTICLASS, REGRESSION
from kerasdoctor.workload.loader import Workload


@dataclass(frozen=True)
class Fault:
    """One way to break a workload: ``change(base, recipe, data, fit, rng)`` -> (recipe, data, fit)."""

    name: str
    codes: tuple
    change: object
    applies: object = lambda base: True
    description: str = ""
    classic: bool = True  # applied to the classic bases; False: only where a base lists it
    # The fault keeps a subset of the training rows only to bound its run's steps, not as the fault
    # itself: its fault-free twin trains on the same rows (``Case.twin``).
    twin_on_case_data: bool = False


def _recipe(**changes):
    return lambda base, recipe, data, fit, rng: (recipe.changed(**changes), data, fit)


def _scaled_lr(factor):
    return lambda base, recipe, data, fit, rng: (
        recipe.changed(learning_rate=recipe.learning_rate * factor), data, fit)


def _float_inputs(base):
    return not base.integer_inputs


def _classification(base):
    return base.task in (MULTICLASS, BINARY)


def _unscaled(base, recipe, data, fit, rng):
    (x, y), (x_val, y_val) = data
    features = x.shape[-1]
    scale = (10.0 ** rng.uniform(1.5, 3.0, features)).astype("float32")
    offset = (10.0 ** rng.uniform(0.0, 2.5, features)).astype("float32")
    return recipe, ((x * scale + offset, y), (x_val * scale + offset, y_val)), fit


def _wrong_output_activation(base, recipe, data, fit, rng):
    # sigmoid on a multi-class target; softmax on one unit (always 1); sigmoid on standardized targets.
    activation = {MULTICLASS: "sigmoid", BINARY: "softmax", REGRESSION: "sigmoid"}[base.task]
    return recipe.changed(output_activation=activation), data, fit


def _wrong_loss(base, recipe, data, fit, rng):
    # MSE on class indices against probabilities; sparse CE on one sigmoid unit; cross-entropy on a regression.
    loss = {MULTICLASS: "mse", BINARY: "sparse_categorical_crossentropy", REGRESSION: "binary_crossentropy"}[base.task]
    return recipe.changed(loss=loss), data, fit


def _logits_without_from_logits(base, recipe, data, fit, rng):
    return recipe.changed(output_activation=None), data, fit


def _shuffled_labels(base, recipe, data, fit, rng):
    (x, y), (x_val, y_val) = data
    return recipe, ((x, rng.permutation(y)), (x_val, rng.permutation(y_val))), fit


def _tiny_data_big_model(base, recipe, data, fit, rng):
    (x, y), validation = data
    keep = rng.choice(len(y), size=max(40, len(y) // 20), replace=False)
    wide = tuple(4 * units for units in recipe.hidden) + (256,)
    epochs = max(fit["epochs"], 60)
    return recipe.changed(hidden=wide), ((x[keep], y[keep]), validation), dict(fit, epochs=epochs)


def _too_small_model(base, recipe, data, fit, rng):
    return recipe.changed(hidden=(2,)), data, fit


def _small_model_matters(base):
    # A one-unit bottleneck only hurts where the task needs more than a line.
    return base.task == MULTICLASS or base.name == "circles_mlp"


def _batch_one_momentum(base, recipe, data, fit, rng):
    (x, y), validation = data
    keep = rng.choice(len(y), size=min(len(y), 400), replace=False)
    recipe = recipe.changed(optimizer="sgd", learning_rate=0.01, momentum=0.9)
    return recipe, ((x[keep], y[keep]), validation), dict(fit, batch_size=1, epochs=3)


def _nan_inputs(base, recipe, data, fit, rng):
    (x, y), validation = data
    x = np.array(x, copy=True)
    flat = x.reshape(-1)
    flat[rng.choice(flat.size, size=max(1, flat.size // 200), replace=False)] = np.nan
    return recipe, ((x, y), validation), fit


def _leakage(base, recipe, data, fit, rng):
    # Half of the validation set replaced by copies of training samples.
    (x, y), (x_val, y_val) = data
    count = len(y_val) // 2
    rows = rng.choice(len(y), size=count, replace=False)
    x_val, y_val = np.array(x_val, copy=True), np.array(y_val, copy=True)
    x_val[:count], y_val[:count] = x[rows], y[rows]
    return recipe, ((x, y), (x_val, y_val)), fit


def _imbalance(base, recipe, data, fit, rng):
    # Keep every sample of the most common class and 3% of the others.
    (x, y), validation = data
    labels = y.astype("int64")
    major = np.bincount(labels).argmax()
    keep = (labels == major) | (rng.random(len(labels)) < 0.03)
    return recipe, ((x[keep], y[keep]), validation), fit


def _head_override(field, head_index, value):
    def change(base, recipe, data, fit, rng):
        return recipe.changed(**{field: ((base.heads[head_index], value),)}), data, fit
    return change


FAULTS = {
    fault.name: fault
    for fault in (
        Fault("lr_too_high", ("LEARNING_RATE_TOO_HIGH",), _scaled_lr(1000.0),
              description="learning rate x1000"),
        Fault("lr_too_low", ("LEARNING_RATE_TOO_LOW",), _scaled_lr(1e-3),
              description="learning rate /1000"),
        Fault("deep_sigmoid", ("VANISHING_GRADIENTS",),
              _recipe(hidden=(32,) * 10, activation="sigmoid"),
              description="ten sigmoid layers"),
        Fault("init_zeros", ("POOR_INITIALIZATION",), _recipe(kernel_initializer="zeros"),
              description="every kernel initialized to zero"),
        Fault("init_huge", ("POOR_INITIALIZATION",),
              _recipe(kernel_initializer=keras.initializers.RandomNormal(stddev=5.0)),
              description="kernels drawn with standard deviation 5"),
        Fault("dying_relu", ("DYING_RELU",),
              _recipe(bias_initializer=keras.initializers.Constant(-5.0)),
              description="ReLU biases initialized to -5"),
        Fault("unscaled_inputs", ("INPUT_NOT_NORMALIZED",), _unscaled, _float_inputs,
              description="features multiplied by 30-1000 and offset"),
        Fault("wrong_output_activation", ("OUTPUT_LOSS_MISMATCH",), _wrong_output_activation,
              description="output activation that does not fit the target"),
        Fault("wrong_loss", ("OUTPUT_LOSS_MISMATCH",), _wrong_loss,
              description="loss that does not fit the output and labels"),
        Fault("logits_without_from_logits", ("OUTPUT_LOSS_MISMATCH",), _logits_without_from_logits,
              _classification, description="linear output, cross-entropy without from_logits=True"),
        Fault("shuffled_labels", ("NOT_LEARNING",), _shuffled_labels,
              description="labels permuted at random"),
        Fault("tiny_data_big_model", ("OVERFITTING",), _tiny_data_big_model,
              description="5% of the training set, 4x wider model, 60 epochs"),
        Fault("too_small_model", ("UNDERFITTING",), _too_small_model, _small_model_matters,
              description="a two-unit hidden layer"),
        Fault("batch_one_momentum", ("LOSS_OSCILLATING",), _batch_one_momentum, twin_on_case_data=True,
              description="batch size 1, SGD lr 0.01 with momentum 0.9 (on 400 training rows)"),
        Fault("nan_inputs", ("BAD_INPUTS",), _nan_inputs, _float_inputs,
              description="0.5% of input values NaN"),
        Fault("train_val_leakage", ("BAD_INPUTS",), _leakage,
              description="half the validation set copied from the training set"),
        Fault("extreme_imbalance", ("BAD_LABELS",), _imbalance, _classification,
              description="3% of every class but the largest kept"),
        # The newer families' own faults (testing.families lists which base gets which).
        Fault("simple_rnn_long_range", ("VANISHING_GRADIENTS",), _recipe(cell="simple_rnn", bidirectional=False),
              classic=False, description="a forward SimpleRNN (tanh) where only the first step tells the class"),
        Fault("head_wrong_loss", ("OUTPUT_LOSS_MISMATCH",), _head_override("head_losses", 1, "binary_crossentropy"),
              classic=False, description="binary cross-entropy on the linear regression head"),
        Fault("head_wrong_activation", ("OUTPUT_LOSS_MISMATCH",), _head_override("head_activations", 0, "sigmoid"),
              classic=False, description="sigmoid on the multi-class head"),
        Fault("frozen_random_backbone", ("FROZEN_OR_DEAD_LAYER",), _recipe(backbone="frozen"), classic=False,
              description="the nested backbone frozen at its random initialization"),
    )
}

HEALTHY_VARIANTS = {
    "sgd_momentum": lambda recipe: recipe.changed(optimizer="sgd", learning_rate=0.05, momentum=0.9),
    "he_normal": lambda recipe: recipe.changed(kernel_initializer="he_normal"),
    "tanh": lambda recipe: recipe.changed(activation="tanh"),
    # A backbone trained on the same training split, then frozen under a new head: intended.
    "pretrained_frozen_backbone": lambda recipe: recipe.changed(backbone="pretrained_frozen"),
}
# Which bases each healthy variant runs on: the classic variants on four classic bases.
VARIANT_BASES = {
    "sgd_momentum": ("digits_cnn", "breast_cancer_mlp", "mnist1d_conv1d", "blobs_mlp"),
    "he_normal": ("digits_cnn", "breast_cancer_mlp", "mnist1d_conv1d", "blobs_mlp"),
    "tanh": ("digits_cnn", "breast_cancer_mlp", "mnist1d_conv1d", "blobs_mlp"),
    "pretrained_frozen_backbone": ("digits_backbone_cnn", "mnist1d_backbone_conv1d"),
}
FAMILIES = ("all", "classic", "new")


@dataclass(frozen=True)
class Case:
    """One benchmark case: a base, an optional fault or healthy variant, a seed, the expected codes."""

    base: str
    fault: str | None
    seed: int
    variant: str | None = None

    @property
    def name(self):
        return f"{self.base}-{self.fault or self.variant or 'healthy'}-s{self.seed}"

    @property
    def codes(self):
        return FAULTS[self.fault].codes if self.fault else ()

    @property
    def held_out(self):
        return BASES[self.base].held_out

    @property
    def family(self):
        return BASES[self.base].family

    def _changed(self):
        """(recipe, data, fit) with the variant or the fault applied; data None where unchanged."""
        base = BASES[self.base]
        recipe = base.recipe
        if self.variant:
            recipe = HEALTHY_VARIANTS[self.variant](recipe)
        if not self.fault:
            return recipe, None, dict(base.fit)
        rng = np.random.default_rng(1000 + self.seed)
        return FAULTS[self.fault].change(base, recipe, base.load(self.seed), dict(base.fit), rng)

    def workload(self):
        """A Workload (the same object `check` runs) with the fault applied."""
        base = BASES[self.base]
        recipe, loaded, fit = self._changed()

        def load():
            return loaded if loaded is not None else base.load(self.seed)

        return Workload(f"faults/{self.name}", name=self.name, build=lambda: base.build(recipe),
                        load=load, fit=fit, accepts_hp=False)

    @property
    def twin_key(self):
        """Cases with the same ``twin_key`` share one fault-free twin."""
        return self.name if self.fault and FAULTS[self.fault].twin_on_case_data else self.base

    def twin(self, seed):
        """The fault-free twin's workload at ``seed``: the base as it is, or, where the fault keeps
        a subset of the rows only to bound its steps, the base's model and FIT on this case's data
        (the same rows at every seed; the seed then varies the initialization and the order)."""
        if self.twin_key == self.base:
            return Case(self.base, None, seed).workload()
        base, data = BASES[self.base], self._changed()[1]
        name = f"{self.base}-twin-of-{self.fault}-s{self.seed}"
        return Workload(f"faults/{name}", name=name, build=lambda: base.build(base.recipe),
                        load=lambda: data, fit=dict(base.fit), accepts_hp=False)


def faults_of(base):
    """The faults applied to ``base``: those it lists, else every classic one that applies."""
    if base.faults is not None:
        return [FAULTS[name] for name in base.faults]
    return [fault for fault in FAULTS.values() if fault.classic and fault.applies(base)]


def _selected(base, held_out, family):
    if held_out is not None and base.held_out != held_out:
        return False
    return family in (None, "all") or (base.family == "classic") == (family == "classic")


def cases(*, held_out=None, family=None, seeds=(0,), healthy_seeds=(0, 1)):
    """Every faulty case (each applicable fault on each base, per seed) and the healthy ones.

    ``family``: "classic" (the first eleven bases), "new" (the newer families), or None/"all".
    """
    for name, base in BASES.items():
        if not _selected(base, held_out, family):
            continue
        for fault in faults_of(base):
            for seed in seeds:
                yield Case(name, fault.name, seed)
        for seed in healthy_seeds:
            yield Case(name, None, seed)
    for variant, names in VARIANT_BASES.items():
        for name in names:
            if _selected(BASES[name], held_out, family):
                yield Case(name, None, 0, variant)


def case_by_name(name):
    for case in cases():
        if case.name == name:
            return case
    raise KeyError(name)
