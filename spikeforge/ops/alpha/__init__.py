"""Fused sequence kernels (numba on CPU, triton on CUDA) of the alpha neuron
(`spikeforge.core.alpha_step`), exact BPTT.

Per step (``r = [U[t-1] > theta]`` detached): ``E' = alpha*E + X``, ``N' = beta*N - X``,
``U' = tau*(E' + N')``; subtract: ``E = E' - r*theta``, ``U = U' + r*N[t-1]``, ``N = (1 - r)*N'``; zero:
all three times ``1 - r``. The backward, in reverse time, with ``G_E``, ``G_N``, ``G_U`` the gradients of
the new states (after the spike's ``dL/dz`` is added to ``G_U``)::

    subtract, r = 1: dL/dtheta -= G_E;  dL/dN[t-1] += G_U;  G_N = 0        zero, r = 1: G_E = G_N = G_U = 0
    dL/dtau += G_U*(E' + N');  G_E += tau*G_U;  G_N += tau*G_U
    dL/dX = G_E - G_N;  dL/dE[t-1] = alpha*G_E;  dL/dN[t-1] += beta*G_N;  dL/dalpha += E[t-1]*G_E; ...

The initial membrane gets no gradient: it only enters through the detached reset mask. The alpha
neuron has no ``reset_delay`` (snntorch's ``Alpha`` takes none): resets always apply at the next step,
as in `spikeforge.core.alpha_step`, whatever ``Firing.reset_delay`` says.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from ...core import AlphaParams, AlphaState, Firing, alpha_tau
from ...runner import SequenceResult
from .._surrogate_ids import NO_GRAD, per_neuron, surrogate_spec


def _np(t: Tensor) -> np.ndarray:
    return t.detach().contiguous().numpy()


def _cpu_forward(ins: tuple[Tensor, ...], reset: int) -> tuple[Tensor, ...]:
    from ..lif.cpu import blocks, pick
    from .cpu import alpha_forward, alpha_forward_serial

    arrs = [_np(t) for t in ins]
    outs = [np.empty_like(arrs[0]) for _ in range(4)]
    nb = blocks(arrs[0].shape[1])
    pick(alpha_forward, alpha_forward_serial, nb)(*arrs, reset, nb, *outs)
    return tuple(torch.from_numpy(a) for a in outs)


def _cpu_backward(saved: tuple[Tensor, ...], gs: Tensor, opt: tuple[Tensor | None, ...],
                  cfg: tuple[int, int, float, float]) -> tuple[Tensor, ...]:
    from ..lif.cpu import blocks, pick
    from .cpu import alpha_backward, alpha_backward_serial

    arrs = [_np(t) for t in saved]
    dummy = np.zeros((1, 1), dtype=arrs[0].dtype)
    outs = [np.empty_like(arrs[0])] + [np.empty_like(arrs[1]) for _ in range(7)]
    nb = blocks(arrs[0].shape[1])
    opt_arrs = [dummy if t is None else _np(t) for t in opt]
    pick(alpha_backward, alpha_backward_serial, nb)(
        *arrs[:9], *cfg, nb, *arrs[9:], _np(gs), *opt_arrs, *(t is not None for t in opt), *outs
    )
    return tuple(torch.from_numpy(a) for a in outs)


class AlphaSequence(torch.autograd.Function):
    """``(xs[T,N], e0, n0, u0, alpha, beta, tau, theta, g [N]) -> (spk, exc, inh, mem)`` traces ``[T,N]``.

    ``cfg`` is ``(reset, surrogate id, p1, p2)``; ``backend`` ``"cpu"`` (numba) or ``"triton"``.
    """

    @staticmethod
    def forward(ctx: Any, xs: Tensor, e0: Tensor, n0: Tensor, u0: Tensor, alpha: Tensor, beta: Tensor,  # noqa: D102
                tau: Tensor, theta: Tensor, g: Tensor, cfg: tuple[int, int, float, float], backend: str):
        ins = (xs, e0, n0, u0, alpha, beta, tau, theta, g)
        if backend == "triton":
            from .triton import alpha_triton_forward

            spk, e, n, u = alpha_triton_forward(ins, cfg[0])
        else:
            spk, e, n, u = _cpu_forward(ins, cfg[0])
        ctx.cfg, ctx.backend = cfg, backend
        ctx.save_for_backward(*ins, e, n, u)
        ctx.set_materialize_grads(False)
        return spk, e, n, u

    @staticmethod
    def backward(ctx: Any, gs: Tensor | None, ge: Tensor | None, gn: Tensor | None,  # noqa: D102
                 gu: Tensor | None):
        saved = ctx.saved_tensors
        if gs is None:
            gs = torch.zeros_like(saved[0])
        if ctx.backend == "triton":
            from .triton import alpha_triton_backward

            outs = alpha_triton_backward(saved, gs, (ge, gn, gu), ctx.cfg)
        else:
            outs = _cpu_backward(saved, gs, (ge, gn, gu), ctx.cfg)
        gx, ge0, gn0, ga, gb, gtau, gth, gg = outs
        return gx, ge0, gn0, None, ga, gb, gtau, gth, gg, None, None


def run_alpha(xs: Tensor, state: AlphaState, p: AlphaParams, f: Firing, record: bool) -> SequenceResult:
    """Fused `spikeforge.core.alpha_step` over ``xs[T, B, ...]`` (``f.reset_delay`` is ignored)."""
    from .. import backend_for

    T, shape = xs.shape[0], xs.shape[1:]
    n, dt = shape.numel(), xs.dtype
    sid, p1, p2 = surrogate_spec(f.spike_fn) or (NO_GRAD, 0.0, 0.0)
    cfg = (f.reset, sid, p1, p2)
    prm = (p.alpha.clamp(0, 1), p.beta.clamp(0, 1), alpha_tau(p.alpha, p.beta), p.threshold, p.graded)
    spk, e, nn_, u = AlphaSequence.apply(
        xs.reshape(T, n), *(s.reshape(n) for s in state), *(per_neuron(q, shape, dt) for q in prm), cfg,
        backend_for(xs) or "cpu",
    )
    full = (T, *shape)
    spk, e, nn_, u = (t.view(full) for t in (spk, e, nn_, u))
    trace = AlphaState(e, nn_, u) if record else None
    return SequenceResult(spk, AlphaState(e[-1], nn_[-1], u[-1]), trace)
