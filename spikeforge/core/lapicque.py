"""Lapicque's RC neuron (Lapicque 1907; snntorch ``Lapicque``), forward Euler with step ``dt``.

``V = X*dt/C + (1 - dt/(R*C))*U[t-1]``; subtract ``U = V - R_t*theta``; zero ``(1 - R_t)*V``;
none ``V``. ``R_t`` is the reset mask. ``beta`` only parameterises ``R``/``C`` at construction.
"""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor

from ._firing import SUBTRACT, ZERO, Firing, fire, quantise, reset_mask


class LapicqueState(NamedTuple):
    mem: Tensor


class LapicqueParams(NamedTuple):
    R: Tensor
    C: Tensor
    time_step: Tensor
    threshold: Tensor
    graded: Tensor


def lapicque_step(
    x: Tensor, state: LapicqueState, p: LapicqueParams, f: Firing
) -> tuple[Tensor, LapicqueState]:
    """One forward-Euler step of the RC membrane (module docstring; API.md 2.4). ``R`` in ohm, ``C`` in
    farad, ``time_step`` in seconds.

    Args:
        x: input current ``X[t]``, ``[B, ...]`` (input units), any float dtype.
        state: the previous membrane ``U[t-1]``, each shaped and typed like ``x``.
        p: the parameters (scalars or tensors broadcastable to ``x``; gradients flow through them).
        f: the firing configuration (surrogate, reset mechanism, reset_delay, state_quant, inhibition).

    Returns:
        ``(spk, new_state)``: spikes ``S[t]`` (``0`` or ``g``, in the dtype of the membrane) and the
        new ``LapicqueState(mem)``, each ``[B, ...]``.
    """
    mem = state.mem
    r = reset_mask(mem, p.threshold, f)
    tau = p.R * p.C
    base = x * p.R * (1 / tau) * p.time_step + (1 - p.time_step / tau) * mem
    if f.reset == SUBTRACT:
        mem = base - r * p.threshold
    elif f.reset == ZERO:
        mem = base - r * base
    else:
        mem = base
    (mem,) = quantise(f, mem)
    spk = fire(mem, p.threshold, p.graded, f)
    return spk, LapicqueState(mem)
