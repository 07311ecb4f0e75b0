"""Triton kernels of the LIF family (same contract as ``ops/lif/cpu.py``): one program per block of
neurons, looping over ``T`` with the state in registers. FMA contraction is turned off at launch so the
forward rounds exactly as the step functions do. Tested on CPU with ``TRITON_INTERPRET=1``.
"""

from __future__ import annotations

from typing import Any

import torch
import triton
import triton.language as tl
from torch import Tensor

BLOCK = 128


@triton.jit
def surrogate_grad(z, SID: tl.constexpr, p1, p2):
    """``dS/dz`` of surrogate ``SID`` (a ``kernel_id``; -1: no gradient)."""
    if SID == 0:
        w = 1.5707963267948966 * p1 * z
        out = (p1 / 2) / (1 + w * w)
    elif SID == 1:
        d = p1 * tl.abs(z) + 1.0
        out = 1.0 / (d * d)
    elif SID == 2:
        e = tl.exp(-tl.abs(p1 * z))  # p1*sigma(w)*sigma(-w) without overflow or cancellation
        d = 1.0 + e
        out = p1 * e / (d * d)
    elif SID == 3:
        out = tl.where(z < 0, p1, -p1)
    elif SID == 4:
        out = tl.full(z.shape, 1.0, z.dtype)
    elif SID == 5:
        out = p2 * tl.exp(-p1 * tl.abs(z - 1))
    elif SID == 6:
        out = tl.where(z > 0, 1.0, 0.0)
    elif SID == 7:
        d = p1 * tl.abs(z) + 1.0
        out = tl.where(z > p2, 1.0 / (d * d), 0.0)
    elif SID == 8:
        out = tl.where(z > 0, 1.0, p1)
    else:
        out = tl.zeros(z.shape, z.dtype)
    return out


