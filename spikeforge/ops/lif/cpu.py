"""CPU kernels (numba) of the first/second-order LIF family: ``Leaky``, ``Synaptic`` and ``Lapicque``: the
fallback of the compiled ones (`spikeforge.ops._native`, the same code in C) where those were not built.

Arrays are time-major and flattened per step: ``[T, N]`` with ``N`` the number of neurons in a batch.
Neurons are split into one contiguous block per thread (``prange``); each block walks over ``T`` and, at
each step, streams its part of the step's rows, which picked once per step keep the neuron loop free of
branches on ``t``, so that it vectorises; block bounds are unsigned so that indexing needs no
negative-index checks, and the carried state is kept in vectors of its own (reading back the rows just
written, or signed bounds, made these loops 10-20 times slower). Small blocks walking ``T`` are slow too:
their rows are ``N`` apart, which for a power-of-two ``N`` maps them all onto the same cache sets.
The forward reproduces `spikeforge.core` operation by operation (same rounding, no FMA: numba's
default is strict IEEE), so spikes and states are bit-identical to the step loop. The backward is the
hand-derived BPTT of the same equations (``ops/lif/__init__.py`` has the derivation).

Modes: ``syn`` 1 adds the synaptic current ``I = alpha*I[t-1] + X``; ``rec`` 1 adds the element-wise
recurrence ``V*S[t-1]`` to the drive (``I`` with ``syn``, else the membrane: RSynaptic, RLeaky);
``reset`` 0 subtract, 1 zero with the input kept (Leaky), 2 none, 3 zero of the whole update (Synaptic,
Lapicque, RLeaky, RSynaptic); ``immediate`` 1 applies ``reset_delay=False``.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numba import njit, prange

from .._threads import MIN_BLOCK, blocks, pick  # noqa: F401 - re-exported for the kernels' callers


@njit(cache=True, inline="always")
def surrogate_grad(z: float, sid: int, p1: float, p2: float) -> float:
    """``dS/dz`` of surrogate ``sid`` (a ``kernel_id``; -1: no gradient) with hyper-parameters p1, p2,
    computed in ``z``'s precision (float32 for float32 data, as the step loop does; mixing in float64
    constants made the backward kernels about twice as slow)."""
    c = type(z)
    a, b = c(p1), c(p2)
    if sid == 0:  # ATan(alpha)
        w = c(math.pi / 2) * a * z
        return (a / c(2)) / (c(1) + w * w)
    if sid == 1:  # FastSigmoid(slope)
        d = a * abs(z) + c(1)
        return c(1) / (d * d)
    if sid == 2:  # Sigmoid(slope)
        # a*sigma(w)*sigma(-w) = a*e/(1+e)^2 with e = exp(-|w|): symmetric in w, never overflows, and
        # keeps full relative precision where sigma(w) is near 1 (s*(1-s) cancels to 0 there)
        e = math.exp(-abs(a * z))
        d = c(1) + e
        return a * e / (d * d)
    if sid == 3:  # Triangular(threshold)
        return a if z < 0 else -a
    if sid == 4:  # StraightThroughEstimator
        return c(1)
    if sid == 5:  # SpikeRateEscape(beta, slope)
        return b * math.exp(-a * abs(z - c(1)))
    if sid == 6:  # Heaviside
        return c(1) if z > 0 else c(0)
    if sid == 7:  # SparseFastSigmoid(slope, B)
        if z > b:
            d = a * abs(z) + c(1)
            return c(1) / (d * d)
        return c(0)
    if sid == 8:  # LeakySpikeOperator(slope)
        return c(1) if z > 0 else a
    return c(0)


def _make_forward_row(per: bool):  # noqa: ANN202, C901
    """One step of neurons ``lo..hi``, compiled with ``per`` a constant: per-neuron parameters
    (``[N]``), or (False) every parameter one value for all neurons, read once into a local
    (re-reading ``theta[0]`` in the loop, which might alias the stores, or selecting the index or
    the value at run time, kept the loop from vectorising: about 3x slower)."""

    def row(lo, hi, x_t, s_t, u_t, i_t, v_t, u_prev, i_prev, s_prev,  # noqa: ANN001, ANN202
            alpha, beta, theta, g, vrec, syn, rec, reset, immediate):  # noqa: ANN001
        a0, b0, th0, g0, v0 = alpha[0], beta[0], theta[0], g[0], vrec[0]
        for k in range(lo, hi):
            up = u_prev[k]
            th = theta[k] if per else th0
            fired = up > th
            xv = x_t[k]
            if syn:
                ic = (alpha[k] if per else a0) * i_prev[k] + xv
                if rec:
                    ic = ic + s_prev[k] * (vrec[k] if per else v0)
                i_t[k] = ic
                i_prev[k] = ic
                base = (beta[k] if per else b0) * up + ic
            elif reset == 1 and fired:
                base = xv
            else:
                base = (beta[k] if per else b0) * up + xv
                if rec:
                    base = base + s_prev[k] * (vrec[k] if per else v0)
            if reset == 0 and fired:
                vv = base - th
            elif reset == 3 and fired:
                vv = base - base
            else:
                vv = base
            hit = vv - th > 0
            sv = (g[k] if per else g0) if hit else 0.0
            s_t[k] = sv
            if rec:
                s_prev[k] = sv
            if immediate:
                v_t[k] = vv
            if immediate and reset != 2 and hit != fired:
                if reset == 0:
                    un = vv - th if hit else vv + th
                else:
                    un = vv - vv if hit else vv + vv
            else:
                un = vv
            u_t[k] = un
            u_prev[k] = un

    return njit(cache=True)(row)


_forward_row_per = _make_forward_row(True)
_forward_row_one = _make_forward_row(False)


def _lif_forward(x, u0, i0, s0, alpha, beta, theta, g, vrec, syn, rec, reset, immediate,  # noqa: ANN001
                 nb, spk, u, itr, v):  # noqa: ANN001
    """Fill ``spk``, ``u`` (membrane after reset), ``itr`` (current, if syn) and ``v`` (pre-reset
    membrane, if immediate) for every step, in ``nb`` blocks of neurons; ``i0``/``alpha`` are read if
    syn, ``s0``/``vrec`` (initial spike, ``V``) if rec (else they may be 1-element placeholders). The
    parameters ``alpha, beta, theta, g, vrec`` are all ``[N]`` (one per neuron) or all ``[1]`` (one
    value for every neuron). With a 1-row ``u`` (no trace kept) ``u``, ``itr`` and ``v`` get each
    step in row 0, so they end with the last one."""
    T, N = x.shape
    keep = u.shape[0] == T
    per = beta.shape[0] == N  # else every parameter is one value for all neurons (length 1)
    # the carried state lives in its own vectors: reading the rows just written is much slower (an
    # unused ``i0``/``s0`` is a 1-element placeholder)
    u_prev, i_prev, s_prev = u0.copy(), i0.copy(), s0.copy()
    for c in prange(nb):
        lo, hi = np.uint64(c * N // nb), np.uint64((c + 1) * N // nb)
        for t in range(T):
            x_t, s_t, u_t = x[t], spk[t], u[t if keep else 0]
            i_t = itr[t] if syn and keep else itr[0]
            v_t = v[t] if immediate and keep else v[0]
            if per:
                _forward_row_per(lo, hi, x_t, s_t, u_t, i_t, v_t, u_prev, i_prev, s_prev, alpha, beta,
                                 theta, g, vrec, syn, rec, reset, immediate)
            else:
                _forward_row_one(lo, hi, x_t, s_t, u_t, i_t, v_t, u_prev, i_prev, s_prev, alpha, beta,
                                 theta, g, vrec, syn, rec, reset, immediate)


@njit(cache=True, error_model="numpy", inline="always")
def _fill_slope_row(v_t, theta, out, lo, hi, sid, p1, p2):  # noqa: ANN001, ANN202
    for k in range(lo, hi):
        out[k - lo] = surrogate_grad(v_t[k] - theta[k], sid, p1, p2)


@njit(cache=True, error_model="numpy")
def slope_row(v_t, theta, out, lo, hi, sid, p1, p2):  # noqa: ANN001, ANN201
    """``out[k - lo] = s'(v_t[k] - theta[k])`` for neurons ``lo..hi`` of one step. Each branch passes a
    constant id, so each loop is compiled for one surrogate, without branches, and vectorises (where the
    formula allows: ``exp`` stays scalar without Intel's SVML)."""
    if sid == 0:
        _fill_slope_row(v_t, theta, out, lo, hi, 0, p1, p2)
    elif sid == 1:
        _fill_slope_row(v_t, theta, out, lo, hi, 1, p1, p2)
    elif sid == 2:
        _fill_slope_row(v_t, theta, out, lo, hi, 2, p1, p2)
    elif sid == 3:
        _fill_slope_row(v_t, theta, out, lo, hi, 3, p1, p2)
    elif sid == 4:
        _fill_slope_row(v_t, theta, out, lo, hi, 4, p1, p2)
    elif sid == 5:
        _fill_slope_row(v_t, theta, out, lo, hi, 5, p1, p2)
    elif sid == 6:
        _fill_slope_row(v_t, theta, out, lo, hi, 6, p1, p2)
    elif sid == 7:
        _fill_slope_row(v_t, theta, out, lo, hi, 7, p1, p2)
    elif sid == 8:
        _fill_slope_row(v_t, theta, out, lo, hi, 8, p1, p2)
    else:
        _fill_slope_row(v_t, theta, out, lo, hi, -1, p1, p2)


def _make_lif_backward(syn: bool, rec: bool, reset: int, immediate: bool, params: bool,  # noqa: C901
                       parallel: bool):
    """The BPTT kernel of `lif_forward` compiled for one configuration: the mode flags are constants
    of the closure, so numba prunes the branches they decide and the neuron loop vectorises (with the
    flags as run-time arguments, and with Python's division-by-zero checks, it stayed scalar and cost
    about 10x the forward per element)."""

    def kernel(  # noqa: ANN202
        u0, i0, s0, alpha, beta, theta, g, vrec, sid, p1, p2,  # noqa: ANN001
        nb, spk, u, itr, v, gs, gu, gi, has_gu, has_gi,  # noqa: ANN001
        gx, gu0, gi0, gs0, galpha, gbeta, gtheta, gg, gvrec,  # noqa: ANN001
    ):
        T, N = u.shape
        zero, one = u.dtype.type(0), u.dtype.type(1)  # constants in the data's precision
        for c in prange(nb):
            lo, hi = np.uint64(c * N // nb), np.uint64((c + 1) * N // nb)
            slope = np.empty(hi - lo, dtype=u.dtype)
            for k in range(lo, hi):  # only the buffers this configuration uses (others may be 1x1)
                if params:
                    gbeta[k] = 0.0
                    gtheta[k] = 0.0
                    gg[k] = 0.0
                    if syn:
                        galpha[k] = 0.0
                    if rec:
                        gvrec[k] = 0.0
            for t in range(T - 1, -1, -1):
                u_prev = u0 if t == 0 else u[t - 1]
                i_prev = i0 if t == 0 or not syn else itr[t - 1]
                s_prev = s0 if t == 0 or not rec else spk[t - 1]
                v_t = v[t] if immediate else u[t]
                gu_t = gu[t] if has_gu else gu[0]  # a row of zeros when absent
                gi_t = gi[t] if has_gi else gi[0]
                gs_t, gx_t = gs[t], gx[t]
                slope_row(v_t, theta, slope, lo, hi, sid, p1, p2)
                for k in range(lo, hi):
                    # one read-modify-write per array and element, selects instead of branches
                    th = theta[k]
                    gk = g[k]
                    up = u_prev[k]
                    fired = up > th
                    vv = v_t[k]
                    z = vv - th
                    hit = z > 0
                    gut = gu0[k] + gu_t[k]
                    gst = gs_t[k] + gs0[k] if rec else gs_t[k]
                    dth = zero
                    dg = zero
                    gv = gut
                    if immediate and reset != 2:
                        dd = (one if hit else zero) - (one if fired else zero)
                        q = gut * (th if reset == 0 else vv) / gk
                        gst -= q
                        dg += q if hit else zero
                        if reset == 0:
                            dth -= gut * dd
                        else:
                            gv = gut * (one - dd)
                    dg += gst if hit else zero
                    gz = gst * gk * slope[k - lo]
                    gv += gz
                    dth -= gz
                    if reset == 0:
                        dth -= gv if fired else zero
                    gbase = zero if (reset == 3 and fired) else gv
                    gprev = zero if (reset == 1 and fired) else gbase  # Leaky's zero reset keeps only X
                    gu0[k] = beta[k] * gprev
                    if params:
                        gbeta[k] += gprev * up
                        gtheta[k] += dth
                        gg[k] += dg
                    if syn:
                        gdrive = gi0[k] + gi_t[k] + gbase
                        if params:
                            galpha[k] += gdrive * i_prev[k]
                        gi0[k] = alpha[k] * gdrive
                    else:
                        gdrive = gbase
                    gx_t[k] = gdrive
                    if rec:
                        if params:
                            gvrec[k] += gdrive * s_prev[k]
                        gs0[k] = vrec[k] * gdrive

    return njit(parallel=parallel, cache=True, error_model="numpy")(kernel)


@functools.cache
def lif_backward_kernel(syn: bool, rec: bool, reset: int, immediate: bool, params: bool,  # noqa: ANN201
                        parallel: bool):
    """`_make_lif_backward` for one configuration, made once per process (compiled on first use and
    cached on disk by numba). Without ``params`` the per-neuron parameter gradients (alpha, beta,
    threshold, graded factor, ``V``) are left at zero: four to five fewer read-modify-write streams."""
    return _make_lif_backward(bool(syn), bool(rec), int(reset), bool(immediate), bool(params), bool(parallel))


def _zero_rows(a: np.ndarray, present: bool, like: np.ndarray) -> np.ndarray:
    return a if present else np.zeros((1, like.shape[1]), dtype=like.dtype)


def _lif_backward_call(parallel: bool, u0, i0, s0, alpha, beta, theta, g, vrec, syn, rec, reset,  # noqa: ANN001
                       immediate, sid, p1, p2, nb, spk, u, itr, v, gs, gu, gi, has_gu, has_gi,  # noqa: ANN001
                       gx, gu0, gi0, gs0, galpha, gbeta, gtheta, gg, gvrec,  # noqa: ANN001
                       need_params: bool = True) -> None:
    kernel = lif_backward_kernel(syn, rec, reset, immediate, need_params, parallel)
    kernel(u0, i0, s0, alpha, beta, theta, g, vrec, sid, p1, p2, nb, spk, u, itr, v, gs,
           _zero_rows(gu, has_gu, u), _zero_rows(gi, has_gi, u), has_gu, has_gi,
           gx, gu0, gi0, gs0, galpha, gbeta, gtheta, gg, gvrec)


def lif_backward(*args: object) -> None:
    """BPTT of `lif_forward` (``nb`` threads): ``gx`` per step, gradients of the initial states and, per
    neuron summed over time, of alpha, beta, threshold, the graded factor and ``V`` (``gu0``, ``gi0``
    and ``gs0`` carry the state gradients backwards in time, from the values they hold on entry: the
    gradients of the final states, zeros for none). Arguments: ``(u0, i0, s0, alpha, beta,
    theta, g, vrec, syn, rec, reset, immediate, sid, p1, p2, nb, spk, u, itr, v, gs, gu, gi, has_gu,
    has_gi, gx, gu0, gi0, gs0, galpha, gbeta, gtheta, gg, gvrec[, need_params])``; absent ``gu``/``gi``
    may be 1x1; ``need_params`` False (default True) skips the parameter gradients (left at zero)."""
    _lif_backward_call(True, *args)


def lif_backward_serial(*args: object) -> None:
    """`lif_backward` on the calling thread only."""
    _lif_backward_call(False, *args)


def empty_like_rows(x: np.ndarray, used: bool) -> np.ndarray:
    """A ``[T, N]`` buffer like ``x`` when ``used``, else a 1x1 placeholder."""
    return np.empty_like(x) if used else np.empty((1, 1), dtype=x.dtype)


lif_forward = njit(parallel=True, cache=True)(_lif_forward)
lif_forward_serial = njit(cache=True)(_lif_forward)
