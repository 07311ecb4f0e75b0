"""Neuron modules (snntorch-compatible)."""

from ._base import SpikingNeuron
from .alpha import Alpha
from .lapicque import Lapicque
from .leaky import Leaky
from .lif import LIF
from .recurrent import RecurrentOneToOne, RLeaky, RSynaptic
from .synaptic import Synaptic

__all__ = ["LIF", "Alpha", "Lapicque", "Leaky", "RLeaky", "RSynaptic", "RecurrentOneToOne", "SpikingNeuron", "Synaptic"]
