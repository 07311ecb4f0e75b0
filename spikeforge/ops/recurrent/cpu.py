"""CPU element-wise part of the fused dense-recurrent LIF op (numba), one call per time step.

Per step, torch computes the recurrent product (``W(S[t-1])`` forward, ``dL/dd[t+1]`` times ``W`` backward)
into a buffer it reuses, and one numba call does the neuron update of every neuron of the batch: ten or
so torch operations per step would cost about 6 microseconds each here (measured: 100 steps of a
64 x 256 batch, 1.6 ms in numba against 8.4 ms as torch operations with preallocated outputs). The
kernels are serial (one thread, never more than torch's setting); the products use torch's threads.

Arrays are ``[T, N]`` (``N`` neurons of a batch) or ``[N]``; parameters are expanded to ``[N]``. The
forward repeats `spikeforge.core.rleaky_step`/``rsynaptic_step`` operation by operation in the data's
precision (numba's default is strict IEEE, no FMA), so spikes and states are bit-identical to the step
loop. ``reset`` is the `Firing` code: 0 subtract, 1 zero (of the whole update), 2 none; ``immediate``
means ``reset_delay=False`` with a reset. The backward is the derivation in ``ops/recurrent/__init__.py``.
"""

from __future__ import annotations

import numpy as np
import torch
from numba import njit
from torch import Tensor

from .._surrogate_ids import NO_GRAD
from ..lif.cpu import surrogate_grad
from ._loops import spikes_from_mask
from ._map import RecurrentMap


@njit(cache=True, error_model="numpy")
def step_forward(t, x, rec, u0, i0, alpha, beta, theta, g, syn, reset, immediate,  # noqa: ANN001, ANN201
                 spk, u, itr, v):  # noqa: ANN001
    """Step ``t``: from ``x[t]``, the recurrent input ``rec`` and the previous state (``u0``/``i0`` at
    ``t == 0``, else row ``t - 1``), fill row ``t`` of ``spk``, ``u`` (state), ``itr`` (current, if syn)
    and ``v`` (membrane before the immediate reset, if immediate)."""
    zero = u.dtype.type(0)
    u_prev = u0 if t == 0 else u[t - 1]
    i_prev = i0 if t == 0 or not syn else itr[t - 1]
    x_t, s_t, u_t = x[t], spk[t], u[t]
    i_t = itr[t] if syn else itr[0]
    v_t = v[t] if immediate else v[0]
    for k in range(x_t.shape[0]):
        up = u_prev[k]
        th = theta[k]
        fired = up - th > 0
        if syn:
            ic = alpha[k] * i_prev[k] + x_t[k]
            ic = ic + rec[k]
            i_t[k] = ic
            base = beta[k] * up + ic
        else:
            base = beta[k] * up + x_t[k]
            base = base + rec[k]
        if reset == 0 and fired:
            vv = base - th
        elif reset == 1 and fired:
            vv = base - base
        else:
            vv = base
        hit = vv - th > 0
        s_t[k] = g[k] if hit else zero
        if immediate:
            v_t[k] = vv
        if immediate and hit != fired:  # D = S/g - R = +-1
            if reset == 0:
                vv = vv - th if hit else vv + th
            else:
                vv = vv - vv if hit else vv + vv
        u_t[k] = vv


@njit(cache=True, error_model="numpy", inline="always")
def _fill_slopes(v, theta, g, sid, p1, p2, out):  # noqa: ANN001, ANN202
    for t in range(out.shape[0]):
        v_t, o_t = v[t], out[t]
        for k in range(o_t.shape[0]):
            o_t[k] = g[k] * surrogate_grad(v_t[k] - theta[k], sid, p1, p2)


@njit(cache=True, error_model="numpy")
def slopes(v, theta, g, sid, p1, p2, out):  # noqa: ANN001, ANN201
    """``out = g * s'(v - theta)`` for every step of the ``[T, N]`` membrane trace ``v``. The surrogate
    id is a constant in each branch, so each loop is compiled for one surrogate and vectorises (a
    run-time id inside the loop made it several times slower)."""
    if sid == 0:
        _fill_slopes(v, theta, g, 0, p1, p2, out)
    elif sid == 1:
        _fill_slopes(v, theta, g, 1, p1, p2, out)
    elif sid == 3:
        _fill_slopes(v, theta, g, 3, p1, p2, out)
    elif sid == 4:
        _fill_slopes(v, theta, g, 4, p1, p2, out)
    elif sid == 6:
        _fill_slopes(v, theta, g, 6, p1, p2, out)
    else:
        _fill_slopes(v, theta, g, sid, p1, p2, out)


