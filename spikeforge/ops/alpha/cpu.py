"""CPU kernels (numba) of the alpha neuron (`spikeforge.core.alpha_step`), ``[T, N]`` layout.

The forward repeats the step function's operations in its order (bit-identical states); ``reset`` is
0 subtract, 1 zero, 2 none. The membrane has no self-recurrence (``U' = tau*(E' + N')``), so the
backward carries gradients through the two currents only.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..lif.cpu import surrogate_grad


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


def _alpha_backward(  # noqa: ANN201
    x, e0, n0, u0, alpha, beta, tau, theta, g, reset, sid, p1, p2, nb,  # noqa: ANN001
    e, n, u, gs, ge, gn, gu, has_ge, has_gn, has_gu,  # noqa: ANN001
    gx, ge0, gn0, galpha, gbeta, gtau, gtheta, gg,  # noqa: ANN001
):
    """BPTT of `alpha_forward` (``ge0``/``gn0`` double as the carried current gradients)."""
    T, N = x.shape
    zero = x.dtype.type(0)  # constants in the data's precision (see surrogate_grad)
    for c in prange(nb):
        lo, hi = np.uint64(c * N // nb), np.uint64((c + 1) * N // nb)
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
            ge_t = ge[t] if has_ge else ge[0]
            gn_t = gn[t] if has_gn else gn[0]
            gu_t = gu[t] if has_gu else gu[0]
            x_t, u_t, gs_t, gx_t = x[t], u[t], gs[t], gx[t]
            for k in range(lo, hi):
                ep = e_prev[k]
                np_ = n_prev[k]
                up = u_prev[k]
                th = theta[k]
                a = alpha[k]
                b = beta[k]
                xv = x_t[k]
                s = (a * ep + xv) + (b * np_ - xv)
                get = ge0[k] + (ge_t[k] if has_ge else zero)
                gnt = gn0[k] + (gn_t[k] if has_gn else zero)
                gut = gu_t[k] if has_gu else zero
                z = u_t[k] - th
                gst = gs_t[k]
                if z > 0:
                    gg[k] += gst
                gz = gst * g[k] * surrogate_grad(z, sid, p1, p2)
                gut += gz
                gtheta[k] -= gz
                extra = zero
                if up > th:
                    if reset == 0:
                        gtheta[k] -= get
                        extra = gut
                        gnt = zero
                    elif reset == 1:
                        get = zero
                        gnt = zero
                        gut = zero
                gtau[k] += gut * s
                get += gut * tau[k]
                gnt += gut * tau[k]
                galpha[k] += get * ep
                gbeta[k] += gnt * np_
                gx_t[k] = get - gnt
                ge0[k] = a * get
                gn0[k] = b * gnt + extra


alpha_forward = njit(parallel=True, cache=True)(_alpha_forward)
alpha_forward_serial = njit(cache=True)(_alpha_forward)
alpha_backward = njit(parallel=True, cache=True)(_alpha_backward)
alpha_backward_serial = njit(cache=True)(_alpha_backward)
