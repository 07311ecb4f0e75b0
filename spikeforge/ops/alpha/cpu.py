"""CPU kernels (numba) of the alpha neuron (`spikeforge.core.alpha_step`), ``[T, N]`` layout.

The forward repeats the step function's operations in its order (bit-identical states); ``reset`` is
0 subtract, 1 zero, 2 none. The membrane has no self-recurrence (``U' = tau*(E' + N')``), so the
backward carries gradients through the two currents only.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import njit, prange

from ..lif.cpu import slope_row


def _alpha_forward(x, e0, n0, u0, alpha, beta, tau, theta, g, reset, nb, spk, e, n, u):  # noqa: ANN001
    """Fill ``spk`` and the traces ``e`` (excitatory), ``n`` (inhibitory) and ``u`` (membrane), in
    ``nb`` blocks of neurons (1-row ``e``, ``n``, ``u``: no trace, each step in row 0)."""
    T, N = x.shape
    keep = u.shape[0] == T
    # the carried state lives in its own vectors (see ``ops/lif/cpu.py``)
    e_prev, n_prev, u_prev = e0.copy(), n0.copy(), u0.copy()
    for c in prange(nb):
        lo, hi = np.uint64(c * N // nb), np.uint64((c + 1) * N // nb)
        for t in range(T):
            r = t if keep else 0
            x_t, e_t, n_t, u_t, s_t = x[t], e[r], n[r], u[r], spk[t]
            for k in range(lo, hi):
                ep = e_prev[k]
                np_ = n_prev[k]
                up = u_prev[k]
                th = theta[k]
                xv = x_t[k]
                e1 = alpha[k] * ep + xv
                n1 = beta[k] * np_ - xv
                m1 = tau[k] * (e1 + n1)
                if up > th:
                    if reset == 0:
                        e1 = e1 - th
                        m1 = m1 + np_
                        n1 = n1 - n1
                    elif reset == 1:
                        e1 = e1 - e1
                        n1 = n1 - n1
                        m1 = m1 - m1
                e_t[k] = e1
                n_t[k] = n1
                u_t[k] = m1
                e_prev[k] = e1
                n_prev[k] = n1
                u_prev[k] = m1
                s_t[k] = g[k] if m1 - th > 0 else 0.0


def _make_alpha_backward(reset: int, params: bool, parallel: bool):  # noqa: ANN202
    """BPTT kernel of `alpha_forward` for one reset mode (a constant of the closure, so its branches are
    pruned and the neuron loop vectorises; see ``ops/lif/cpu.py``). Without ``params`` the gradients of
    alpha, beta, tau, threshold and the graded factor are left at zero."""

    def kernel(  # noqa: ANN202
        x, e0, n0, u0, alpha, beta, tau, theta, g, sid, p1, p2, nb,  # noqa: ANN001
        e, n, u, gs, ge, gn, gu, has_ge, has_gn, has_gu,  # noqa: ANN001
        gx, ge0, gn0, galpha, gbeta, gtau, gtheta, gg,  # noqa: ANN001
    ):
        T, N = x.shape
        zero = x.dtype.type(0)  # constants in the data's precision
        for c in prange(nb):
            lo, hi = np.uint64(c * N // nb), np.uint64((c + 1) * N // nb)
            slope = np.empty(hi - lo, dtype=x.dtype)
            for k in range(lo, hi):
                ge0[k] = 0.0
                gn0[k] = 0.0
                galpha[k] = 0.0
                gbeta[k] = 0.0
                gtau[k] = 0.0
                gtheta[k] = 0.0
                gg[k] = 0.0
            for t in range(T - 1, -1, -1):
                e_prev = e0 if t == 0 else e[t - 1]
                n_prev = n0 if t == 0 else n[t - 1]
                u_prev = u0 if t == 0 else u[t - 1]
                ge_t = ge[t] if has_ge else ge[0]  # rows of zeros when absent
                gn_t = gn[t] if has_gn else gn[0]
                gu_t = gu[t] if has_gu else gu[0]
                x_t, u_t, gs_t, gx_t = x[t], u[t], gs[t], gx[t]
                slope_row(u_t, theta, slope, lo, hi, sid, p1, p2)
                for k in range(lo, hi):
                    ep = e_prev[k]
                    np_ = n_prev[k]
                    up = u_prev[k]
                    th = theta[k]
                    a = alpha[k]
                    b = beta[k]
                    get = ge0[k] + ge_t[k]
                    gnt = gn0[k] + gn_t[k]
                    gut = gu_t[k]
                    z = u_t[k] - th
                    gst = gs_t[k]
                    gz = gst * g[k] * slope[k - lo]
                    gut += gz
                    dth = zero - gz
                    extra = zero
                    fired = up > th
                    if reset == 0:
                        dth -= get if fired else zero
                        extra = gut if fired else zero
                        gnt = zero if fired else gnt
                    elif reset == 1:
                        get = zero if fired else get
                        gnt = zero if fired else gnt
                        gut = zero if fired else gut
                    tk = tau[k]
                    get += gut * tk
                    gnt += gut * tk
                    if params:
                        xv = x_t[k]
                        gg[k] += gst if z > 0 else zero
                        gtheta[k] += dth
                        gtau[k] += gut * ((a * ep + xv) + (b * np_ - xv))
                        galpha[k] += get * ep
                        gbeta[k] += gnt * np_
                    gx_t[k] = get - gnt
                    ge0[k] = a * get
                    gn0[k] = b * gnt + extra

    return njit(parallel=parallel, cache=True, error_model="numpy")(kernel)


@functools.cache
def alpha_backward_kernel(reset: int, params: bool, parallel: bool):  # noqa: ANN201
    """`_make_alpha_backward` for one configuration, made once per process."""
    return _make_alpha_backward(int(reset), bool(params), bool(parallel))


def _alpha_backward_call(parallel: bool, x, e0, n0, u0, alpha, beta, tau, theta, g, reset, sid, p1, p2,  # noqa: ANN001
                         nb, e, n, u, gs, ge, gn, gu, has_ge, has_gn, has_gu,  # noqa: ANN001
                         gx, ge0, gn0, galpha, gbeta, gtau, gtheta, gg, need_params: bool = True) -> None:  # noqa: ANN001
    def rows(a: np.ndarray, present: bool) -> np.ndarray:
        return a if present else np.zeros((1, x.shape[1]), dtype=x.dtype)

    alpha_backward_kernel(reset, need_params, parallel)(
        x, e0, n0, u0, alpha, beta, tau, theta, g, sid, p1, p2, nb, e, n, u, gs,
        rows(ge, has_ge), rows(gn, has_gn), rows(gu, has_gu), has_ge, has_gn, has_gu,
        gx, ge0, gn0, galpha, gbeta, gtau, gtheta, gg,
    )


def alpha_backward(*args: object) -> None:
    """BPTT of `alpha_forward` on ``nb`` threads (``ge0``/``gn0`` double as the carried current
    gradients). Arguments: ``(x, e0, n0, u0, alpha, beta, tau, theta, g, reset, sid, p1, p2, nb, e, n,
    u, gs, ge, gn, gu, has_ge, has_gn, has_gu, gx, ge0, gn0, galpha, gbeta, gtau, gtheta, gg
    [, need_params])``; absent ``ge``/``gn``/``gu`` may be 1x1."""
    _alpha_backward_call(True, *args)


def alpha_backward_serial(*args: object) -> None:
    """`alpha_backward` on the calling thread only."""
    _alpha_backward_call(False, *args)


alpha_forward = njit(parallel=True, cache=True)(_alpha_forward)
alpha_forward_serial = njit(cache=True)(_alpha_forward)
