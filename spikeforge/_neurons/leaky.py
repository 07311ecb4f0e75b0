"""snntorch's ``snntorch._neurons.leaky`` import path (aliases only)."""

from ..neurons.leaky import Leaky
from ..neurons.lif import LIF

__all__ = ["LIF", "Leaky"]
