"""Triton kernels of the alpha neuron (same contract as ``ops/alpha/cpu.py``): one program per block of
neurons, looping over ``T`` with the three states in registers. FMA contraction is turned off at launch
so the forward rounds exactly as `spikeforge.core.alpha_step` does. Tested on CPU with
``TRITON_INTERPRET=1``.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor

from ..lif.triton import BLOCK, grid, surrogate_grad


@triton.jit
def _alpha_fwd(x, e0, n0, u0, alpha, beta, tau, theta, g, spk, e, n, u, T, N,
               RESET: tl.constexpr, TRACE: tl.constexpr, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < N
    ep = tl.load(e0 + offs, mask=mask, other=0.0)
    np_ = tl.load(n0 + offs, mask=mask, other=0.0)
    up = tl.load(u0 + offs, mask=mask, other=0.0)
    a = tl.load(alpha + offs, mask=mask, other=0.0)
    b = tl.load(beta + offs, mask=mask, other=0.0)
    ta = tl.load(tau + offs, mask=mask, other=0.0)
    th = tl.load(theta + offs, mask=mask, other=0.0)
    gk = tl.load(g + offs, mask=mask, other=1.0)
    cur = offs.to(tl.int64)
    for _ in range(T):
        xv = tl.load(x + cur, mask=mask, other=0.0)
        fired = up > th
        e1 = a * ep + xv
        n1 = b * np_ - xv
        m1 = ta * (e1 + n1)
        if RESET == 0:
            e1 = tl.where(fired, e1 - th, e1)
            m1 = tl.where(fired, m1 + np_, m1)
            n1 = tl.where(fired, n1 - n1, n1)
        elif RESET == 1:
            e1 = tl.where(fired, e1 - e1, e1)
            n1 = tl.where(fired, n1 - n1, n1)
            m1 = tl.where(fired, m1 - m1, m1)
        if TRACE:
            tl.store(e + cur, e1, mask=mask)
            tl.store(n + cur, n1, mask=mask)
            tl.store(u + cur, m1, mask=mask)
        tl.store(spk + cur, tl.where(m1 - th > 0, gk, 0.0), mask=mask)
        ep = e1
        np_ = n1
        up = m1
        cur += N
    if TRACE == 0:  # the last step only
        tl.store(e + offs, ep, mask=mask)
        tl.store(n + offs, np_, mask=mask)
        tl.store(u + offs, up, mask=mask)


@triton.jit
def _alpha_bwd(x, e0, n0, u0, alpha, beta, tau, theta, g, e, n, u, gs, ge, gn, gu,
               gx, ge0, gn0, galpha, gbeta, gtau, gtheta, gg, T, N, p1, p2,
               RESET: tl.constexpr, SID: tl.constexpr, HAS_GE: tl.constexpr, HAS_GN: tl.constexpr,
               HAS_GU: tl.constexpr, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < N
    e0v = tl.load(e0 + offs, mask=mask, other=0.0)
    n0v = tl.load(n0 + offs, mask=mask, other=0.0)
    u0v = tl.load(u0 + offs, mask=mask, other=0.0)
    a = tl.load(alpha + offs, mask=mask, other=0.0)
    b = tl.load(beta + offs, mask=mask, other=0.0)
    ta = tl.load(tau + offs, mask=mask, other=0.0)
    th = tl.load(theta + offs, mask=mask, other=0.0)
    gk = tl.load(g + offs, mask=mask, other=1.0)
    zero = e0v * 0
    gep = zero  # dL/dE[t], carried from step t+1
    gnp = zero  # dL/dN[t], carried from step t+1
    acc_a = zero
    acc_b = zero
    acc_tau = zero
    acc_th = zero
    acc_g = zero
    cur = offs.to(tl.int64) + (T - 1).to(tl.int64) * N
    for i in range(T):
        t = T - 1 - i
        has_prev = t > 0
        pm = mask & ((offs * 0 + t) > 0)  # block-shaped bool: triton >= 3.9 refuses a scalar-bool mix
        ep = tl.where(has_prev, tl.load(e + cur - N, mask=pm, other=0.0), e0v)
        np_ = tl.where(has_prev, tl.load(n + cur - N, mask=pm, other=0.0), n0v)
        up = tl.where(has_prev, tl.load(u + cur - N, mask=pm, other=0.0), u0v)
        xv = tl.load(x + cur, mask=mask, other=0.0)
        fired = up > th
        s = (a * ep + xv) + (b * np_ - xv)
        get = gep
        if HAS_GE:
            get += tl.load(ge + cur, mask=mask, other=0.0)
        gnt = gnp
        if HAS_GN:
            gnt += tl.load(gn + cur, mask=mask, other=0.0)
        gut = zero
        if HAS_GU:
            gut += tl.load(gu + cur, mask=mask, other=0.0)
        z = tl.load(u + cur, mask=mask, other=0.0) - th
        gst = tl.load(gs + cur, mask=mask, other=0.0)
        acc_g += tl.where(z > 0, gst, 0.0)
        gz = gst * gk * surrogate_grad(z, SID, p1, p2)
        gut += gz
        acc_th -= gz
        extra = zero
        if RESET == 0:
            acc_th -= tl.where(fired, get, 0.0)
            extra = tl.where(fired, gut, 0.0)
            gnt = tl.where(fired, 0.0, gnt)
        elif RESET == 1:
            get = tl.where(fired, 0.0, get)
            gnt = tl.where(fired, 0.0, gnt)
            gut = tl.where(fired, 0.0, gut)
        acc_tau += gut * s
        get += gut * ta
        gnt += gut * ta
        acc_a += get * ep
        acc_b += gnt * np_
        tl.store(gx + cur, get - gnt, mask=mask)
        gep = a * get
        gnp = b * gnt + extra
        cur -= N
    tl.store(ge0 + offs, gep, mask=mask)
    tl.store(gn0 + offs, gnp, mask=mask)
    tl.store(galpha + offs, acc_a, mask=mask)
    tl.store(gbeta + offs, acc_b, mask=mask)
    tl.store(gtau + offs, acc_tau, mask=mask)
    tl.store(gtheta + offs, acc_th, mask=mask)
    tl.store(gg + offs, acc_g, mask=mask)


def alpha_triton_forward(ins: tuple[Tensor, ...], reset: int,
                         trace: bool = True) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Forward launch on ``ins = (xs[T,N], e0, n0, u0, alpha, beta, tau, theta, g)`` (the rest ``[N]``);
    returns the traces ``(spk, exc, inh, mem)``, each ``[T, N]`` (the states ``[1, N]``, the last step,
    without ``trace``)."""
    ins = tuple(t.contiguous() for t in ins)
    T, n = ins[0].shape
    spk = torch.empty_like(ins[0])
    e, nn_, u = (ins[0].new_empty(T if trace else 1, n) for _ in range(3))
    _alpha_fwd[grid(n)](*ins, spk, e, nn_, u, T, n, RESET=reset, TRACE=trace, BLOCK=BLOCK,
                        enable_fp_fusion=False)
    return spk, e, nn_, u


def alpha_triton_backward(saved: tuple[Tensor, ...], gs: Tensor, opt: tuple[Tensor | None, ...],
                          cfg: tuple[int, int, float, float]) -> tuple[Tensor, ...]:
    """Backward launch; ``saved`` = the forward's inputs and traces ``(e, n, u)``, ``opt`` = the output
    gradients of ``(exc, inh, mem)`` (None when unused). Returns
    ``(gx, ge0, gn0, galpha, gbeta, gtau, gtheta, gg)``."""
    reset, sid, p1, p2 = cfg
    saved = tuple(t.contiguous() for t in saved)
    T, n = saved[0].shape
    dummy = saved[0].new_empty(1)
    outs = [torch.empty_like(saved[0])] + [torch.empty_like(saved[1]) for _ in range(7)]
    _alpha_bwd[grid(n)](
        *saved, gs.contiguous(), *(dummy if t is None else t.contiguous() for t in opt), *outs, T, n, p1, p2,
        RESET=reset, SID=sid, HAS_GE=opt[0] is not None, HAS_GN=opt[1] is not None,
        HAS_GU=opt[2] is not None, BLOCK=BLOCK,
    )
    return tuple(outs)
