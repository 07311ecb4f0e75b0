"""snntorch's ``snntorch._neurons.rleaky`` import path (aliases only)."""

from ..neurons.lif import LIF
from ..neurons.recurrent import RecurrentOneToOne, RLeaky

__all__ = ["LIF", "RLeaky", "RecurrentOneToOne"]
