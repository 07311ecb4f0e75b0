"""Metrics: accuracy from spike trains and probes (monitors) of layer outputs and states."""

from ._accuracy import accuracy_rate, accuracy_temporal

__all__ = ["accuracy_rate", "accuracy_temporal"]
from ._probe import (  # noqa: E402
    AttributeMonitor,
    BaseMonitor,
    GradInputMonitor,
    GradOutputMonitor,
    InputMonitor,
    OutputMonitor,
)

__all__ += [
    "BaseMonitor",
    "OutputMonitor",
    "InputMonitor",
    "AttributeMonitor",
    "GradInputMonitor",
    "GradOutputMonitor",
]