@njit(cache=True, error_model="numpy")
def step_backward(  # noqa: ANN201
    t, u0, i0, alpha, beta, theta, g, syn, reset, immediate, slope,  # noqa: ANN001
    u, itr, v, gs, gu, gi, has_gs, has_gu, has_gi, gsc, guc, gic,  # noqa: ANN001
    need_alpha, need_beta, need_theta, need_g, galpha, gbeta, gtheta, gg, gx,  # noqa: ANN001
):
    """BPTT of `step_forward` at step ``t``: reads the upstream gradients (``gs``/``gu``/``gi`` row ``t``
    when given) and the carried ones (``gsc`` = dL/dS[t] from the next step's product with W, ``guc``,
    ``gic``), writes ``gx[t]`` (= dL/d(drive)), carries ``guc``/``gic`` to step ``t - 1`` and adds the
    per-neuron parameter gradients that are needed. ``slope[0]`` is step ``t``'s ``g * s'(z)`` (`slopes`)."""
    zero, one = u.dtype.type(0), u.dtype.type(1)  # the data's precision (see lif.cpu.surrogate_grad)
    u_prev = u0 if t == 0 else u[t - 1]
    i_prev = i0 if t == 0 or not syn else itr[t - 1]
    v_t = v[t] if immediate else u[t]
    gs_t = gs[t] if has_gs else gs[0]
    gu_t = gu[t] if has_gu else gu[0]
    gi_t = gi[t] if has_gi else gi[0]
    sl_t, gx_t = slope[0], gx[t]
    for k in range(gx_t.shape[0]):
        th = theta[k]
        up = u_prev[k]
        fired = up - th > 0
        gut = guc[k] + gu_t[k] if has_gu else guc[k]
        gst = gsc[k] + gs_t[k] if has_gs else gsc[k]
        dth = zero
        dg = zero
        gv = gut
        if immediate:
            vv = v_t[k]
            hit = vv - th > 0
            dd = (one if hit else zero) - (one if fired else zero)
            q = gut * (th if reset == 0 else vv) / g[k]
            gst -= q
            dg += q if hit else zero
            if reset == 0:
                dth -= gut * dd
            else:
                gv = gut * (one - dd)
        if need_g:
            dg += gst if v_t[k] - th > 0 else zero
        gz = gst * sl_t[k]
        gv += gz
        dth -= gz
        if reset == 0:
            dth -= gv if fired else zero
        gbase = zero if (reset == 1 and fired) else gv
        guc[k] = beta[k] * gbase
        if need_beta:
            gbeta[k] += gbase * up
        if need_theta:
            gtheta[k] += dth
        if need_g:
            gg[k] += dg
        if syn:
            gd = gic[k] + gi_t[k] + gbase if has_gi else gic[k] + gbase
            if need_alpha:
                galpha[k] += gd * i_prev[k]
            gic[k] = alpha[k] * gd
        else:
            gd = gbase
        gx_t[k] = gd


def _np(t: Tensor) -> np.ndarray:
    return t.detach().contiguous().numpy()


def _flat(p: Tensor, shape: torch.Size) -> np.ndarray:
    """A parameter broadcast to one step's ``shape``, as ``[N]``."""
    return _np(p.expand(shape).reshape(-1))


