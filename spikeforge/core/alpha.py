"""Alpha-kernel neuron (snntorch ``Alpha``): an excitatory and an inhibitory synaptic current.

``E' = alpha*E + X``, ``N' = beta*N - X``, ``U' = tau_a*(E' + N')`` with
``tau_a = ln(alpha)/(ln(beta) - ln(alpha)) + 1`` (so the membrane is the alpha-shaped difference of
two exponentials; it has no self-decay term). Zero reset clears all three states; subtract sets
``E = E' - R*theta``, ``N = (1-R)*N'``, ``U = U' + R*N[t-1]`` (snntorch 1.0.0's rule); none keeps them.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from ._firing import SUBTRACT, ZERO, Firing, fire, quantise, reset_mask


class AlphaState(NamedTuple):
    syn_exc: Tensor
    syn_inh: Tensor
    mem: Tensor


class AlphaParams(NamedTuple):
    alpha: Tensor
    beta: Tensor
    threshold: Tensor
    graded: Tensor


def alpha_tau(alpha: Tensor, beta: Tensor) -> Tensor:
    """``tau_a = ln(alpha)/(ln(beta) - ln(alpha)) + 1`` with both clamped to [0, 1]."""
    la, lb = torch.log(alpha.clamp(0, 1)), torch.log(beta.clamp(0, 1))
    return la / (lb - la) + 1


def alpha_step(x: Tensor, state: AlphaState, p: AlphaParams, f: Firing) -> tuple[Tensor, AlphaState]:
    """One step of the alpha neuron (equations in the module docstring; API.md 2.7).

    Args:
        x: input current ``X[t]``, ``[B, ...]`` (input units), any float dtype.
        state: the previous currents ``E[t-1]``, ``N[t-1]`` and membrane ``U[t-1]``, each shaped
            and typed like ``x``.
        p: the parameters (scalars or tensors broadcastable to ``x``; gradients flow through them).
        f: the firing configuration (surrogate, reset mechanism, reset_delay, state_quant, inhibition).

    Returns:
        ``(spk, new_state)``: spikes ``S[t]`` (``0`` or ``g``, in the dtype of the membrane) and the
        new ``AlphaState(syn_exc, syn_inh, mem)``, each ``[B, ...]``.
    """
    exc, inh, mem = state
    r = reset_mask(mem, p.threshold, f)
    exc_new = p.alpha.clamp(0, 1) * exc + x
    inh_new = p.beta.clamp(0, 1) * inh - x
    mem_new = alpha_tau(p.alpha, p.beta) * (exc_new + inh_new)
    if f.reset == SUBTRACT:
        exc_new = exc_new - r * p.threshold
        mem_new = mem_new + r * inh
        inh_new = inh_new - r * inh_new
    elif f.reset == ZERO:
        exc_new = exc_new - r * exc_new
        inh_new = inh_new - r * inh_new
        mem_new = mem_new - r * mem_new
    exc_new, inh_new, mem_new = quantise(f, exc_new, inh_new, mem_new)
    spk = fire(mem_new, p.threshold, p.graded, f)
    return spk, AlphaState(exc_new, inh_new, mem_new)
