"""Neuron modules (snntorch-compatible)."""

from ._base import SpikingNeuron
from ._jit import reset_traced
from .alpha import Alpha
from .associative import AssociativeLeaky
from .deltaleaky import DeltaLeaky
from .lapicque import Lapicque
from .leaky import Leaky
from .lif import LIF
from .lstm import SLSTM, SConv2dLSTM
from .parallel import LeakyParallel
from .recurrent import RecurrentOneToOne, RLeaky, RSynaptic
from .stateleaky import LinearLeaky, StateLeaky
from .synaptic import Synaptic

__all__ = [
    "LIF", "Alpha", "AssociativeLeaky", "DeltaLeaky", "Lapicque", "Leaky", "LeakyParallel", "LinearLeaky",
    "RLeaky", "RSynaptic", "RecurrentOneToOne", "SConv2dLSTM", "SLSTM", "SpikingNeuron", "StateLeaky",
    "Synaptic", "reset_traced",
]
