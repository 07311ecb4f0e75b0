"""Delta modulation: spike when the input changed by at least ``threshold`` since the previous step."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["delta"]


def delta(data: Tensor, threshold: float = 0.1, padding: bool = False, off_spike: bool = False) -> Tensor:
    """On-spike (+1) where ``x[t] - x[t-1] >= threshold``; with ``off_spike`` also -1 where ``<= -threshold``.

    The step before the first is 0, or ``x[0]`` with ``padding=True`` (no spike at t=0 then).

    Args:
        data: time-major ``[T, ...]`` tensor.
        threshold: change needed to spike (> 0, in the units of ``data``).

    Returns:
        Tensor of ``data``'s shape, dtype and device.

    Raises:
        TypeError: if ``data`` is not a tensor.
        ValueError: if ``data`` is 0-d or contains NaN, or ``threshold <= 0``.
    """
    if not isinstance(data, Tensor):
        raise TypeError(f"data must be a time-major tensor [T, ...], got {type(data).__name__}")
    if data.dim() == 0:
        raise ValueError("data must have a leading time dimension [T, ...], got a 0-d tensor")
    if data.is_floating_point() and torch.isnan(data).any():
        raise ValueError("data contains NaN; delta modulation needs finite values")
    if not threshold > 0:
        raise ValueError(f"threshold must be > 0, got {threshold}")
    first = data[:1] if padding else torch.zeros_like(data[:1])
    diff = data - torch.cat([first, data[:-1]])
    out = (diff >= threshold).to(data.dtype)
    if off_spike:
        out = out - (diff <= -threshold).to(data.dtype)
    return out
