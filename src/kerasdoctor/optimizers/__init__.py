"""Optimizers Keras lacks, for every backend: update rules, wrappers, and SAM."""

from kerasdoctor.optimizers.adabelief import AdaBelief
from kerasdoctor.optimizers.agc import AdaptiveGradientClipping
from kerasdoctor.optimizers.lookahead import Lookahead
from kerasdoctor.optimizers.prodigy import Prodigy
from kerasdoctor.optimizers.radam import RAdam
from kerasdoctor.optimizers.registry import OPTIMIZERS
from kerasdoctor.optimizers.sam import SAM
from kerasdoctor.optimizers.schedule_free_sgd import ScheduleFreeSGD

__all__ = [
    "OPTIMIZERS",
    "AdaBelief",
    "AdaptiveGradientClipping",
    "Lookahead",
    "Prodigy",
    "RAdam",
    "SAM",
    "ScheduleFreeSGD",
]
