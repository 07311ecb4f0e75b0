"""Argument checks shared by the spike encoders (clear errors instead of silent wrong answers)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor


def float_data(data: Any, name: str = "data") -> Tensor:
    """Return ``data`` as a floating tensor (integers and bools -> default dtype), refusing NaN.

    Raises:
        TypeError: if ``data`` cannot be turned into a tensor.
        ValueError: if ``data`` contains NaN.
    """
    if not isinstance(data, Tensor):
        try:
            data = torch.as_tensor(data)
        except (TypeError, ValueError, RuntimeError) as err:
            raise TypeError(
                f"{name} must be a tensor or array-like of numbers, got {type(data).__name__}"
            ) from err
    if not data.is_floating_point():
        data = data.to(torch.get_default_dtype())
    if torch.isnan(data).any():
        raise ValueError(f"{name} contains NaN; encoders need finite values")
    return data


def check_unit_range(data: Tensor, name: str = "data") -> None:
    """Refuse values outside ``[0, 1]`` (intensities for latency coding)."""
    if data.numel() and (data.min() < 0 or data.max() > 1):
        raise ValueError(
            f"{name} must lie in [0, 1] for latency coding (normalise it first); "
            f"got values in [{data.min().item()}, {data.max().item()}]"
        )


def steps(num_steps: Any, name: str = "num_steps", *, required: bool = True) -> int:
    """Return ``num_steps`` as a positive int (``False``/``None``/0 mean "not given", 0 only where it
    is not required).

    Raises:
        ValueError: if it is required and missing or 0, or not a positive integer.
    """
    if num_steps is None or num_steps is False or (num_steps == 0 and not isinstance(num_steps, Tensor)):
        if required and (num_steps is None or num_steps is False):
            raise ValueError(f"{name} is required here: pass the number of time steps as a positive int")
        if required:
            raise ValueError(f"{name} must be a positive int (the number of time steps), got {num_steps!r}")
        return 0
    if isinstance(num_steps, bool) or int(num_steps) != num_steps or num_steps < 0:
        raise ValueError(f"{name} must be a positive int, got {num_steps!r}")
    return int(num_steps)


def first_spike(first_spike_time: Any, num_steps: int) -> int:
    """Return ``first_spike_time`` as an int in ``[0, num_steps - 1]`` (no upper bound if num_steps is 0)."""
    if (
        isinstance(first_spike_time, bool)
        or int(first_spike_time) != first_spike_time
        or first_spike_time < 0
    ):
        raise ValueError(f"first_spike_time must be a non-negative int, got {first_spike_time!r}")
    if num_steps and first_spike_time > num_steps - 1:
        raise ValueError(
            f"first_spike_time ({first_spike_time}) must be at most num_steps - 1 ({num_steps - 1})"
        )
    return int(first_spike_time)


def class_indices(targets: Any, num_classes: Any) -> Tensor:
    """Return 1-D int64 class indices checked against ``num_classes``.

    Raises:
        ValueError: if targets are not 1-D whole numbers in ``[0, num_classes)``.
    """
    if isinstance(num_classes, bool) or int(num_classes) != num_classes or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
    t = targets if isinstance(targets, Tensor) else torch.as_tensor(targets)
    if t.dim() != 1:
        raise ValueError(f"targets must be a 1-D tensor of class indices [B], got shape {tuple(t.shape)}")
    if t.is_floating_point() and (torch.isnan(t).any() or (t != t.round()).any()):
        raise ValueError("targets must hold whole class indices")
    if t.numel() and (t.min() < 0 or t.max() > num_classes - 1):
        raise ValueError(
            f"targets must lie in [0, {int(num_classes) - 1}] (num_classes={int(num_classes)}); "
            f"got [{t.min().item()}, {t.max().item()}]"
        )
    return t.long()
