"""Latency coding: one spike per input element, earlier for stronger input.

Log code (RC circuit charging to ``threshold``): ``t = tau * ln(x / (x - threshold))`` with
``x >= threshold + epsilon``; linear code: ``t = tau * (1 - max(x, threshold))``. Both are shifted by
``first_spike_time`` and, with ``normalize``, stretched so the latest spike falls on ``num_steps - 1``.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import Tensor

from ._checks import check_unit_range, first_spike, float_data, steps

__all__ = ["latency", "latency_code", "latency_code_linear", "latency_code_log", "latency_interpolate"]


def _latency_errors(
    data: Tensor, num_steps: Any, threshold: float, tau: float, first_spike_time: int, normalize: bool
) -> tuple[int, int]:
    """Validate the latency arguments; return ``(num_steps or 0, first_spike_time)``.

    Data outside ``[0, 1]`` is computed as snntorch computes it (values above 1 give earlier spike
    times; negative values act as ``0``), with a warning since it is probably not normalised.
    """
    if data.numel() and (data.min() < 0 or data.max() > 1):
        warnings.warn(
            f"latency code: data should lie in [0, 1] (normalise it first); got values in "
            f"[{data.min().item()}, {data.max().item()}], computed as snntorch does",
            UserWarning,
            stacklevel=3,
        )
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must lie strictly inside (0, 1), got {threshold}")
    if not tau > 0:
        raise ValueError(f"tau must be > 0, got {tau}")
    n = steps(num_steps, required=False)
    if normalize and not n:
        raise ValueError("num_steps is required when normalize=True")
    return n, first_spike(first_spike_time, n)


def latency_code_log(
    data: Any,
    num_steps: int | bool = False,
    threshold: float = 0.01,
    tau: float = 1,
    first_spike_time: int = 0,
    normalize: bool = False,
    epsilon: float = 1e-7,
) -> Tensor:
    """Spike times of the log (RC) code: ``tau * ln(x / (x - threshold)) + first_spike_time``.

    Inputs below ``threshold + epsilon`` are raised to it (they never reach threshold otherwise).

    Args:
        data: intensities in ``[0, 1]``, any shape; values outside are computed as snntorch computes
            them (above 1: earlier spikes), with a warning.
        num_steps: needed only with ``normalize`` (latest spike mapped to ``num_steps - 1``).

    Returns:
        Float spike times with ``data``'s shape, dtype and device.

    Raises:
        ValueError: NaN data; threshold not in (0, 1); tau <= 0; ``first_spike_time`` invalid;
            ``normalize`` without ``num_steps``.
    """
    x = float_data(data)
    n, fst = _latency_errors(x, num_steps, threshold, tau, first_spike_time, normalize)
    x = x.clamp(min=threshold + epsilon)
    t = tau * torch.log(x / (x - threshold))
    if normalize:
        latest = t.max()
        if not latest > 0:
            raise ValueError(
                f"normalize=True cannot stretch the spike times: with threshold={threshold} and tau={tau} "
                f"every input spikes at time 0 (in {x.dtype}, x - threshold rounds to x); use a larger "
                "threshold, or normalize=False"
            )
        t = t * (n - fst - 1) / latest
    return t + fst


def latency_code_linear(
    data: Any,
    num_steps: int | bool = False,
    threshold: float = 0.01,
    tau: float = 1,
    first_spike_time: int = 0,
    normalize: bool = False,
) -> Tensor:
    """Spike times of the linear code: ``tau * (1 - max(x, threshold)) + first_spike_time``.

    With ``normalize``, ``tau = num_steps - 1 - first_spike_time`` (input 0 fires near the last step);
    if data above 1 then gives negative times, all times are stretched onto ``[0, num_steps - 1]``
    (snntorch's rule). Arguments, return value and errors as `latency_code_log`.
    """
    x = float_data(data)
    n, fst = _latency_errors(x, num_steps, threshold, tau, first_spike_time, normalize)
    if normalize:
        tau = n - 1 - fst
    t = tau * (1 - x.clamp(min=threshold)) + fst
    if normalize and t.numel() and t.min() < 0:
        # data above 1 spikes before time 0: snntorch stretches [min, max] onto [0, num_steps - 1]
        t = (t - t.min()) * (1 / (t.max() - t.min())) * (n - 1)
    return t


def latency_code(
    data: Any,
    num_steps: int | bool = False,
    threshold: float = 0.01,
    tau: float = 1,
    first_spike_time: int = 0,
    normalize: bool = False,
    linear: bool = False,
    epsilon: float = 1e-7,
) -> tuple[Tensor, Tensor]:
    """Spike times (log code, or linear code with ``linear=True``) and the sub-threshold mask.

    Returns:
        ``(spike_time, idx)``: float times like ``data``, and the bool mask ``data < threshold``.
    """
    x = float_data(data)
    if linear:
        t = latency_code_linear(x, num_steps, threshold, tau, first_spike_time, normalize)
    else:
        t = latency_code_log(x, num_steps, threshold, tau, first_spike_time, normalize, epsilon)
    return t, x < threshold


def latency_interpolate(
    spike_time: Tensor, num_steps: int, on_target: float = 1, off_target: float = 0
) -> Tensor:
    """Ramp targets ending at each (rounded) spike time: ``off + (t / s) * (on - off)`` for ``t <= s``.

    Steps after the spike are ``off_target``; a spike at ``s = 0`` gives ``on_target`` at t=0 only;
    a spike later than ``num_steps`` gives ``off_target`` everywhere.

    Args:
        spike_time: spike times of any shape.
        num_steps: number of steps ``T``.

    Returns:
        ``[T, *spike_time.shape]`` with ``spike_time``'s float dtype and device.

    Raises:
        ValueError: if ``on_target < off_target`` or ``num_steps`` is not positive.
    """
    if on_target < off_target:
        raise ValueError(f"on_target ({on_target}) must be >= off_target ({off_target})")
    n = steps(num_steps)
    s = float_data(spike_time, "spike_time").round()
    t = torch.arange(n, dtype=s.dtype, device=s.device).reshape(n, *([1] * s.dim()))
    s = torch.where(s > n, torch.full_like(s, 0.5), s)
    zero = s == 0
    ratio = t / torch.where(zero, torch.ones_like(s), s)
    ratio = torch.where(zero, torch.where(t == 0, 1.0, float("inf")), ratio)
    value = ratio * (on_target - off_target) + off_target
    return torch.where(ratio > 1, torch.full_like(value, float(off_target)), value)


def latency(
    data: Any,
    num_steps: int | bool = False,
    threshold: float = 0.01,
    tau: float = 1,
    first_spike_time: int = 0,
    on_target: float = 1,
    off_target: float = 0,
    clip: bool = False,
    normalize: bool = False,
    linear: bool = False,
    interpolate: bool = False,
    bypass: bool = False,
    epsilon: float = 1e-7,
) -> Tensor:
    """Latency-code ``data``: each element spikes once, at ``round(spike_time)`` (see `latency_code`).

    Spiking elements take ``on_target``, all others ``off_target`` (for any sign of either).
    ``clip=True`` silences elements below ``threshold``. ``interpolate=True`` returns the ramps of
    `latency_interpolate` instead of spikes. ``bypass=True`` without ``num_steps`` sizes the
    output to the latest spike; ``bypass=True`` with ``num_steps`` drops spikes that fall beyond it.

    Args:
        data: intensities in ``[0, 1]``, any shape ``[B, ...]``.
        num_steps: number of steps ``T``; required unless ``bypass=True``.

    Returns:
        ``[T, *data.shape]`` with ``data``'s float dtype and device.

    Raises:
        ValueError: as `latency_code`; data outside ``[0, 1]`` (as snntorch's ``latency``); ``num_steps``
            missing without ``bypass``; a spike time beyond ``num_steps - 1`` without ``bypass`` (lower
            ``tau`` or use ``normalize=True``).
    """
    x = float_data(data)
    check_unit_range(x)  # snntorch's latency refuses such data too (its latency_code does not)
    if not steps(num_steps, required=False) and not bypass:
        given = "" if num_steps is None or num_steps is False else f", got {num_steps!r} (no time steps)"
        raise ValueError(f"num_steps must be a positive int{given} (or set bypass=True to size the output "
                         "to the latest spike)")
    t, below = latency_code(x, num_steps, threshold, tau, first_spike_time, normalize, linear, epsilon)
    last = int(t.max().round().item()) if t.numel() else 0
    n = steps(num_steps, required=False) or last + 1
    if last > n - 1 and not bypass:
        raise ValueError(
            f"a spike time ({last}) does not fit in num_steps={n}: lower tau, raise num_steps, "
            "use normalize=True, or set bypass=True to drop late spikes"
        )
    if interpolate:
        return latency_interpolate(t, n, on_target, off_target)
    step = t.round()
    keep = step <= n - 1
    if clip:
        keep = keep & ~below
    index = step.clamp(max=n - 1).long().unsqueeze(0)
    spk = torch.zeros((n, *x.shape), dtype=x.dtype, device=x.device).scatter(0, index, 1.0) * keep
    return spk * on_target + (1 - spk) * off_target
