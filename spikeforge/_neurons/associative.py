"""snntorch's ``snntorch._neurons.associative`` import path (aliases only)."""

from ..neurons._base import SpikingNeuron
from ..neurons.associative import AssociativeLeaky

__all__ = ["AssociativeLeaky", "SpikingNeuron"]