def forward(xs: Tensor, spk0: Tensor, syn0: Tensor, mem0: Tensor, alpha: Tensor, beta: Tensor,
            threshold: Tensor, graded: Tensor, rec: RecurrentMap, syn: bool, reset: int,
            immediate: bool) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """As `spikeforge.ops.recurrent._loops.forward` (same arguments and results), on CPU tensors."""
    T, shape = xs.shape[0], xs.shape[1:]
    x = _np(xs.reshape(T, -1))
    spk, mem = np.empty_like(x), np.empty_like(x)
    cur = np.empty_like(x) if syn else np.empty((1, 1), x.dtype)
    pre = np.empty_like(x) if immediate else np.empty((1, 1), x.dtype)
    spk_t = torch.from_numpy(spk)
    prm = [_flat(p, shape) for p in (alpha if syn else beta, beta, threshold, graded)]
    u0, i0 = _np(mem0.reshape(-1)), _np((syn0 if syn else mem0).reshape(-1))
    buf = xs.new_empty(shape)
    buf_np = buf.view(-1).numpy()
    rows = spk_t.view(T, *shape).unbind(0)
    for t in range(T):
        # the first product takes the initial state as the module would; later ones a row of the trace
        if t == 0:
            r = _np(rec(spk0).reshape(-1))
        else:  # into buf for a Linear map (a convolution gives a new tensor)
            r_t = rec.product_into(rows[t - 1], buf)
            r = buf_np if r_t is buf else _np(r_t.reshape(-1))
        step_forward(t, x, r, u0, i0, *prm, syn, reset, immediate, spk, mem, cur, pre)

    def out(a: np.ndarray, used: bool = True) -> Tensor:
        # shaped in numpy: a tensor of its own, not a torch view, which a layer after the op may then
        # change in place (autograd forbids that on views made inside a custom function)
        return torch.from_numpy(a.reshape(T, *shape)) if used else xs.new_empty(0)

    return out(spk), out(mem), out(cur, syn), out(pre, immediate)


def backward(
    g_spk: Tensor | None, g_mem: Tensor | None, g_syn: Tensor | None,
    g_last: tuple[Tensor | None, Tensor | None, Tensor | None], spk0: Tensor, syn0: Tensor,
    mem0: Tensor, alpha: Tensor, beta: Tensor, threshold: Tensor, graded: Tensor, rec: RecurrentMap,
    spk: Tensor, mem: Tensor, cur: Tensor, pre: Tensor, syn: bool, reset: int, immediate: bool,
    sid: int, p1: float, p2: float, needs: list[bool],
) -> list[Tensor | None]:
    """As `spikeforge.ops.recurrent._loops.backward` (same arguments and results), on CPU tensors."""
    T, shape = mem.shape[0], mem.shape[1:]
    n = shape.numel()
    dummy = np.zeros((1, 1), dtype=_np(mem).dtype)

    def rows(a: Tensor | None) -> np.ndarray:
        return dummy if a is None else _np(a.reshape(T, n))

    prm = [_flat(p, shape) for p in (alpha if syn else beta, beta, threshold, graded)]
    u0, i0 = _np(mem0.reshape(-1)), _np((syn0 if syn else mem0).reshape(-1))
    gx = torch.empty(T, *shape, dtype=mem.dtype)
    # the carried gradients start from those of the final states (spike, membrane, current)
    gsc, guc, gic = (torch.zeros(shape, dtype=mem.dtype) if g is None
                     else g.reshape(shape).to(mem.dtype, copy=True) for g in g_last)
    acc = [torch.zeros(shape, dtype=mem.dtype) for _ in range(4)]
    volt = rows(pre if immediate else mem)  # the membrane that fired
    slope = np.zeros((1, n), dtype=dummy.dtype)  # g * s'(z) of the step (not a [T, N] buffer: memory)
    arrays = (slope, rows(mem), rows(cur) if syn else dummy, rows(pre) if immediate else dummy,
              rows(g_spk), rows(g_mem), rows(g_syn))
    gx_np = gx.view(T, n).numpy()
    flags = (g_spk is not None, g_mem is not None, g_syn is not None)
    carried = (gsc.view(n).numpy(), guc.view(n).numpy(), gic.view(n).numpy())
    accs = [a.view(n).numpy() for a in acc]
    for t in range(T - 1, -1, -1):
        if sid != NO_GRAD:
            slopes(volt[t:t + 1], prm[2], prm[3], sid, p1, p2, slope)
        step_backward(t, u0, i0, *prm, syn, reset, immediate, *arrays, *flags, *carried,
                      *needs[4:8], *accs, gx_np)
        if t > 0 or needs[1]:
            rec.grad_input(gx[t], spk0, out=gsc)  # the input gradient takes one step's shape, not spikes
    out: list[Tensor | None] = [gx if needs[0] else None, gsc if needs[1] else None,
                                gic if syn and needs[2] else None, guc if needs[3] else None]
    for a, p, need in zip(acc, (alpha, beta, threshold, graded), needs[4:8]):
        out.append(a.sum_to_size(p.shape) if need else None)
    # the float spikes only now, once the loop's buffers are gone
    gw = gb = None
    if needs[8] or needs[9]:
        gw, gb = rec.grad_params(gx, spk0, spikes_from_mask(spk, graded, mem))
    return [*out, gw if needs[8] else None, gb if needs[9] else None]
