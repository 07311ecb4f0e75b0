"""snntorch's ``snntorch._layers.bntt`` import path (aliases only)."""

from ..layers import BatchNormTT1d, BatchNormTT2d

__all__ = ["BatchNormTT1d", "BatchNormTT2d"]
