"""snntorch's ``functional.probe`` path; the monitors live in `spikeforge.metrics`."""

from ..metrics._probe import (
    AttributeMonitor,
    BaseMonitor,
    GradInputMonitor,
    GradOutputMonitor,
    InputMonitor,
    OutputMonitor,
    unpack_len1_tuple,
)

__all__ = [
    "BaseMonitor",
    "OutputMonitor",
    "InputMonitor",
    "AttributeMonitor",
    "GradInputMonitor",
    "GradOutputMonitor",
    "unpack_len1_tuple",
]