@triton.jit
def _lif_fwd(x, u0, i0, s0, alpha, beta, theta, g, vrec, spk, u, itr, v, T, N, SYN: tl.constexpr,
             REC: tl.constexpr, RESET: tl.constexpr, IMM: tl.constexpr, TRACE: tl.constexpr,
             BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < N
    up = tl.load(u0 + offs, mask=mask, other=0.0)
    ip = tl.load(i0 + offs, mask=mask, other=0.0)
    a = tl.load(alpha + offs, mask=mask, other=0.0)
    b = tl.load(beta + offs, mask=mask, other=0.0)
    th = tl.load(theta + offs, mask=mask, other=0.0)
    gk = tl.load(g + offs, mask=mask, other=1.0)
    sp = tl.load(s0 + offs, mask=mask, other=0.0)
    vr = tl.load(vrec + offs, mask=mask, other=0.0)
    cur = offs.to(tl.int64)
    for _ in range(T):
        xv = tl.load(x + cur, mask=mask, other=0.0)
        fired = up > th
        if SYN:
            ip = a * ip + xv
            if REC:
                ip = ip + sp * vr
            if TRACE:
                tl.store(itr + cur, ip, mask=mask)
            base = b * up + ip
        else:
            base = b * up + xv
            if REC:
                base = base + sp * vr
            if RESET == 1:
                base = tl.where(fired, xv, base)
        if RESET == 0:
            vv = tl.where(fired, base - th, base)
        elif RESET == 3:
            vv = tl.where(fired, base - base, base)
        else:
            vv = base
        hit = vv - th > 0
        sp = tl.where(hit, gk, 0.0)
        tl.store(spk + cur, sp, mask=mask)
        if IMM:
            if TRACE:
                tl.store(v + cur, vv, mask=mask)
            up_ = hit & (fired == 0)
            down = fired & (hit == 0)
            if RESET == 0:
                un = tl.where(up_, vv - th, tl.where(down, vv + th, vv))
            else:
                un = tl.where(up_, vv - vv, tl.where(down, vv + vv, vv))
        else:
            un = vv
        if TRACE:
            tl.store(u + cur, un, mask=mask)
        up = un
        cur += N
    if TRACE == 0:  # the last step only
        tl.store(u + offs, up, mask=mask)
        if SYN:
            tl.store(itr + offs, ip, mask=mask)


@triton.jit
def _lif_bwd(u0, i0, s0, alpha, beta, theta, g, vrec, spk, u, itr, v, gs, gu, gi,
             gx, gu0, gi0, gs0, galpha, gbeta, gtheta, gg, gvrec, T, N, p1, p2,
             SYN: tl.constexpr, REC: tl.constexpr, RESET: tl.constexpr, IMM: tl.constexpr,
             SID: tl.constexpr, HAS_GU: tl.constexpr, HAS_GI: tl.constexpr, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < N
    u0v = tl.load(u0 + offs, mask=mask, other=0.0)
    i0v = tl.load(i0 + offs, mask=mask, other=0.0)
    a = tl.load(alpha + offs, mask=mask, other=0.0)
    b = tl.load(beta + offs, mask=mask, other=0.0)
    th = tl.load(theta + offs, mask=mask, other=0.0)
    gk = tl.load(g + offs, mask=mask, other=1.0)
    s0v = tl.load(s0 + offs, mask=mask, other=0.0)
    vr = tl.load(vrec + offs, mask=mask, other=0.0)
    zero = u0v * 0
    gup = zero
    gip = zero
    gsp = zero
    acc_v = zero
    acc_a = zero
    acc_b = zero
    acc_th = zero
    acc_g = zero
    cur = offs.to(tl.int64) + (T - 1).to(tl.int64) * N
    for i in range(T):
        t = T - 1 - i
        has_prev = t > 0
        # a block-shaped boolean mask (triton >= 3.9 refuses a mask combined from a scalar bool)
        pm = mask & ((offs * 0 + t) > 0)
        up = tl.where(has_prev, tl.load(u + cur - N, mask=pm, other=0.0), u0v)
        fired = up > th
        if IMM:
            vv = tl.load(v + cur, mask=mask, other=0.0)
        else:
            vv = tl.load(u + cur, mask=mask, other=0.0)
        z = vv - th
        hit = z > 0
        gut = gup
        if HAS_GU:
            gut += tl.load(gu + cur, mask=mask, other=0.0)
        gst = tl.load(gs + cur, mask=mask, other=0.0) + gsp
        gv = gut
        if IMM and RESET != 2:
            d = hit.to(vv.dtype) - fired.to(vv.dtype)
            if RESET == 0:
                gst = gst - gut * th / gk
                acc_th -= gut * d
                acc_g += tl.where(hit, gut * th / gk, 0.0)
            else:
                gst = gst - gut * vv / gk
                acc_g += tl.where(hit, gut * vv / gk, 0.0)
                gv = gut * (1.0 - d)
        acc_g += tl.where(hit, gst, 0.0)
        gz = gst * gk * surrogate_grad(z, SID, p1, p2)
        gv += gz
        acc_th -= gz
        if RESET == 0:
            acc_th -= tl.where(fired, gv, 0.0)
        if RESET == 3:
            gv = tl.where(fired, 0.0, gv)
        if RESET == 1:
            gup = tl.where(fired, 0.0, b * gv)
            acc_b += tl.where(fired, 0.0, gv * up)
        else:
            gup = b * gv
            acc_b += gv * up
        if SYN:
            gdrive = gip + gv
            if HAS_GI:
                gdrive += tl.load(gi + cur, mask=mask, other=0.0)
            ipv = tl.where(has_prev, tl.load(itr + cur - N, mask=pm, other=0.0), i0v)
            acc_a += gdrive * ipv
            gip = a * gdrive
        else:
            gdrive = gv
        tl.store(gx + cur, gdrive, mask=mask)
        if REC:
            spv = tl.where(has_prev, tl.load(spk + cur - N, mask=pm, other=0.0), s0v)
            acc_v += gdrive * spv
            gsp = vr * gdrive
        cur -= N
    tl.store(gu0 + offs, gup, mask=mask)
    tl.store(gi0 + offs, gip, mask=mask)
    tl.store(gs0 + offs, gsp, mask=mask)
    tl.store(gvrec + offs, acc_v, mask=mask)
    tl.store(galpha + offs, acc_a, mask=mask)
    tl.store(gbeta + offs, acc_b, mask=mask)
    tl.store(gtheta + offs, acc_th, mask=mask)
    tl.store(gg + offs, acc_g, mask=mask)


def grid(n: int) -> tuple[int]:
    """Launch grid of a kernel over ``n`` neurons: one program per ``BLOCK`` of them."""
    return (triton.cdiv(n, BLOCK),)


def triton_forward(xs: Tensor, init: tuple[Tensor, ...], prm: tuple[Tensor, ...], c: Any, trace: bool = True):
    """Forward launch (``init`` = ``(u0, i0, s0)``, ``prm`` = ``(alpha, beta, theta, g, V)``, each ``[N]``);
    returns ``(spk, u, itr, v)`` (``itr``/``v`` are 1-element when unused; without ``trace``, ``u`` and
    ``itr`` are ``[1, N]``, the last step, and ``v`` is unused)."""
    xs = xs.contiguous()
    T, n = xs.shape
    rows = T if trace else 1
    spk, u = torch.empty_like(xs), xs.new_empty(rows, n)
    itr = xs.new_empty(rows, n) if c.syn else xs.new_empty(1)
    v = torch.empty_like(xs) if c.immediate and trace else xs.new_empty(1)
    _lif_fwd[grid(n)](xs, *(t.contiguous() for t in (*init, *prm)), spk, u, itr, v, T, n, SYN=c.syn,
                       REC=c.rec, RESET=c.reset, IMM=c.immediate, TRACE=trace, BLOCK=BLOCK,
                       enable_fp_fusion=False)
    return spk, u, itr, v


def triton_backward(saved: tuple[Tensor, ...], gs: Tensor, gu: Tensor | None, gi: Tensor | None, c: Any):
    """Backward launch (``saved`` = ``(u0, i0, s0, alpha, beta, theta, g, V, spk, u, itr, v)``, as
    ``spikeforge::lif_forward`` keeps them; unused ones 1-element); returns
    ``(gx, gu0, gi0, gs0, galpha, gbeta, gtheta, gg, gV)``."""
    saved = tuple(t.contiguous() for t in saved)
    u = saved[9]
    T, n = u.shape
    gx = torch.empty_like(u)
    vecs = [torch.empty_like(saved[0]) for _ in range(8)]
    dummy = u.new_empty(1)
    _lif_bwd[grid(n)](
        *saved, gs.contiguous(), dummy if gu is None else gu.contiguous(),
        dummy if gi is None else gi.contiguous(), gx, *vecs, T, n, c.p1, c.p2, SYN=c.syn, REC=c.rec,
        RESET=c.reset, IMM=c.immediate, SID=c.sid, HAS_GU=gu is not None, HAS_GI=gi is not None, BLOCK=BLOCK,
    )
    return (gx, *vecs)
