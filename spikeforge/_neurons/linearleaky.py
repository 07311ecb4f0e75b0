"""snntorch's ``snntorch._neurons.linearleaky`` import path (aliases only)."""

from ..neurons.stateleaky import LinearLeaky, StateLeaky

__all__ = ["LinearLeaky", "StateLeaky"]
