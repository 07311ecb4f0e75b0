"""Fused sequence kernels (compiled C or numba on CPU, triton on CUDA) of the alpha neuron
(`spikeforge.core.alpha_step`), exact BPTT.

Per step (``r = [U[t-1] > theta]`` detached): ``E' = alpha*E + X``, ``N' = beta*N - X``,
``U' = tau*(E' + N')``; subtract: ``E = E' - r*theta``, ``U = U' + r*N[t-1]``, ``N = (1 - r)*N'``; zero:
all three times ``1 - r``. The backward, in reverse time, with ``G_E``, ``G_N``, ``G_U`` the gradients of
the new states (after the spike's ``dL/dz`` is added to ``G_U``)::

    subtract, r = 1: dL/dtheta -= G_E;  dL/dN[t-1] += G_U;  G_N = 0        zero, r = 1: G_E = G_N = G_U = 0
    dL/dtau += G_U*(E' + N');  G_E += tau*G_U;  G_N += tau*G_U
    dL/dX = G_E - G_N;  dL/dE[t-1] = alpha*G_E;  dL/dN[t-1] += beta*G_N;  dL/dalpha += E[t-1]*G_E; ...

One operator, ``torch.ops.spikeforge.alpha_forward`` (``_op.py``; a ``torch.library`` custom op, so
``torch.compile(fullgraph=True)`` and ``torch.export`` see one node), runs the whole sequence and keeps
the input and the three state traces for the backward op ``alpha_backward``; without autograd and
without ``record`` it keeps no trace, only the last states.

The initial membrane gets no gradient: it only enters through the detached reset mask. The alpha
neuron has no ``reset_delay`` (snntorch's ``Alpha`` takes none): resets always apply at the next step,
as in `spikeforge.core.alpha_step`, whatever ``Firing.reset_delay`` says.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ...core import AlphaParams, AlphaState, Firing, alpha_tau
from ...runner import SequenceResult
from .._params import kernel_params
from .._surrogate_ids import NO_GRAD, surrogate_spec
from ._op import _triton, alpha_forward


def run_alpha(xs: Tensor, state: AlphaState, p: AlphaParams, f: Firing, record: bool) -> SequenceResult:
    """Fused `spikeforge.core.alpha_step` over ``xs[T, B, ...]`` (``f.reset_delay`` is ignored)."""
    T, shape = xs.shape[0], xs.shape[1:]
    n, dt = math.prod(shape), xs.dtype  # not Size.numel(): it specialises a symbolic batch size
    sid, p1, p2 = surrogate_spec(f.spike_fn) or (NO_GRAD, 0.0, 0.0)
    prm = (p.alpha.clamp(0, 1), p.beta.clamp(0, 1), alpha_tau(p.alpha, p.beta), p.threshold, p.graded)
    params = kernel_params(prm, shape, dt, xs.device.type == "cpu" and not _triton(xs))
    args = (xs.reshape(T, n), *(s.reshape(n) for s in state), *params)
    keep = record or (torch.is_grad_enabled() and any(t.requires_grad for t in args))
    spk, e, nn_, u = alpha_forward(*args, f.reset, sid, p1, p2, keep)
    rows = (u.shape[0], *shape)
    spk, e, nn_, u = spk.view(T, *shape), e.view(rows), nn_.view(rows), u.view(rows)
    trace = AlphaState(e, nn_, u) if record else None
    return SequenceResult(spk, AlphaState(e[-1], nn_[-1], u[-1]), trace)
