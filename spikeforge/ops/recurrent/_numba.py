"""numba kernels of the dense-recurrent LIF op's element-wise step: the fallback of the compiled ones
(`spikeforge.ops._native`, the same code in C) where those were not built; ``cpu.py`` calls them.

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

from numba import njit

from ..lif.cpu import surrogate_grad


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
