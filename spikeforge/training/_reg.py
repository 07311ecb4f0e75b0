"""Activity regularisers added to a loss."""

from __future__ import annotations

from torch import Tensor

__all__ = ["l1_rate_sparsity"]


class l1_rate_sparsity:
    """L1 penalty on spike activity: ``Lambda * sum(spk)`` (0-d, ``spk``'s dtype).

    Args:
        Lambda: penalty weight (>= 0).

    Raises:
        ValueError: negative ``Lambda``.
    """

    def __init__(self, Lambda: float = 1e-5) -> None:
        if Lambda < 0:
            raise ValueError(f"Lambda must be >= 0, got {Lambda}")
        self.Lambda = Lambda
        self.__name__ = "l1_rate_sparsity"

    def __call__(self, spk_out: Tensor) -> Tensor:
        return self.Lambda * spk_out.sum()
