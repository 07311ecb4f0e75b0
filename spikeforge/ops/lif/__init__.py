"""Fused sequence kernels of the LIF family (``Leaky``, ``Synaptic``, ``Lapicque``) with exact BPTT.

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
    SynapticParams,
    SynapticState,
)
from ...runner import SequenceResult
from .._surrogate_ids import NO_GRAD, per_neuron, surrogate_spec


class LifConfig(NamedTuple):
    """Static configuration of one fused LIF run (see ``ops/lif/cpu.py`` for the codes)."""

    syn: bool
    reset: int
    immediate: bool
    sid: int
    p1: float
    p2: float
    backend: str  # "cpu" (numba) or "triton"


def _np(t: Tensor) -> np.ndarray:
    return t.detach().contiguous().numpy()


def _cpu_forward(xs: Tensor, u0: Tensor, i0: Tensor, prm: tuple[Tensor, ...], c: LifConfig):
    from .cpu import empty_like_rows, lif_forward, lif_forward_serial, pick

    x = _np(xs)
    spk = np.empty_like(x)
    u = np.empty_like(x)
    itr = empty_like_rows(x, c.syn)
    v = empty_like_rows(x, c.immediate)
    kernel = pick(lif_forward, lif_forward_serial, x.shape[1])
    kernel(x, _np(u0), _np(i0), *(_np(p) for p in prm), c.syn, c.reset, c.immediate, spk, u, itr, v)
    return tuple(torch.from_numpy(a) for a in (spk, u, itr, v))


def _cpu_backward(saved: tuple[Tensor, ...], gs: Tensor, gu: Tensor | None, gi: Tensor | None, c: LifConfig):
    from .cpu import lif_backward, lif_backward_serial, pick

    u0, i0, alpha, beta, theta, g, u, itr, v = (_np(t) for t in saved)
    dummy = np.zeros((1, 1), dtype=u.dtype)
    gx = np.empty_like(u)
    vecs = [np.empty_like(u0) for _ in range(6)]
    pick(lif_backward, lif_backward_serial, u.shape[1])(
        u0, i0, alpha, beta, theta, g, c.syn, c.reset, c.immediate, c.sid, c.p1, c.p2,
        u, itr, v, _np(gs), dummy if gu is None else _np(gu), dummy if gi is None else _np(gi),
        gu is not None, gi is not None, gx, *vecs,
    )
    return tuple(torch.from_numpy(a) for a in (gx, *vecs))


class LifSequence(torch.autograd.Function):
    """``(xs[T,N], u0[N], i0[N], alpha[N], beta[N], theta[N], g[N]) -> (spk, mem, syn)`` traces ``[T,N]``."""

    @staticmethod
    def forward(ctx: Any, xs: Tensor, u0: Tensor, i0: Tensor, alpha: Tensor, beta: Tensor,  # noqa: D102
                theta: Tensor, g: Tensor, c: LifConfig) -> tuple[Tensor, Tensor, Tensor]:
        prm = (alpha, beta, theta, g)
        if c.backend == "triton":
            from .triton import triton_forward

            spk, u, itr, v = triton_forward(xs, u0, i0, prm, c)
        else:
            spk, u, itr, v = _cpu_forward(xs, u0, i0, prm, c)
        ctx.c = c
        ctx.save_for_backward(u0, i0, alpha, beta, theta, g, u, itr, v)
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
            gs = torch.zeros_like(saved[6])
        if not c.syn:
            gi = None
        if c.backend == "triton":
            from .triton import triton_backward

            gx, gu0, gi0, ga, gb, gth, gg = triton_backward(saved, gs, gu, gi, c)
        else:
            gx, gu0, gi0, ga, gb, gth, gg = _cpu_backward(saved, gs, gu, gi, c)
        return gx, gu0, gi0 if c.syn else None, ga if c.syn else None, gb, gth, gg, None


def lif_sequence(xs: Tensor, u0: Tensor, i0: Tensor, alpha: Tensor, beta: Tensor, theta: Tensor,
                 g: Tensor, c: LifConfig) -> tuple[Tensor, Tensor, Tensor]:
    """Run the fused LIF over ``xs[T, N]``; every tensor but ``xs`` is ``[N]``; returns
    ``(spk[T,N], mem[T,N], syn[T,N] or empty)`` with gradients for every input."""
    return LifSequence.apply(xs, u0, i0, alpha, beta, theta, g, c)


def _config(firing: Firing, syn: bool, reset: int, immediate: bool, xs: Tensor) -> LifConfig:
    from .. import backend_for

    sid, p1, p2 = surrogate_spec(firing.spike_fn) or (NO_GRAD, 0.0, 0.0)
    return LifConfig(syn, reset, immediate, sid, p1, p2, backend_for(xs) or "cpu")


def _run(xs: Tensor, mem0: Tensor, syn0: Tensor | None, alpha: Tensor | None, beta: Tensor,
         theta: Tensor, graded: Tensor, c: LifConfig) -> tuple[Tensor, Tensor, Tensor]:
    """Flatten to ``[T, N]``, run, and give back ``(spk, mem, syn)`` traces ``[T, B, ...]``."""
    T, shape = xs.shape[0], xs.shape[1:]
    n, dt = shape.numel(), xs.dtype
    zeros = xs.new_zeros(n)
    spk, mem, syn = lif_sequence(
        xs.reshape(T, n), mem0.reshape(n), zeros if syn0 is None else syn0.reshape(n),
        zeros if alpha is None else per_neuron(alpha, shape, dt), per_neuron(beta, shape, dt),
        per_neuron(theta, shape, dt), per_neuron(graded, shape, dt), c,
    )
    full = (T, *shape)
    return spk.view(full), mem.view(full), (syn.view(full) if c.syn else syn)


def run_leaky(xs: Tensor, state: LeakyState, p: LeakyParams, f: Firing, record: bool) -> SequenceResult:
    """Fused :func:`spikeforge.core.leaky_step` over ``xs[T, B, ...]``."""
    reset = (0, 1, 2)[f.reset]
    c = _config(f, False, reset, not f.reset_delay and f.reset != NONE, xs)
    spk, mem, _ = _run(xs, state.mem, None, None, p.beta.clamp(0, 1), p.threshold, p.graded, c)
    return SequenceResult(spk, LeakyState(mem[-1]), LeakyState(mem) if record else None)


def run_synaptic(xs: Tensor, state: SynapticState, p: SynapticParams, f: Firing,
                 record: bool) -> SequenceResult:
    """Fused :func:`spikeforge.core.synaptic_step` over ``xs[T, B, ...]``."""
    reset = (0, 3, 2)[f.reset]
    c = _config(f, True, reset, not f.reset_delay and f.reset != NONE, xs)
    spk, mem, syn = _run(xs, state.mem, state.syn, p.alpha.clamp(0, 1), p.beta.clamp(0, 1),
                         p.threshold, p.graded, c)
    trace = SynapticState(syn, mem) if record else None
    return SequenceResult(spk, SynapticState(syn[-1], mem[-1]), trace)


def run_lapicque(xs: Tensor, state: LapicqueState, p: LapicqueParams, f: Firing,
                 record: bool) -> SequenceResult:
    """Fused :func:`spikeforge.core.lapicque_step`: the input term ``X*R/tau*dt`` is formed over the
    whole sequence with the step function's operations, then the leak ``1 - dt/tau`` plays beta."""
    tau = p.R * p.C
    drive = xs * p.R * (1 / tau) * p.time_step
    c = _config(f, False, (0, 3, 2)[f.reset], False, xs)
    spk, mem, _ = _run(drive, state.mem, None, None, 1 - p.time_step / tau, p.threshold, p.graded, c)
    return SequenceResult(spk, LapicqueState(mem[-1]), LapicqueState(mem) if record else None)
