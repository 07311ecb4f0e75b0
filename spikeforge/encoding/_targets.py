"""Class labels to spike targets (one-hot, rate-coded or latency-coded)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ._checks import class_indices, first_spike, steps
from ._latency import latency
from ._rate import PATTERNS, rate_interpolate, target_rate_code

__all__ = [
    "to_one_hot",
    "to_one_hot_inverse",
    "from_one_hot",
    "targets_convert",
    "targets_rate",
    "targets_latency",
]


def to_one_hot(targets: Any, num_classes: int) -> Tensor:
    """One-hot encode class indices.

    Args:
        targets: ``[B]`` class indices (integer, or whole-valued floats).
        num_classes: number of classes ``C``.

    Returns:
        ``[B, C]`` in the default float dtype, on ``targets``' device.

    Raises:
        ValueError: targets not 1-D or outside ``[0, num_classes)``.
    """
    idx = class_indices(targets, num_classes)
    return torch.nn.functional.one_hot(idx, int(num_classes)).to(torch.get_default_dtype())


def to_one_hot_inverse(one_hot_targets: Tensor) -> Tensor:
    """1 where ``one_hot_targets`` is 0 and 0 elsewhere (same shape and dtype)."""
    return (one_hot_targets == 0).to(one_hot_targets.dtype)


def from_one_hot(one_hot_label: Tensor) -> Tensor:
    """Class index of a one-hot vector ``[C]`` (shape ``[1]``) or of each row of ``[B, C]`` (shape ``[B]``).

    Raises:
        ValueError: if a row does not hold exactly one 1, or the input is not 1-D/2-D.
    """
    if one_hot_label.dim() not in (1, 2):
        raise ValueError(f"one_hot_label must be [C] or [B, C], got shape {tuple(one_hot_label.shape)}")
    ones = one_hot_label == 1
    if (ones.sum(-1) != 1).any():
        raise ValueError("one_hot_label must hold exactly one 1 per row")
    return ones.long().argmax(-1).reshape(-1)


def _on_off(mask: Tensor, on_target: float, off_target: float) -> Tensor:
    """``on_target`` where mask is 1, ``off_target`` where it is 0 (any signs)."""
    return mask * on_target + (1 - mask) * off_target


def targets_rate(
    targets: Tensor,
    num_classes: int,
    num_steps: int | bool = False,
    first_spike_time: int = 0,
    correct_rate: float = 1,
    incorrect_rate: float = 0,
    on_target: float = 1,
    off_target: float = 0,
    firing_pattern: str = "regular",
    interpolate: bool = False,
    epsilon: float = 1e-7,
    *,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Rate-coded targets: the true class fires at ``correct_rate``, the others at ``incorrect_rate``.

    Spiking entries take ``on_target`` and silent ones ``off_target``. With the default rates and neither
    ``num_steps`` nor ``first_spike_time``, the result is time-free ``[B, C]``; otherwise it is
    ``[num_steps, B, C]`` (patterns from `target_rate_code`; ``interpolate`` uses the ramps of
    `rate_interpolate`).

    Raises:
        ValueError: rates outside ``[0, 1]`` or ``incorrect_rate > correct_rate``; unknown pattern;
            ``num_steps`` missing when rates differ from 1/0 or ``first_spike_time > 0``; bad targets.
    """
    if not (0 <= correct_rate <= 1 and 0 <= incorrect_rate <= 1):
        raise ValueError(
            f"correct_rate ({correct_rate}) and incorrect_rate ({incorrect_rate}) must lie in [0, 1]"
        )
    if incorrect_rate > correct_rate:
        raise ValueError(f"incorrect_rate ({incorrect_rate}) must not exceed correct_rate ({correct_rate})")
    if firing_pattern.lower() not in PATTERNS:
        raise ValueError(f"firing_pattern must be one of {PATTERNS}, got {firing_pattern!r}")
    hot = to_one_hot(targets, num_classes)
    default_rates = correct_rate == 1 and incorrect_rate == 0
    n = steps(num_steps, required=not default_rates or bool(first_spike_time))
    fst = first_spike(first_spike_time, n)
    if default_rates:
        out = _on_off(hot, on_target, off_target)
        if not n:
            return out
        out = out.expand(n, *out.shape).clone()
        out[:fst] = off_target
        return out
    pats = []
    for r in (correct_rate, incorrect_rate):
        spk, times = target_rate_code(n, fst, r, firing_pattern, generator=generator)
        pats.append(
            rate_interpolate(times, n, on_target, off_target, epsilon)
            if interpolate
            else _on_off(spk, on_target, off_target)
        )
    correct, incorrect = (p.to(hot.device).reshape(n, 1, 1) for p in pats)
    return hot * correct + (1 - hot) * incorrect


def targets_latency(
    targets: Tensor,
    num_classes: int,
    num_steps: int | bool = False,
    first_spike_time: int = 0,
    on_target: float = 1,
    off_target: float = 0,
    interpolate: bool = False,
    threshold: float = 0.01,
    tau: float = 1,
    clip: bool = False,
    normalize: bool = False,
    linear: bool = False,
    epsilon: float = 1e-7,
    bypass: bool = False,
) -> Tensor:
    """Latency-coded targets ``latency(to_one_hot(targets))``: ``[T, B, C]`` (see `latency`)."""
    return latency(
        to_one_hot(targets, num_classes),
        num_steps,
        threshold,
        tau,
        first_spike_time,
        on_target,
        off_target,
        clip,
        normalize,
        linear,
        interpolate,
        bypass,
        epsilon,
    )


def targets_convert(
    targets: Tensor,
    num_classes: int,
    code: str = "rate",
    num_steps: int | bool = False,
    first_spike_time: int = 0,
    correct_rate: float = 1,
    incorrect_rate: float = 0,
    on_target: float = 1,
    off_target: float = 0,
    firing_pattern: str = "regular",
    interpolate: bool = False,
    epsilon: float = 1e-7,
    threshold: float = 0.01,
    tau: float = 1,
    clip: bool = False,
    normalize: bool = False,
    linear: bool = False,
    bypass: bool = False,
) -> Tensor:
    """Dispatch to `targets_rate` (``code='rate'``) or `targets_latency` (``code='latency'``).

    Every relevant argument is forwarded (the latency branch too gets ``on_target``, ``off_target``,
    ``interpolate`` and ``epsilon``).

    Raises:
        ValueError: unknown ``code``, or as the chosen function.
    """
    if code == "rate":
        return targets_rate(
            targets,
            num_classes,
            num_steps,
            first_spike_time,
            correct_rate,
            incorrect_rate,
            on_target,
            off_target,
            firing_pattern,
            interpolate,
            epsilon,
        )
    if code == "latency":
        return targets_latency(
            targets,
            num_classes,
            num_steps,
            first_spike_time,
            on_target,
            off_target,
            interpolate,
            threshold,
            tau,
            clip,
            normalize,
            linear,
            epsilon,
            bypass,
        )
    raise ValueError(f"code must be 'rate' or 'latency', got {code!r}")
