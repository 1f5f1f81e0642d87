"""Losses Keras lacks, for class imbalance and noisy labels; every backend."""

from kerasdoctor.losses.asymmetric import AsymmetricLoss
from kerasdoctor.losses.bi_tempered import BiTemperedLogistic, tempered_softmax
from kerasdoctor.losses.class_balanced import ClassBalanced
from kerasdoctor.losses.ldam import LDAM
from kerasdoctor.losses.poly import PolyLoss
from kerasdoctor.losses.registry import LOSSES
from kerasdoctor.losses.sparse_label_smoothing import SparseCategoricalCrossentropyWithSmoothing
from kerasdoctor.losses.symmetric_cross_entropy import SymmetricCrossEntropy

__all__ = [
    "LOSSES",
    "AsymmetricLoss",
    "BiTemperedLogistic",
    "ClassBalanced",
    "LDAM",
    "PolyLoss",
    "SparseCategoricalCrossentropyWithSmoothing",
    "SymmetricCrossEntropy",
    "tempered_softmax",
]
