"""CPU kernels (numba) of the first/second-order LIF family: ``Leaky``, ``Synaptic`` and ``Lapicque``.

Arrays are time-major and flattened per step: ``[T, N]`` with ``N`` the number of neurons in a batch.
Work is split into chunks of neurons (``prange``); each chunk walks over ``T`` with its state in cache.
The forward reproduces :mod:`spikeforge.core` operation by operation (same rounding, no FMA: numba's
default is strict IEEE), so spikes and states are bit-identical to the step loop. The backward is the
hand-derived BPTT of the same equations (``ops/lif/__init__.py`` has the derivation).

Modes: ``syn`` 1 adds the synaptic current ``I = alpha*I[t-1] + X``; ``rec`` 1 adds the element-wise
recurrence ``V*S[t-1]`` to the drive (``I`` with ``syn``, else the membrane: RSynaptic, RLeaky);
``reset`` 0 subtract, 1 zero with the input kept (Leaky), 2 none, 3 zero of the whole update (Synaptic,
Lapicque, RLeaky, RSynaptic); ``immediate`` 1 applies ``reset_delay=False``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numba import njit, prange

CHUNK = 256


@njit(cache=True, inline="always")
def surrogate_grad(z: float, sid: int, p1: float, p2: float) -> float:
    """``dS/dz`` of surrogate ``sid`` (a ``kernel_id``; -1: no gradient) with hyper-parameters p1, p2."""
    if sid == 0:  # ATan(alpha)
        w = math.pi / 2 * p1 * z
        return (p1 / 2) / (1 + w * w)
    if sid == 1:  # FastSigmoid(slope)
        d = p1 * abs(z) + 1.0
        return 1.0 / (d * d)
    if sid == 2:  # Sigmoid(slope)
        s = 1.0 / (1.0 + math.exp(-p1 * z))
        return p1 * s * (1 - s)
    if sid == 3:  # Triangular(threshold)
        return p1 if z < 0 else -p1
    if sid == 4:  # StraightThroughEstimator
        return 1.0
    if sid == 5:  # SpikeRateEscape(beta, slope)
        return p2 * math.exp(-p1 * abs(z - 1))
    if sid == 6:  # Heaviside
        return 1.0 if z > 0 else 0.0
    if sid == 7:  # SparseFastSigmoid(slope, B)
        if z > p2:
            d = p1 * abs(z) + 1.0
            return 1.0 / (d * d)
        return 0.0
    if sid == 8:  # LeakySpikeOperator(slope)
        return 1.0 if z > 0 else p1
    return 0.0


def _lif_forward(x, u0, i0, s0, alpha, beta, theta, g, vrec, syn, rec, reset, immediate,  # noqa: ANN001
                 spk, u, itr, v):  # noqa: ANN001
    """Fill ``spk``, ``u`` (membrane after reset), ``itr`` (current, if syn) and ``v`` (pre-reset
    membrane, if immediate) for every step; ``s0``/``vrec`` (initial spike, ``V``) are read if rec."""
    T, N = x.shape
    for c in prange((N + CHUNK - 1) // CHUNK):
        lo = c * CHUNK
        hi = min(lo + CHUNK, N)
        for t in range(T):
            for k in range(lo, hi):
                up = u0[k] if t == 0 else u[t - 1, k]
                th = theta[k]
                fired = up > th
                xv = x[t, k]
                if syn:
                    ic = alpha[k] * (i0[k] if t == 0 else itr[t - 1, k]) + xv
                    if rec:
                        ic = ic + (s0[k] if t == 0 else spk[t - 1, k]) * vrec[k]
                    itr[t, k] = ic
                    base = beta[k] * up + ic
                elif reset == 1 and fired:
                    base = xv
                else:
                    base = beta[k] * up + xv
                    if rec:
                        base = base + (s0[k] if t == 0 else spk[t - 1, k]) * vrec[k]
                if reset == 0 and fired:
                    vv = base - th
                elif reset == 3 and fired:
                    vv = base - base
                else:
                    vv = base
                hit = vv - th > 0
                spk[t, k] = g[k] if hit else 0.0
                if immediate and reset != 2 and hit != fired:
                    v[t, k] = vv
                    if reset == 0:
                        u[t, k] = vv - th if hit else vv + th
                    else:
                        u[t, k] = vv - vv if hit else vv + vv
                else:
                    if immediate:
                        v[t, k] = vv
                    u[t, k] = vv


def _lif_backward(  # noqa: ANN201
    u0, i0, s0, alpha, beta, theta, g, vrec, syn, rec, reset, immediate, sid, p1, p2,  # noqa: ANN001
    spk, u, itr, v, gs, gu, gi, has_gu, has_gi,  # noqa: ANN001
    gx, gu0, gi0, gs0, galpha, gbeta, gtheta, gg, gvrec,  # noqa: ANN001
):
    """BPTT of :func:`lif_forward`: ``gx`` per step, gradients of the initial states and, per neuron
    summed over time, of alpha, beta, threshold, the graded factor and ``V`` (``gu0``, ``gi0`` and
    ``gs0`` carry the state gradients backwards in time)."""
    T, N = u.shape
    for c in prange((N + CHUNK - 1) // CHUNK):
        lo = c * CHUNK
        hi = min(lo + CHUNK, N)
        for k in range(lo, hi):
            gu0[k] = 0.0
            gi0[k] = 0.0
            gs0[k] = 0.0
            gvrec[k] = 0.0
            galpha[k] = 0.0
            gbeta[k] = 0.0
            gtheta[k] = 0.0
            gg[k] = 0.0
        for t in range(T - 1, -1, -1):
            for k in range(lo, hi):
                th = theta[k]
                gk = g[k]
                b = beta[k]
                up = u0[k] if t == 0 else u[t - 1, k]
                fired = up > th
                vv = v[t, k] if immediate else u[t, k]
                z = vv - th
                hit = z > 0
                gut = gu0[k]
                if has_gu:
                    gut += gu[t, k]
                gst = gs[t, k] + gs0[k]
                if immediate and reset != 2:
                    d = (1.0 if hit else 0.0) - (1.0 if fired else 0.0)
                    if reset == 0:
                        gst -= gut * th / gk
                        gtheta[k] -= gut * d
                        if hit:
                            gg[k] += gut * th / gk
                        gv = gut
                    else:
                        gst -= gut * vv / gk
                        if hit:
                            gg[k] += gut * vv / gk
                        gv = gut * (1.0 - d)
                else:
                    gv = gut
                if hit:
                    gg[k] += gst
                gz = gst * gk * surrogate_grad(z, sid, p1, p2)
                gv += gz
                gtheta[k] -= gz
                if reset == 0 and fired:
                    gtheta[k] -= gv
                gbase = 0.0 if (reset == 3 and fired) else gv
                if reset == 1 and fired:
                    gu0[k] = 0.0
                else:
                    gu0[k] = b * gbase
                    gbeta[k] += gbase * up
                if syn:
                    gdrive = gi0[k] + gbase
                    if has_gi:
                        gdrive += gi[t, k]
                    galpha[k] += gdrive * (i0[k] if t == 0 else itr[t - 1, k])
                    gi0[k] = alpha[k] * gdrive
                else:
                    gdrive = gbase
                gx[t, k] = gdrive
                if rec:
                    gvrec[k] += gdrive * (s0[k] if t == 0 else spk[t - 1, k])
                    gs0[k] = vrec[k] * gdrive


def pick(parallel: Callable[..., None], serial: Callable[..., None], n: int) -> Callable[..., None]:
    """The ``prange`` variant for more than one chunk of neurons, else the serial one (no thread start-up)."""
    return parallel if n > CHUNK else serial


def empty_like_rows(x: np.ndarray, used: bool) -> np.ndarray:
    """A ``[T, N]`` buffer like ``x`` when ``used``, else a 1x1 placeholder."""
    return np.empty_like(x) if used else np.empty((1, 1), dtype=x.dtype)


lif_forward = njit(parallel=True, cache=True)(_lif_forward)
lif_forward_serial = njit(cache=True)(_lif_forward)
lif_backward = njit(parallel=True, cache=True)(_lif_backward)
lif_backward_serial = njit(cache=True)(_lif_backward)
