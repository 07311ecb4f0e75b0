"""Current-based (second-order) LIF (snntorch ``Synaptic``; Gerstner et al. 2014, ch. 1).

``I[t] = alpha*I[t-1] + X[t]``; subtract ``U[t] = beta*U[t-1] + I[t] - R*theta``; zero
``U[t] = (1-R)*(beta*U[t-1] + I[t])`` (``I`` is never reset); none ``beta*U[t-1] + I[t]``.
"""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor

from ._firing import SUBTRACT, ZERO, Firing, fire, immediate_reset, quantise, reset_mask


class SynapticState(NamedTuple):
    syn: Tensor
    mem: Tensor


class SynapticParams(NamedTuple):
    alpha: Tensor
    beta: Tensor
    threshold: Tensor
    graded: Tensor


def synaptic_step(
    x: Tensor, state: SynapticState, p: SynapticParams, f: Firing
) -> tuple[Tensor, SynapticState]:
    """One step of the current-based LIF neuron (equations in the module docstring; API.md 2.3).

    Args:
        x: input current ``X[t]``, ``[B, ...]`` (input units), any float dtype.
        state: the previous current ``I[t-1]`` and membrane ``U[t-1]``, each shaped and typed like ``x``.
        p: the parameters (scalars or tensors broadcastable to ``x``; gradients flow through them).
        f: the firing configuration (surrogate, reset mechanism, reset_delay, state_quant, inhibition).

    Returns:
        ``(spk, new_state)``: spikes ``S[t]`` (``0`` or ``g``, in the dtype of the membrane) and the
        new ``SynapticState(syn, mem)``, each ``[B, ...]``.
    """
    syn, mem = state
    r = reset_mask(mem, p.threshold, f)
    syn = p.alpha.clamp(0, 1) * syn + x
    base = p.beta.clamp(0, 1) * mem + syn
    if f.reset == SUBTRACT:
        mem = base - r * p.threshold
    elif f.reset == ZERO:
        mem = base - r * base
    else:
        mem = base
    syn, mem = quantise(f, syn, mem)
    spk = fire(mem, p.threshold, p.graded, f)
    mem = immediate_reset(mem, spk, r, p.threshold, p.graded, f)
    return spk, SynapticState(syn, mem)
