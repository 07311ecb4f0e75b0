"""snntorch's ``snntorch._neurons.deltaleaky`` import path (aliases only)."""

from ..neurons.deltaleaky import DeltaLeaky
from ..neurons.leaky import Leaky

__all__ = ["DeltaLeaky", "Leaky"]
