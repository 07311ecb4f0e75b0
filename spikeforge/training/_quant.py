"""State quantisation: snap hidden states to a fixed set of levels, straight-through gradient."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

__all__ = ["StateQuant", "state_quant", "quant_levels"]

# Default geometric spacing per bit width for non-uniform levels (>= 8 bits: 0.95).
_MULTIPLIER = {1: 0.05, 2: 0.1, 3: 0.3, 4: 0.5, 5: 0.7, 6: 0.9, 7: 0.925}


class StateQuant(torch.autograd.Function):
    """``apply(x, levels)``: nearest of the ascending ``levels`` (ties -> lower level); gradient identity."""

    @staticmethod
    def forward(ctx: Any, input_: Tensor, levels: Tensor) -> Tensor:
        lv = levels.to(device=input_.device, dtype=input_.dtype)
        hi = torch.searchsorted(lv, input_.contiguous()).clamp(1, len(lv) - 1)
        lo = hi - 1
        upper, lower = lv[hi], lv[lo]
        return torch.where(input_ - lower <= upper - input_, lower, upper)

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor, None]:
        return grad_output.clone(), None


def _geometric(start: float, span: float, count: int, m: float, rising: bool) -> list[float]:
    """``count`` levels in ``span`` from ``start`` with gaps ``m**j`` (shrinking towards the far end when
    ``rising`` is False, towards ``start`` when True)."""
    total = sum(m**j for j in range(count))
    if rising:  # levels start + span * (sum of the last k gaps), k = 1..count
        return [
            start + span * sum(m**j for j in range(count - k, count)) / total for k in range(1, count + 1)
        ]
    return [start + span * sum(m**j for j in range(k)) / total for k in range(count)]


def quant_levels(
    num_bits: int = 8,
    uniform: bool = True,
    thr_centered: bool = True,
    threshold: float = 1,
    lower_limit: float = 0,
    upper_limit: float = 0.2,
    multiplier: float | None = None,
) -> Tensor:
    """The ``2**num_bits`` ascending levels (float64) used by `state_quant`."""
    if isinstance(num_bits, bool) or int(num_bits) != num_bits or num_bits < 1:
        raise ValueError(f"num_bits must be a positive int, got {num_bits!r}")
    if threshold <= 0:
        raise ValueError(f"threshold must be > 0, got {threshold}")
    n = 2 ** int(num_bits)
    lo, hi = -threshold * (1 + lower_limit), threshold * (1 + upper_limit)
    if hi <= lo:
        raise ValueError(f"the level range [{lo}, {hi}] is empty; check lower_limit and upper_limit")
    if uniform:
        return torch.linspace(lo, hi, n, dtype=torch.float64)
    m = _MULTIPLIER.get(int(num_bits), 0.95) if multiplier is None else multiplier
    centre = threshold if thr_centered else 0.0
    n_low = math.floor(n * (centre - lo) / (hi - lo))
    below = _geometric(lo, centre - lo, n_low, m, rising=False) if n_low else []
    above = _geometric(centre, hi - centre, n - n_low, m, rising=True) if n - n_low else []
    return torch.tensor(below + above, dtype=torch.float64)


class state_quant:
    """Quantiser for neuron states (``state_quant=`` argument of the neurons): ``q(x)`` -> nearest level.

    Uniform: ``2**num_bits`` levels evenly spaced on ``[-threshold(1 + lower_limit),
    threshold(1 + upper_limit)]``. Non-uniform: geometric spacing (ratio ``multiplier``, default by bit
    width) clustered just below ``threshold`` (``thr_centered``) or above 0. The result keeps ``x``'s
    dtype and device; the gradient is the identity (straight-through estimator). A plain picklable
    object, so models holding it pickle.

    Raises:
        ValueError: ``num_bits`` not a positive int, ``threshold <= 0``, or an empty range.
    """

    def __init__(
        self,
        num_bits: int = 8,
        uniform: bool = True,
        thr_centered: bool = True,
        threshold: float = 1,
        lower_limit: float = 0,
        upper_limit: float = 0.2,
        multiplier: float | None = None,
    ) -> None:
        self.levels = quant_levels(
            num_bits, uniform, thr_centered, threshold, lower_limit, upper_limit, multiplier
        )

    def __call__(self, x: Tensor) -> Tensor:
        return StateQuant.apply(x, self.levels)

    def __repr__(self) -> str:
        return f"state_quant(levels={len(self.levels)}, range=[{self.levels[0]:.4g}, {self.levels[-1]:.4g}])"
