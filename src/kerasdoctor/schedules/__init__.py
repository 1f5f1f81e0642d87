"""Learning-rate schedules Keras lacks.

A linear warm-up followed by cosine decay needs nothing new: Keras's
`keras.optimizers.schedules.CosineDecay(initial_learning_rate, decay_steps,
warmup_target=..., warmup_steps=...)` expresses it.
"""

from kerasdoctor.schedules.cyclical import (
    CyclicalLearningRate,
    ExponentialCyclicalLearningRate,
    Triangular2CyclicalLearningRate,
    TriangularCyclicalLearningRate,
)
from kerasdoctor.schedules.one_cycle import OneCycle
from kerasdoctor.schedules.per_batch import ScheduleCallback
from kerasdoctor.schedules.registry import SCHEDULES

__all__ = [
    "SCHEDULES",
    "CyclicalLearningRate",
    "ExponentialCyclicalLearningRate",
    "OneCycle",
    "ScheduleCallback",
    "Triangular2CyclicalLearningRate",
    "TriangularCyclicalLearningRate",
]
