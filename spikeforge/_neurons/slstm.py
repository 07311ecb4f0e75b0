"""snntorch's ``snntorch._neurons.slstm`` import path (aliases only)."""

from ..neurons._base import SpikingNeuron
from ..neurons.lstm import SLSTM

__all__ = ["SLSTM", "SpikingNeuron"]
