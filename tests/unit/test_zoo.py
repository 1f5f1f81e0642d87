"""The random-model zoo: drawn from seeds, within its stated distributions, labelled by outcome."""

import math

from kerasdoctor.testing.zoo import (
    ACTIVATIONS, BATCH_SIZES, MAX_STEPS, OPTIMIZERS, TASKS, TRAIN_SAMPLES, ZooSpec, _load, zoo_model,
)


def test_a_zoo_model_is_the_same_for_the_same_seed_and_differs_across_seeds():
    assert zoo_model(11) == zoo_model(11)
    assert len({zoo_model(seed) for seed in range(50)}) == 50


def test_zoo_models_stay_within_the_stated_distributions_and_step_budget():
    for seed in range(300):
        spec = zoo_model(seed)
        assert spec.task in TASKS and spec.activation in ACTIVATIONS and spec.optimizer in OPTIMIZERS
        assert 1 <= len(spec.widths) <= 10 and spec.batch_size in BATCH_SIZES
        assert 1e-4 <= spec.learning_rate <= 1.0
        steps = spec.epochs * math.ceil(TRAIN_SAMPLES[spec.task] / spec.batch_size)
        assert steps <= MAX_STEPS and spec.epochs <= 300


def _spec(task="moons"):
    return ZooSpec(seed=0, task=task, widths=(8,), activation="relu", initializer="he_normal", batch_norm=False,
                   dropout=0.0, optimizer="adam", learning_rate=1e-3, batch_size=32, epochs=20)


def test_zoo_label_is_healthy_only_when_the_run_reaches_a_good_score_and_keeps_it():
    spec = _spec()  # best known 0.97: healthy from 0.873 on
    assert spec.healthy([0.5, 0.8, 0.9, 0.91])
    assert not spec.healthy([0.5, 0.6, 0.7])  # never good enough
    assert not spec.healthy([0.5, 0.95, 0.6])  # good, then lost it
    assert not spec.healthy([0.5, 0.95, float("nan")])


def test_the_step_budget_counts_the_training_samples_each_task_really_has():
    for task in TASKS:
        (x_train, _), _ = _load(task, seed=0)
        assert len(x_train) == TRAIN_SAMPLES[task], task
