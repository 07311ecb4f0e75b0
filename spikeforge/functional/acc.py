"""snntorch's ``functional.acc`` path; the code lives in `spikeforge.metrics`."""

from ..metrics._accuracy import accuracy_rate, accuracy_temporal

__all__ = ["accuracy_rate", "accuracy_temporal"]
