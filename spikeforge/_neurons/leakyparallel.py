"""snntorch's ``snntorch._neurons.leakyparallel`` import path (aliases only)."""

from ..neurons.parallel import LeakyParallel

__all__ = ["LeakyParallel"]
