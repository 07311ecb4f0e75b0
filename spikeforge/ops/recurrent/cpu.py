"""CPU loops of the fused dense-recurrent LIF op: torch's recurrent product per step, and one compiled call
per step for the neuron update of every neuron of the batch (`spikeforge.ops._native`; the numba twins
in ``_numba.py`` where the library was not built). Both kernels are serial (one thread, never more than
torch's setting); the products use torch's threads.

Per step, torch computes the recurrent product (``W(S[t-1])`` forward, ``dL/dd[t+1]`` times ``W`` backward)
into a buffer it reuses: ten or so torch operations per step for the update would cost about 6
microseconds each here (measured: 100 steps of a 64 x 256 batch, 1.6 ms compiled against 8.4 ms as
torch operations with preallocated outputs).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from .. import _native
from .._surrogate_ids import NO_GRAD
from ._loops import spikes_from_mask
from ._map import RecurrentMap


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
    step: Callable[[int, np.ndarray], None]
    if _native.lib is not None:
        step = _native.RecurrentForward(x, u0, i0, *prm, syn, reset, immediate, spk, mem, cur, pre).step
    else:
        from ._numba import step_forward

        def step(t: int, r: np.ndarray) -> None:
            step_forward(t, x, r, u0, i0, *prm, syn, reset, immediate, spk, mem, cur, pre)

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
        step(t, r)

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
    traces = (rows(mem), rows(cur) if syn else dummy, rows(pre) if immediate else dummy)
    grads = (rows(g_spk), rows(g_mem), rows(g_syn))
    gx_np = gx.view(T, n).numpy()
    flags = (g_spk is not None, g_mem is not None, g_syn is not None)
    carried = (gsc.view(n).numpy(), guc.view(n).numpy(), gic.view(n).numpy())
    accs = [a.view(n).numpy() for a in acc]
    step: Callable[[int], None]
    if _native.lib is not None:
        step = _native.RecurrentBackward(u0, i0, *prm, syn, reset, immediate, sid, p1, p2, *traces, *grads,
                                         flags, slope, carried, tuple(needs[4:8]), accs, gx_np).step
    else:
        from ._numba import slopes, step_backward

        def step(t: int) -> None:
            if sid != NO_GRAD:
                slopes(volt[t:t + 1], prm[2], prm[3], sid, p1, p2, slope)
            step_backward(t, u0, i0, *prm, syn, reset, immediate, slope, *traces, *grads, *flags, *carried,
                          *needs[4:8], *accs, gx_np)

    for t in range(T - 1, -1, -1):
        step(t)
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
