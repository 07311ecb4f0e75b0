"""snntorch's ``snntorch._layers`` import path: aliases of `spikeforge.layers` (no logic here)."""

from ..layers import BatchNormTT1d, BatchNormTT2d, GradedSpikes

__all__ = ["BatchNormTT1d", "BatchNormTT2d", "GradedSpikes"]
