"""snntorch's ``snntorch._neurons.lapicque`` import path (aliases only)."""

from ..neurons.lapicque import Lapicque
from ..neurons.lif import LIF

__all__ = ["LIF", "Lapicque"]
