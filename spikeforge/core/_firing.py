"""Spike generation and reset rules shared by every LIF-family step function.

Notation (``shared/API.md`` section 2.1): ``theta`` threshold, ``g`` graded spike factor,
``H`` the strict Heaviside step, ``R = [H(U_prev - theta)]`` the detached reset mask computed from the
*previous* membrane, ``S = H(q(U) - theta) * g`` the spike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import Tensor

from ..surrogate import Surrogate, heaviside_no_grad

SUBTRACT, ZERO, NONE = 0, 1, 2
RESET_CODES = {"subtract": SUBTRACT, "zero": ZERO, "none": NONE}


class Firing(NamedTuple):
    """Static firing configuration of a neuron (no tensors that carry gradient).

    Attributes:
        spike_fn: maps ``U - theta`` to spikes (a surrogate, or a plain step with no gradient).
        reset: ``SUBTRACT`` (0), ``ZERO`` (1) or ``NONE`` (2).
        reset_delay: True applies the reset of a spike at the next step (snntorch's default); False
            resets in the same step using ``D = S/g - R``.
        state_quant: optional quantiser applied to every state after the update.
        inhibition: winner-take-all over dim 1 (only the largest ``U - theta`` per row may spike).
    """

    spike_fn: Callable[[Tensor], Tensor]
    reset: int = SUBTRACT
    reset_delay: bool = True
    state_quant: Callable[[Tensor], Tensor] | None = None
    inhibition: bool = False


def reset_mask(mem: Tensor, threshold: Tensor, f: Firing) -> Tensor:
    """``R = [H(mem - threshold)]``: the detached reset mask from the previous membrane.

    Every built-in surrogate's forward is the strict step, so for those it is computed on detached
    tensors without building an autograd node; a user's own ``spike_fn`` is called as it is.
    """
    if isinstance(f.spike_fn, Surrogate) or f.spike_fn is heaviside_no_grad:
        return heaviside_no_grad(mem.detach() - threshold.detach())
    return f.spike_fn(mem - threshold).detach()


def fire(mem: Tensor, threshold: Tensor, graded: Tensor, f: Firing) -> Tensor:
    """``S = H(q(mem) - theta) * g``; with inhibition ``S = H(z) * onehot(argmax_1 z)``, ``z = mem - theta``.

    The inhibition variant applies neither ``g`` nor the quantiser (as snntorch 1.0.0 does).
    """
    if f.inhibition:
        z = mem - threshold
        spk = f.spike_fn(z)
        winner = torch.zeros_like(spk).scatter_(1, z.argmax(dim=1, keepdim=True), 1.0)
        return spk * winner
    if f.state_quant is not None:
        mem = f.state_quant(mem)
    return f.spike_fn(mem - threshold) * graded


def quantise(f: Firing, *states: Tensor) -> tuple[Tensor, ...]:
    """Apply ``f.state_quant`` to each state when set."""
    if f.state_quant is None:
        return states
    return tuple(f.state_quant(s) for s in states)


def immediate_reset(
    mem: Tensor, spk: Tensor, r: Tensor, threshold: Tensor, graded: Tensor, f: Firing
) -> Tensor:
    """The ``reset_delay=False`` correction: ``D = S/g - R``; subtract ``U - D*theta``, zero ``U - D*U``."""
    if f.reset_delay or f.reset == NONE:
        return mem
    d = spk / graded - r
    if f.reset == SUBTRACT:
        return mem - d * threshold
    return mem - d * mem
