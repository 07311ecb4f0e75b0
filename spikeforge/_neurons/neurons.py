"""snntorch's ``snntorch._neurons.neurons`` import path (aliases only)."""

from ..neurons._base import SpikingNeuron
from ..neurons.lif import LIF
from ..surrogate import atan

__all__ = ["LIF", "SpikingNeuron", "atan"]
