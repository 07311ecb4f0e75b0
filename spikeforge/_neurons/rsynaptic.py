"""snntorch's ``snntorch._neurons.rsynaptic`` import path (aliases only)."""

from ..neurons.lif import LIF
from ..neurons.recurrent import RecurrentOneToOne, RSynaptic

__all__ = ["LIF", "RSynaptic", "RecurrentOneToOne"]
