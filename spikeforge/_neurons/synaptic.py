"""snntorch's ``snntorch._neurons.synaptic`` import path (aliases only)."""

from ..neurons.lif import LIF
from ..neurons.synaptic import Synaptic

__all__ = ["LIF", "Synaptic"]
