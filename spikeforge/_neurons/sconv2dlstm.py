"""snntorch's ``snntorch._neurons.sconv2dlstm`` import path (aliases only)."""

from ..neurons._base import SpikingNeuron
from ..neurons.lstm import SConv2dLSTM

__all__ = ["SConv2dLSTM", "SpikingNeuron"]
