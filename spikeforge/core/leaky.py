"""Leaky integrate-and-fire, first order (snntorch ``Leaky``; Lapicque 1907, Gerstner et al. 2014).

``U[t] = beta*U[t-1] + X[t] - R*theta`` (subtract), ``beta*(1-R)*U[t-1] + X[t]`` (zero; the input of
the reset step is kept, as in snntorch), ``beta*U[t-1] + X[t]`` (none); ``S[t] = H(U[t] - theta)*g``,
``beta`` clamped to [0, 1] at use.
"""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor

from ._firing import SUBTRACT, ZERO, Firing, fire, immediate_reset, quantise, reset_mask


class LeakyState(NamedTuple):
    mem: Tensor


class LeakyParams(NamedTuple):
    beta: Tensor
    threshold: Tensor
    graded: Tensor


def leaky_step(x: Tensor, state: LeakyState, p: LeakyParams, f: Firing) -> tuple[Tensor, LeakyState]:
    """One step of the first-order LIF neuron (equations in the module docstring; API.md 2.2).

    Args:
        x: input current ``X[t]``, ``[B, ...]`` (input units), any float dtype.
        state: the previous membrane ``U[t-1]``, each shaped and typed like ``x``.
        p: the parameters (scalars or tensors broadcastable to ``x``; gradients flow through them).
        f: the firing configuration (surrogate, reset mechanism, reset_delay, state_quant, inhibition).

    Returns:
        ``(spk, new_state)``: spikes ``S[t]`` (``0`` or ``g``, in the dtype of the membrane) and the
        new ``LeakyState(mem)``, each ``[B, ...]``.
    """
    mem = state.mem
    r = reset_mask(mem, p.threshold, f)
    beta = p.beta.clamp(0, 1)
    if f.reset == SUBTRACT:
        mem = beta * mem + x - r * p.threshold
    elif f.reset == ZERO:
        mem = beta * (1 - r) * mem + x
    else:
        mem = beta * mem + x
    (mem,) = quantise(f, mem)
    spk = fire(mem, p.threshold, p.graded, f)
    mem = immediate_reset(mem, spk, r, p.threshold, p.graded, f)
    return spk, LeakyState(mem)
