"""Fused sequence kernels of the LIF family (``Leaky``, ``Synaptic``, ``Lapicque`` and the one-to-one
``RLeaky``/``RSynaptic``) with exact BPTT.

One operator, ``torch.ops.spikeforge.lif_forward`` (``_op.py``; a ``torch.library`` custom op, so
``torch.compile(fullgraph=True)`` and ``torch.export`` see one node), runs the whole sequence. For the
backward it keeps the membrane trace (and the current trace for ``Synaptic``, the pre-reset membrane with
``reset_delay=False``, the spike trace with the one-to-one recurrence) and nothing else; without autograd
and without ``record`` it keeps no trace at all, only the last states. The final states are outputs of
their own (copies of the last step), so a gradient that reaches only them (the next time chunk's in
`SequentialSNN`) starts the backward's carried gradients rather than filling a whole trace's gradient
with zeros; without parameter gradients the backward keeps the initial states only as ``U0 > theta``.
The backward op, ``lif_backward``, walks time in reverse. Derivation, per step (``r = [U[t-1] > theta]``
detached, ``h = [z > 0]``, ``z = V - theta``, ``S = h*g``, ``s' `` the surrogate derivative at ``z``)::

    dL/dV  = dL/dU                      (reset_delay or no reset)
           = dL/dU * (1 - D)            (immediate zero reset, D = h - r)
    dL/dS += -dL/dU * theta/g  or  -dL/dU * V/g      (immediate subtract / zero: D = S/g - r)
    dL/dz  = dL/dS * g * s'(z);   dL/dV += dL/dz;   dL/dtheta -= dL/dz;   dL/dg += dL/dS * h
    subtract: dL/dtheta -= r*dL/dV;   zero (whole update): dL/dbase = (1 - r)*dL/dV
    base = beta*U[t-1] + I:   dL/dU[t-1] = beta*dL/dbase;  dL/dbeta += U[t-1]*dL/dbase
    I = alpha*I[t-1] + X:     dL/dX = dL/dI;  dL/dI[t-1] = alpha*dL/dI;  dL/dalpha += I[t-1]*dL/dI

Leaky's zero reset, ``U = beta*(1-r)*U[t-1] + X``, also cuts ``dL/dU[t-1]`` and ``dL/dbeta`` where r = 1.
The one-to-one recurrence adds ``V*S[t-1]`` to the drive ``d`` (``I`` with a current, else ``base``):
``dL/dS[t-1] += V*dL/dd`` (carried into the previous step's ``dL/dS``) and ``dL/dV += S[t-1]*dL/dd``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ...core import (
    NONE,
    Firing,
    LapicqueParams,
    LapicqueState,
    LeakyParams,
    LeakyState,
    OneToOne,
    RLeakyParams,
    RLeakyState,
    RSynapticParams,
    RSynapticState,
    SynapticParams,
    SynapticState,
)
from ...runner import SequenceResult
from .._params import kernel_params
from .._surrogate_ids import NO_GRAD, surrogate_spec
from ._op import Config, backend, lif_forward


def _config(firing: Firing, syn: bool, rec: bool, reset: int, immediate: bool) -> Config:
    sid, p1, p2 = surrogate_spec(firing.spike_fn) or (NO_GRAD, 0.0, 0.0)
    return Config(syn, rec, reset, immediate, sid, p1, p2)


def _run(xs: Tensor, mem0: Tensor, syn0: Tensor | None, alpha: Tensor | None, beta: Tensor,
         theta: Tensor, graded: Tensor, c: Config, record: bool, spk0: Tensor | None = None,
         vrec: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor, tuple[Tensor, Tensor, Tensor]]:
    """Flatten to ``[T, N]``, run ``spikeforge::lif_forward`` (the states ``[N]``; the parameters
    ``[N]``, or on the compiled CPU kernels ``[1]`` when all are one value, else ``[P]`` when they vary
    over the trailing dimensions alone, ``P = prod(shape[j:])``, e.g. a ``[F]`` beta for ``xs[T, B, F]``
    or a per-channel ``[C, 1, 1]`` one for ``[T, B, C, H, W]``), and give back
    ``(spk, mem, syn, (spk_last, mem_last, syn_last))``: ``[T, B, ...]`` traces when ``record`` or a
    gradient may be needed, else ``mem``/``syn`` are ``[1, B, ...]`` (the last step);
    ``syn`` empty without a current; then the final states ``[B, ...]`` (the spike one only with a
    recurrence, the current with ``syn``)."""
    T, shape = xs.shape[0], xs.shape[1:]
    n, dt = math.prod(shape), xs.dtype  # not Size.numel(): it specialises a symbolic batch size
    # the CPU kernels take parameters that are one value each as [1] (not repeated per neuron) and
    # 1-element placeholders for states and parameters the configuration does not read
    cpu = backend(xs) == "cpu"
    unused = xs.new_zeros(1 if cpu else n)
    prm = kernel_params((alpha, beta, theta, graded, vrec), shape, dt, cpu)

    def opt(p: Tensor | None) -> Tensor:
        return unused if p is None else p

    args = (xs.reshape(T, n), mem0.reshape(n), opt(None if syn0 is None else syn0.reshape(n)),
            opt(None if spk0 is None else spk0.reshape(n)), *(opt(p) for p in prm))
    keep = record or (torch.is_grad_enabled() and any(t.requires_grad for t in args))
    spk, mem, syn, _, *last = lif_forward(*args, *c, keep)
    rows = (mem.shape[0], *shape)
    # the final states the configuration has (spike with a recurrence, current with syn); the others
    # are empty placeholders (not told apart by their size: with no neuron the states are empty too)
    finals = tuple(t.view(shape) if used else t for t, used in zip(last, (c.rec, True, c.syn)))
    return spk.view(T, *shape), mem.view(rows), (syn.view(rows) if c.syn else syn), finals


def run_leaky(xs: Tensor, state: LeakyState, p: LeakyParams, f: Firing, record: bool) -> SequenceResult:
    """Fused `spikeforge.core.leaky_step` over ``xs[T, B, ...]``."""
    reset = (0, 1, 2)[f.reset]
    c = _config(f, False, False, reset, not f.reset_delay and f.reset != NONE)
    spk, mem, _, (_, mem_last, _) = _run(xs, state.mem, None, None, p.beta.clamp(0, 1), p.threshold, p.graded,
                                         c, record)
    return SequenceResult(spk, LeakyState(mem_last), LeakyState(mem) if record else None)


def run_synaptic(xs: Tensor, state: SynapticState, p: SynapticParams, f: Firing,
                 record: bool) -> SequenceResult:
    """Fused `spikeforge.core.synaptic_step` over ``xs[T, B, ...]``."""
    reset = (0, 3, 2)[f.reset]
    c = _config(f, True, False, reset, not f.reset_delay and f.reset != NONE)
    spk, mem, syn, (_, mem_last, syn_last) = _run(xs, state.mem, state.syn, p.alpha.clamp(0, 1),
                                                  p.beta.clamp(0, 1), p.threshold, p.graded, c, record)
    trace = SynapticState(syn, mem) if record else None
    return SequenceResult(spk, SynapticState(syn_last, mem_last), trace)


def run_lapicque(xs: Tensor, state: LapicqueState, p: LapicqueParams, f: Firing,
                 record: bool) -> SequenceResult:
    """Fused `spikeforge.core.lapicque_step`: the input term ``X*R/tau*dt`` is formed over the
    whole sequence with the step function's operations, then the leak ``1 - dt/tau`` plays beta."""
    tau = p.R * p.C
    drive = xs * p.R * (1 / tau) * p.time_step
    c = _config(f, False, False, (0, 3, 2)[f.reset], False)
    spk, mem, _, (_, mem_last, _) = _run(drive, state.mem, None, None, 1 - p.time_step / tau, p.threshold,
                                         p.graded, c, record)
    return SequenceResult(spk, LapicqueState(mem_last), LapicqueState(mem) if record else None)


