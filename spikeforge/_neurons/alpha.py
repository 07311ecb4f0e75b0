"""snntorch's ``snntorch._neurons.alpha`` import path (aliases only)."""

from ..neurons.alpha import Alpha
from ..neurons.lif import LIF

__all__ = ["Alpha", "LIF"]
