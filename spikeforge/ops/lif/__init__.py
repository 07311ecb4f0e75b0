"""Fused sequence kernels of the LIF family (``Leaky``, ``Synaptic``, ``Lapicque`` and the one-to-one
``RLeaky``/``RSynaptic``) with exact BPTT.

One autograd function runs the whole sequence: the forward stores the membrane trace (and the current
trace for ``Synaptic``, and the pre-reset membrane with ``reset_delay=False``) and nothing else; the
backward walks time in reverse. Derivation, per step (``r = [U[t-1] > theta]`` detached, ``h = [z > 0]``,
``z = V - theta``, ``S = h*g``, ``s' `` the surrogate derivative at ``z``)::

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

from typing import Any, NamedTuple

import numpy as np
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
from .._surrogate_ids import NO_GRAD, per_neuron, surrogate_spec


class LifConfig(NamedTuple):
    """Static configuration of one fused LIF run (see ``ops/lif/cpu.py`` for the codes)."""

    syn: bool
    rec: bool
    reset: int
    immediate: bool
    sid: int
    p1: float
    p2: float
    backend: str  # "cpu" (numba) or "triton"


def _np(t: Tensor) -> np.ndarray:
    return t.detach().contiguous().numpy()


def _cpu_forward(xs: Tensor, init: tuple[Tensor, ...], prm: tuple[Tensor, ...], c: LifConfig):
    from .cpu import blocks, empty_like_rows, lif_forward, lif_forward_serial, pick

    x = _np(xs)
    spk = np.empty_like(x)
    u = np.empty_like(x)
    itr = empty_like_rows(x, c.syn)
    v = empty_like_rows(x, c.immediate)
    nb = blocks(x.shape[1])
    pick(lif_forward, lif_forward_serial, nb)(
        x, *(_np(t) for t in init), *(_np(p) for p in prm), c.syn, c.rec, c.reset, c.immediate, nb,
        spk, u, itr, v,
    )
    return tuple(torch.from_numpy(a) for a in (spk, u, itr, v))


def _cpu_backward(saved: tuple[Tensor, ...], gs: Tensor, gu: Tensor | None, gi: Tensor | None, c: LifConfig):
    from .cpu import blocks, lif_backward, lif_backward_serial, pick

    arrs = [_np(t) for t in saved]
    u = arrs[9]
    dummy = np.zeros((1, 1), dtype=u.dtype)
    gx = np.empty_like(u)
    vecs = [np.empty_like(arrs[0]) for _ in range(8)]
    nb = blocks(u.shape[1])
    pick(lif_backward, lif_backward_serial, nb)(
        *arrs[:8], c.syn, c.rec, c.reset, c.immediate, c.sid, c.p1, c.p2, nb, *arrs[8:], _np(gs),
        dummy if gu is None else _np(gu), dummy if gi is None else _np(gi), gu is not None, gi is not None,
        gx, *vecs,
    )
    return tuple(torch.from_numpy(a) for a in (gx, *vecs))


class LifSequence(torch.autograd.Function):
    """``(xs[T,N], u0, i0, s0, alpha, beta, theta, g, V [N]) -> (spk, mem, syn)`` traces ``[T,N]``."""

    @staticmethod
    def forward(ctx: Any, xs: Tensor, u0: Tensor, i0: Tensor, s0: Tensor, alpha: Tensor,  # noqa: D102
                beta: Tensor, theta: Tensor, g: Tensor, vrec: Tensor,
                c: LifConfig) -> tuple[Tensor, Tensor, Tensor]:
        init, prm = (u0, i0, s0), (alpha, beta, theta, g, vrec)
        if c.backend == "triton":
            from .triton import triton_forward

            spk, u, itr, v = triton_forward(xs, init, prm, c)
        else:
            spk, u, itr, v = _cpu_forward(xs, init, prm, c)
        ctx.c = c
        ctx.save_for_backward(*init, *prm, spk if c.rec else u.new_empty(1, 1), u, itr, v)
        ctx.set_materialize_grads(False)
        if not c.syn:
            itr = u.new_zeros(0)
            ctx.mark_non_differentiable(itr)
        return spk, u, itr

    @staticmethod
    def backward(ctx: Any, gs: Tensor | None, gu: Tensor | None, gi: Tensor | None):  # noqa: D102
        c: LifConfig = ctx.c
        saved = ctx.saved_tensors
        if gs is None:
            gs = torch.zeros_like(saved[9])
        if not c.syn:
            gi = None
        if c.backend == "triton":
            from .triton import triton_backward

            gx, gu0, gi0, gs0, ga, gb, gth, gg, gv = triton_backward(saved, gs, gu, gi, c)
        else:
            gx, gu0, gi0, gs0, ga, gb, gth, gg, gv = _cpu_backward(saved, gs, gu, gi, c)
        syn, rec = c.syn, c.rec
        return (gx, gu0, gi0 if syn else None, gs0 if rec else None, ga if syn else None, gb, gth, gg,
                gv if rec else None, None)


def _config(firing: Firing, syn: bool, rec: bool, reset: int, immediate: bool, xs: Tensor) -> LifConfig:
    from .. import backend_for

    sid, p1, p2 = surrogate_spec(firing.spike_fn) or (NO_GRAD, 0.0, 0.0)
    return LifConfig(syn, rec, reset, immediate, sid, p1, p2, backend_for(xs) or "cpu")


def _run(xs: Tensor, mem0: Tensor, syn0: Tensor | None, alpha: Tensor | None, beta: Tensor,
         theta: Tensor, graded: Tensor, c: LifConfig, spk0: Tensor | None = None,
         vrec: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """Flatten to ``[T, N]``, run `LifSequence` (every tensor but ``xs`` per neuron, ``[N]``),
    and give back ``(spk, mem, syn)`` traces ``[T, B, ...]`` (``syn`` empty without a current)."""
    T, shape = xs.shape[0], xs.shape[1:]
    n, dt = shape.numel(), xs.dtype
    zeros = xs.new_zeros(n)

    def opt(p: Tensor | None) -> Tensor:
        return zeros if p is None else per_neuron(p, shape, dt)

    spk, mem, syn = LifSequence.apply(
        xs.reshape(T, n), mem0.reshape(n), opt(syn0), opt(spk0), opt(alpha), per_neuron(beta, shape, dt),
        per_neuron(theta, shape, dt), per_neuron(graded, shape, dt), opt(vrec), c,
    )
    full = (T, *shape)
    return spk.view(full), mem.view(full), (syn.view(full) if c.syn else syn)


def run_leaky(xs: Tensor, state: LeakyState, p: LeakyParams, f: Firing, record: bool) -> SequenceResult:
    """Fused `spikeforge.core.leaky_step` over ``xs[T, B, ...]``."""
    reset = (0, 1, 2)[f.reset]
    c = _config(f, False, False, reset, not f.reset_delay and f.reset != NONE, xs)
    spk, mem, _ = _run(xs, state.mem, None, None, p.beta.clamp(0, 1), p.threshold, p.graded, c)
    return SequenceResult(spk, LeakyState(mem[-1]), LeakyState(mem) if record else None)


def run_synaptic(xs: Tensor, state: SynapticState, p: SynapticParams, f: Firing,
                 record: bool) -> SequenceResult:
    """Fused `spikeforge.core.synaptic_step` over ``xs[T, B, ...]``."""
    reset = (0, 3, 2)[f.reset]
    c = _config(f, True, False, reset, not f.reset_delay and f.reset != NONE, xs)
    spk, mem, syn = _run(xs, state.mem, state.syn, p.alpha.clamp(0, 1), p.beta.clamp(0, 1),
                         p.threshold, p.graded, c)
    trace = SynapticState(syn, mem) if record else None
    return SequenceResult(spk, SynapticState(syn[-1], mem[-1]), trace)


def run_lapicque(xs: Tensor, state: LapicqueState, p: LapicqueParams, f: Firing,
                 record: bool) -> SequenceResult:
    """Fused `spikeforge.core.lapicque_step`: the input term ``X*R/tau*dt`` is formed over the
    whole sequence with the step function's operations, then the leak ``1 - dt/tau`` plays beta."""
    tau = p.R * p.C
    drive = xs * p.R * (1 / tau) * p.time_step
    c = _config(f, False, False, (0, 3, 2)[f.reset], False, xs)
    spk, mem, _ = _run(drive, state.mem, None, None, 1 - p.time_step / tau, p.threshold, p.graded, c)
    return SequenceResult(spk, LapicqueState(mem[-1]), LapicqueState(mem) if record else None)


