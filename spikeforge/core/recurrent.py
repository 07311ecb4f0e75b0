"""Recurrent LIF neurons (snntorch ``RLeaky`` and ``RSynaptic``): the previous output spike ``S[t-1]``
is fed back through a map ``V`` (a Linear layer, a same-padded Conv2d, or an element-wise weight).

RLeaky: ``B = beta*U[t-1] + X[t] + V(S[t-1])``; subtract ``U = B - R*theta``; zero ``(1-R)*B``; none ``B``.
RSynaptic: ``I = alpha*I[t-1] + X[t] + V(S[t-1])``, ``B = beta*U[t-1] + I``, then as RLeaky (``I`` not reset).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from torch import Tensor

from ._firing import SUBTRACT, ZERO, Firing, fire, immediate_reset, quantise, reset_mask


class OneToOne(NamedTuple):
    """The element-wise recurrent map ``V(S) = S * V`` (``all_to_all=False``; ``V`` a scalar or one weight
    per neuron). Being a recognisable type lets the runner fuse the whole sequence (``spikeforge.ops``)."""

    V: Tensor

    def __call__(self, spk: Tensor) -> Tensor:
        """``spk * V`` (the previous spike ``[B, ...]`` weighted element-wise)."""
        return spk * self.V


class RLeakyState(NamedTuple):
    spk: Tensor
    mem: Tensor


class RLeakyParams(NamedTuple):
    beta: Tensor
    threshold: Tensor
    graded: Tensor
    recurrent: Callable[[Tensor], Tensor]


class RSynapticState(NamedTuple):
    spk: Tensor
    syn: Tensor
    mem: Tensor


class RSynapticParams(NamedTuple):
    alpha: Tensor
    beta: Tensor
    threshold: Tensor
    graded: Tensor
    recurrent: Callable[[Tensor], Tensor]


def _reset(base: Tensor, r: Tensor, threshold: Tensor, f: Firing) -> Tensor:
    if f.reset == SUBTRACT:
        return base - r * threshold
    if f.reset == ZERO:
        return base - r * base
    return base


def rleaky_step(x: Tensor, state: RLeakyState, p: RLeakyParams, f: Firing) -> tuple[Tensor, RLeakyState]:
    """One step of the recurrent first-order LIF (module docstring; API.md 2.5). ``p.recurrent`` maps
    the previous spike to a current of the same shape.

    Args:
        x: input current ``X[t]``, ``[B, ...]`` (input units), any float dtype.
        state: the previous spike ``S[t-1]`` and membrane ``U[t-1]``, each shaped and typed like ``x``.
        p: the parameters (scalars or tensors broadcastable to ``x``; gradients flow through them).
        f: the firing configuration (surrogate, reset mechanism, reset_delay, state_quant, inhibition).

    Returns:
        ``(spk, new_state)``: spikes ``S[t]`` (``0`` or ``g``, in the dtype of the membrane) and the
        new ``RLeakyState(spk, mem)``, each ``[B, ...]``.
    """
    spk_prev, mem = state
    r = reset_mask(mem, p.threshold, f)
    base = p.beta.clamp(0, 1) * mem + x + p.recurrent(spk_prev)
    mem = _reset(base, r, p.threshold, f)
    (mem,) = quantise(f, mem)
    spk = fire(mem, p.threshold, p.graded, f)
    mem = immediate_reset(mem, spk, r, p.threshold, p.graded, f)
    return spk, RLeakyState(spk, mem)


def rsynaptic_step(
    x: Tensor, state: RSynapticState, p: RSynapticParams, f: Firing
) -> tuple[Tensor, RSynapticState]:
    """One step of the recurrent synaptic LIF (module docstring; API.md 2.6).

    ``reset_delay=False`` resets the membrane in the same step as for RLeaky (snntorch 1.0.0's
    version of this flag is broken: it crashes or has no effect).
    Args:
        x: input current ``X[t]``, ``[B, ...]`` (input units), any float dtype.
        state: the previous spike ``S[t-1]``, current ``I[t-1]`` and membrane ``U[t-1]``, each
            shaped and typed like ``x``.
        p: the parameters (scalars or tensors broadcastable to ``x``; gradients flow through them).
        f: the firing configuration (surrogate, reset mechanism, reset_delay, state_quant, inhibition).

    Returns:
        ``(spk, new_state)``: spikes ``S[t]`` (``0`` or ``g``, in the dtype of the membrane) and the
        new ``RSynapticState(spk, syn, mem)``, each ``[B, ...]``.
    """
    spk_prev, syn, mem = state
    r = reset_mask(mem, p.threshold, f)
    syn = p.alpha.clamp(0, 1) * syn + x + p.recurrent(spk_prev)
    base = p.beta.clamp(0, 1) * mem + syn
    mem = _reset(base, r, p.threshold, f)
    syn, mem = quantise(f, syn, mem)
    spk = fire(mem, p.threshold, p.graded, f)
    mem = immediate_reset(mem, spk, r, p.threshold, p.graded, f)
    return spk, RSynapticState(spk, syn, mem)
