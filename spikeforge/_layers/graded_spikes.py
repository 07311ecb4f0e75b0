"""snntorch's ``snntorch._layers.graded_spikes`` import path (aliases only)."""

from ..layers import GradedSpikes

__all__ = ["GradedSpikes"]
