"""Metrics: accuracy from spike trains and probes (monitors) of layer outputs and states."""

from ._accuracy import accuracy_rate, accuracy_temporal

__all__ = ["accuracy_rate", "accuracy_temporal"]
