"""The only time loop in spikeforge, with a registry of fused kernels in front of it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from torch import Tensor

from ..core import Firing

Step = Callable[[Tensor, Any, Any, Firing], tuple[Tensor, Any]]


class SequenceResult(NamedTuple):
    """Output of `run`.

    Attributes:
        spk: spikes ``[T, B, ...]``.
        final: the state after the last step (the step function's State NamedTuple).
        trace: with ``record=True``, the state at every step (each field ``[T, B, ...]``); else None.
    """

    spk: Tensor
    final: Any
    trace: Any | None


#: fused kernels: (step function) -> list of ``(fits(xs, state, params, firing) -> bool, kernel)``;
#: a kernel is called as ``kernel(xs, state, params, firing, record)`` and returns a SequenceResult.
_KERNELS: dict[Callable[..., Any], list[tuple[Callable[..., bool], Callable[..., SequenceResult]]]] = {}


def register_kernel(
    step: Callable[..., Any], fits: Callable[..., bool], kernel: Callable[..., SequenceResult]
) -> None:
    """Register a fused ``kernel`` for ``step``; it runs whenever ``fits(xs, state, params, firing)``."""
    _KERNELS.setdefault(step, []).append((fits, kernel))


def find_kernel(step: Callable[..., Any], xs: Tensor, state: Any, params: Any, firing: Firing):
    """The first registered kernel for ``step`` that fits these arguments, or None."""
    for fits, kernel in _KERNELS.get(step, ()):
        if fits(xs, state, params, firing):
            return kernel
    return None


def run_loop(
    step: Step, xs: Tensor, state: Any, params: Any, firing: Firing, record: bool = False
) -> SequenceResult:
    """The reference: call ``step`` once per time step over ``xs.unbind(0)`` (never ``xs[t]``)."""
    spikes: list[Tensor] = []
    states: list[Any] = []
    for x in xs.unbind(0):
        spk, state = step(x, state, params, firing)
        spikes.append(spk)
        if record:
            states.append(state)
    trace = None
    if record:
        trace = type(state)(*(torch.stack(field) for field in zip(*states)))
    return SequenceResult(torch.stack(spikes), state, trace)


def run(
    step: Step,
    xs: Tensor,
    state: Any,
    params: Any,
    firing: Firing,
    *,
    record: bool = False,
    fused: bool = True,
) -> SequenceResult:
    """Run ``step`` over a time-major sequence.

    Args:
        step: a pure step function from `spikeforge.core`.
        xs: input ``[T, B, ...]`` (T >= 1).
        state: the initial state (the step's State NamedTuple, each field ``[B, ...]``).
        params: the step's Params NamedTuple.
        firing: the firing configuration.
        record: also return the state at every step.
        fused: allow a registered fused kernel (False forces the reference loop).

    Returns:
        `SequenceResult` ``(spk[T, B, ...], final_state, trace or None)``.

    Raises:
        ValueError: if ``xs`` has no time dimension or ``T == 0``.
    """
    if xs.dim() < 1 or xs.shape[0] == 0:
        raise ValueError(f"xs must be time-major [T, B, ...] with T >= 1, got shape {tuple(xs.shape)}")
    if fused:
        kernel = find_kernel(step, xs, state, params, firing)
        if kernel is not None:
            return kernel(xs, state, params, firing, record)
    return run_loop(step, xs, state, params, firing, record)
