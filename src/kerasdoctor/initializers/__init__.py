"""Initializers Keras lacks: LSUV, and the variance-scaling initializer that fits an activation."""

from kerasdoctor.initializers.fit import fit_initializers, for_activation
from kerasdoctor.initializers.lsuv import lsuv

__all__ = ["fit_initializers", "for_activation", "lsuv"]
