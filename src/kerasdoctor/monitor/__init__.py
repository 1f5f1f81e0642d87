"""Observe: Keras callbacks that only watch a training run."""

from kerasdoctor.monitor.monitor import Monitor

__all__ = ["Monitor"]
