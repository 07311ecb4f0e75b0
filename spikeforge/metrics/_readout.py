"""Read-outs shared by losses and accuracy: argument checks, population groups, first-spike times."""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import Tensor

from ..encoding._checks import class_indices


def check_outputs(
    out: Any, targets: Any, name: str = "spk_out", num_classes: int | None = None
) -> tuple[Tensor, Tensor]:
    """Check ``out`` is ``[T, B, C]`` and ``targets`` are ``B`` class indices in ``[0, num_classes or C)``.

    Returns:
        ``(out, targets as int64 on out's device)``.

    Raises:
        TypeError: ``out`` is not a tensor. ValueError: wrong rank, an empty dimension (see
            ``check_not_empty``), batch mismatch, or bad targets (fractional floats included;
            whole-number floats are accepted).
    """
    if not isinstance(out, Tensor):
        raise TypeError(f"{name} must be a tensor [T, B, C], got {type(out).__name__}")
    if out.dim() != 3:
        raise ValueError(f"{name} must be time-major [T, B, C], got shape {tuple(out.shape)}")
    check_not_empty(out, name)
    y = class_indices(torch.as_tensor(targets, device=out.device), num_classes or out.shape[-1])
    if y.shape[0] != out.shape[1]:
        raise ValueError(
            f"targets hold {y.shape[0]} labels but {name} has batch size {out.shape[1]} (shape [T, B, C])"
        )
    return out, y


def fractional_labels(
    targets: Any, who: str, effect: str, stacklevel: int = 3
) -> tuple[Any, Tensor | None]:
    """snntorch's rule for fractional float labels in the losses and accuracies that accept them.

    Returns ``(labels, mask)``: for float labels with a fractional part, the labels truncated towards
    zero (as snntorch's integer cast does) and the mask of the fractional ones, after one warning
    (``f"{who}: fractional class labels {effect}"``, attributed ``stacklevel`` frames up, the caller's
    caller by default); otherwise ``(targets, None)`` unchanged.
    """
    t = targets if isinstance(targets, Tensor) else torch.as_tensor(targets)
    if not t.is_floating_point():
        return targets, None
    fractional = t != t.trunc()
    fractional &= ~torch.isnan(t)  # NaN labels are refused by the label check
    if not bool(fractional.any()):
        return targets, None
    warnings.warn(
        f"{who}: fractional class labels {effect} (as in snntorch); pass whole class indices",
        UserWarning,
        stacklevel=stacklevel,
    )
    return torch.where(fractional, t.trunc(), t), fractional


def check_not_empty(out: Tensor, name: str = "spk_out") -> None:
    """Raise ``ValueError`` naming the empty dimension if the ``[T, B, C]`` tensor ``out`` has none of
    time steps, samples or outputs (a mean over it would be a silent NaN)."""
    for dim, (what, label) in enumerate((("time steps", "T"), ("samples", "B"), ("outputs", "C"))):
        if out.shape[dim] == 0:
            raise ValueError(
                f"{name} is empty: it has no {what} ({label} = 0, dim {dim} of [T, B, C]; shape "
                f"{tuple(out.shape)})"
            )


def population_sum(x: Tensor, num_classes: Any) -> Tensor:
    """Sum the last dim over ``num_classes`` contiguous groups of ``C / num_classes`` outputs.

    Args:
        x: ``[..., C]`` outputs. num_classes: number of groups; must divide ``C``.

    Returns:
        ``[..., num_classes]`` with ``x``'s dtype.

    Raises:
        ValueError: if ``num_classes`` is missing or does not divide ``C``.
    """
    c = x.shape[-1]
    if isinstance(num_classes, bool) or not num_classes or c % int(num_classes):
        raise ValueError(
            f"population_code=True needs num_classes, a positive divisor of the {c} outputs; "
            f"got {num_classes!r}"
        )
    return x.reshape(*x.shape[:-1], int(num_classes), c // int(num_classes)).sum(-1)


def first_spike_time(spk: Tensor) -> Tensor:
    """Index of the first step with a nonzero spike per ``[B, C]`` entry (``T - 1`` if none).

    Args:
        spk: ``[T, B, C]`` spikes.

    Returns:
        ``[B, C]`` times, in ``spk``'s float dtype (default float for integer spikes); no gradient.
    """
    fired = spk.detach() != 0
    t = spk.shape[0]
    last = torch.full_like(fired[0], t - 1, dtype=torch.long)
    idx = torch.where(fired.any(0), fired.to(torch.uint8).argmax(0), last)
    dtype = spk.dtype if spk.is_floating_point() else torch.get_default_dtype()
    return idx.to(dtype)
