"""Rate coding: Bernoulli spike trains whose firing probability is the input intensity."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ._checks import first_spike, float_data, steps

__all__ = ["rate", "rate_conv", "target_rate_code", "rate_interpolate"]

PATTERNS = ("regular", "uniform", "poisson")


def rate_conv(data: Any, *, generator: torch.Generator | None = None) -> Tensor:
    """Draw one Bernoulli spike per element with probability ``clamp(data, 0, 1)``.

    Values outside ``[0, 1]`` are **clipped** (probabilities saturate), as in every rate encoder here.

    Args:
        data: intensities of any shape.
        generator: optional ``torch.Generator`` for reproducible draws (else the global RNG).

    Returns:
        Spikes (0./1.) of ``data``'s shape, dtype and device (integers -> default float dtype).

    Raises:
        ValueError: if ``data`` contains NaN.
    """
    p = float_data(data).clamp(0, 1)
    return torch.bernoulli(p, generator=generator)


def rate(
    data: Any,
    num_steps: int | bool = False,
    gain: float = 1,
    offset: float = 0,
    first_spike_time: int = 0,
    time_var_input: bool = False,
    *,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Rate-code ``data``: spike with probability ``p = clamp(gain * x + offset, 0, 1)`` at every step.

    Static input ``[B, ...]`` is repeated over ``num_steps`` steps; steps ``[0, first_spike_time)`` are
    silent (length unchanged). Time-varying input (``time_var_input=True``) ``[T, B, ...]`` is drawn step
    by step and ``first_spike_time`` silent steps are prepended (length ``T + first_spike_time``).
    Probabilities outside ``[0, 1]`` are clipped.

    Args:
        data: intensities, static ``[B, ...]`` or time-major ``[T, B, ...]``.
        num_steps: number of steps for static input; must not be given for time-varying input.
        gain: multiplies the intensity. offset: added after the gain.
        first_spike_time: number of silent leading steps.
        time_var_input: whether ``data`` already has a leading time dimension.
        generator: optional ``torch.Generator`` for reproducible spikes.

    Returns:
        Spikes with ``data``'s dtype and device: ``[num_steps, *data.shape]`` or
        ``[first_spike_time + T, *data.shape[1:]]``.

    Raises:
        ValueError: NaN in ``data``; ``num_steps`` missing for static input or given for time-varying
            input; ``first_spike_time`` negative or beyond ``num_steps - 1``.
    """
    x = float_data(data)
    if time_var_input:
        if steps(num_steps, required=False):
            raise ValueError(
                "num_steps must not be given with time_var_input=True: time is data's first dimension"
            )
        fst = first_spike(first_spike_time, 0)
        spk = rate_conv(gain * x + offset, generator=generator)
        if fst:
            spk = torch.cat([torch.zeros((fst, *spk.shape[1:]), dtype=spk.dtype, device=spk.device), spk])
        return spk
    if not steps(num_steps, required=False):
        given = "" if num_steps is None or num_steps is False else f", got {num_steps!r} (no time steps)"
        raise ValueError(
            f"num_steps must be a positive int for static input{given}: the number of time steps to encode "
            "over; if data is already time-varying set time_var_input=True"
        )
    n = steps(num_steps)
    fst = first_spike(first_spike_time, n)
    p = (gain * x + offset).clamp(0, 1).unsqueeze(0).expand(n, *x.shape).contiguous()
    spk = torch.bernoulli(p, generator=generator)
    spk[:fst] = 0
    return spk


def target_rate_code(
    num_steps: int,
    first_spike_time: int = 0,
    rate: float = 1,
    firing_pattern: str = "regular",
    *,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """A target spike train firing at ``rate`` (spikes per step) from ``first_spike_time`` on.

    ``regular``: spikes at ``floor(first_spike_time + k / rate)``; ``uniform``: as many spikes at
    uniformly drawn steps in ``[first_spike_time, num_steps)`` (coinciding draws merge);
    ``poisson``: an independent Bernoulli(rate) draw per step.

    Returns:
        ``(spikes [num_steps] float, spike_times int64 sorted)``; ``rate=0`` gives no spike.

    Raises:
        ValueError: ``rate`` outside ``[0, 1]``, unknown ``firing_pattern``, ``num_steps`` not positive,
            ``first_spike_time`` negative or above ``num_steps``.
    """
    n = steps(num_steps)
    if not 0 <= rate <= 1:
        raise ValueError(f"rate must lie in [0, 1], got {rate}")
    if firing_pattern.lower() not in PATTERNS:
        raise ValueError(f"firing_pattern must be one of {PATTERNS}, got {firing_pattern!r}")
    if (
        isinstance(first_spike_time, bool)
        or not 0 <= first_spike_time <= n
        or int(first_spike_time) != first_spike_time
    ):
        raise ValueError(f"first_spike_time must be an int in [0, num_steps={n}], got {first_spike_time!r}")
    fst = int(first_spike_time)
    spikes = torch.zeros(n)
    if rate == 0:
        return spikes, torch.zeros(0, dtype=torch.long)
    regular = torch.arange(fst, n, 1 / rate, dtype=torch.float64)
    pattern = firing_pattern.lower()
    if pattern == "regular":
        times = regular.long()
    elif pattern == "uniform":
        u = torch.rand(len(regular), dtype=torch.float64, generator=generator)
        times = (u * (n - fst) + fst).long()
    else:
        p = torch.full((n - fst,), float(rate), dtype=torch.float64)
        times = torch.nonzero(torch.bernoulli(p, generator=generator))[:, 0] + fst
    spikes[times] = 1
    return spikes, torch.nonzero(spikes)[:, 0]


def rate_interpolate(
    spike_time: Tensor, num_steps: int, on_target: float = 1, off_target: float = 0, epsilon: float = 1e-7
) -> Tensor:
    """Ramp targets: linear from ``off_target`` (step after the previous spike) to ``on_target`` (spike).

    Steps after the last spike stay at ``off_target``; a spike right after a spike is just
    ``on_target``. ``epsilon`` is accepted for snntorch compatibility; the ramps are computed exactly.

    Args:
        spike_time: 1-D integer spike steps (e.g. from `target_rate_code`).
        num_steps: length of the result.

    Returns:
        ``[num_steps]`` targets in the default float dtype.
    """
    del epsilon
    n = steps(num_steps)
    times = sorted({int(t) for t in torch.as_tensor(spike_time).reshape(-1).tolist()})
    out = torch.full((n,), float(off_target))
    prev = -1
    for s in times:
        if s >= n:
            break
        gap = s - prev - 1
        for t in range(prev + 1, s + 1):
            frac = 1.0 if gap == 0 else (t - prev - 1) / gap
            out[t] = off_target + frac * (on_target - off_target)
        prev = s
    return out