def _recurrence(p: RLeakyParams | RSynapticParams) -> Tensor:
    if not isinstance(p.recurrent, OneToOne):
        raise TypeError("the fused recurrent kernels need the element-wise map core.OneToOne")
    return p.recurrent.V


def run_rleaky(xs: Tensor, state: RLeakyState, p: RLeakyParams, f: Firing, record: bool) -> SequenceResult:
    """Fused `spikeforge.core.rleaky_step` over ``xs[T, B, ...]`` (one-to-one recurrence only)."""
    c = _config(f, False, True, (0, 3, 2)[f.reset], not f.reset_delay and f.reset != NONE, xs)
    spk, mem, _ = _run(xs, state.mem, None, None, p.beta.clamp(0, 1), p.threshold, p.graded, c,
                       state.spk, _recurrence(p))
    return SequenceResult(spk, RLeakyState(spk[-1], mem[-1]), RLeakyState(spk, mem) if record else None)


def run_rsynaptic(xs: Tensor, state: RSynapticState, p: RSynapticParams, f: Firing,
                  record: bool) -> SequenceResult:
    """Fused `spikeforge.core.rsynaptic_step` over ``xs[T, B, ...]`` (one-to-one recurrence only)."""
    c = _config(f, True, True, (0, 3, 2)[f.reset], not f.reset_delay and f.reset != NONE, xs)
    spk, mem, syn = _run(xs, state.mem, state.syn, p.alpha.clamp(0, 1), p.beta.clamp(0, 1), p.threshold,
                         p.graded, c, state.spk, _recurrence(p))
    trace = RSynapticState(spk, syn, mem) if record else None
    return SequenceResult(spk, RSynapticState(spk[-1], syn[-1], mem[-1]), trace)