def _recurrence(p: RLeakyParams | RSynapticParams) -> Tensor:
    if not isinstance(p.recurrent, OneToOne):
        raise TypeError("the fused recurrent kernels need the element-wise map core.OneToOne")
    return p.recurrent.V


def run_rleaky(xs: Tensor, state: RLeakyState, p: RLeakyParams, f: Firing, record: bool) -> SequenceResult:
    """Fused `spikeforge.core.rleaky_step` over ``xs[T, B, ...]`` (one-to-one recurrence only)."""
    c = _config(f, False, True, (0, 3, 2)[f.reset], not f.reset_delay and f.reset != NONE)
    spk, mem, _, (spk_last, mem_last, _) = _run(xs, state.mem, None, None, p.beta.clamp(0, 1), p.threshold,
                                                p.graded, c, record, state.spk, _recurrence(p))
    return SequenceResult(spk, RLeakyState(spk_last, mem_last), RLeakyState(spk, mem) if record else None)


def run_rsynaptic(xs: Tensor, state: RSynapticState, p: RSynapticParams, f: Firing,
                  record: bool) -> SequenceResult:
    """Fused `spikeforge.core.rsynaptic_step` over ``xs[T, B, ...]`` (one-to-one recurrence only)."""
    c = _config(f, True, True, (0, 3, 2)[f.reset], not f.reset_delay and f.reset != NONE)
    spk, mem, syn, (spk_last, mem_last, syn_last) = _run(
        xs, state.mem, state.syn, p.alpha.clamp(0, 1), p.beta.clamp(0, 1), p.threshold, p.graded, c, record,
        state.spk, _recurrence(p))
    trace = RSynapticState(spk, syn, mem) if record else None
    return SequenceResult(spk, RSynapticState(spk_last, syn_last, mem_last), trace)
