"""snntorch's ``snntorch._neurons.stateleaky`` import path (aliases only)."""

from ..neurons.lif import LIF
from ..neurons.stateleaky import StateLeaky, causal_conv1d

__all__ = ["LIF", "StateLeaky", "causal_conv1d"]
