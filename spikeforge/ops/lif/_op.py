"""``torch.ops.spikeforge.lif_forward`` and ``lif_backward``: a whole LIF-family sequence (and its BPTT)
as one operator each (see `spikeforge.ops._library`), dispatching to the compiled CPU kernels
(`spikeforge.ops._native`, or their numba twins in ``cpu.py`` where the library was not built) on CPU
tensors or the triton ones (``triton.py``) on CUDA tensors and under ``TRITON_INTERPRET=1``.

Configuration codes (``syn``, ``rec``, ``reset``, ``immediate``) are those of ``cpu.py``; ``sid``, ``p1``,
``p2`` name the surrogate (`spikeforge.ops._surrogate_ids`, used by the backward only). With ``trace``
False the forward keeps no state traces, only the last step of each state: for inference, where nothing
needs the backward and nobody asked for the traces.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor

from .. import _native
from .._library import define
from .._params import fold_grad, kernel_arrays, kernel_size
from .._surrogate_ids import gradient_paths

_FORWARD_SCHEMA = (
    "(Tensor xs, Tensor u0, Tensor i0, Tensor s0, Tensor alpha, Tensor beta, Tensor theta, Tensor g, "
    "Tensor vrec, bool syn, bool rec, int reset, bool immediate, int sid, float p1, float p2, "
    "bool trace) -> (Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor)"
)
_BACKWARD_SCHEMA = (
    "(Tensor? g_spk, Tensor? g_mem, Tensor? g_syn, Tensor? g_spk_last, Tensor? g_mem_last, "
    "Tensor? g_syn_last, Tensor u0, Tensor i0, Tensor s0, Tensor alpha, "
    "Tensor beta, Tensor theta, Tensor g, Tensor vrec, Tensor spk, Tensor mem, Tensor cur, Tensor pre, "
    "bool syn, bool rec, int reset, bool immediate, int sid, float p1, float p2, int params) "
    "-> (Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor)"
)


class Config(NamedTuple):
    """The op's static arguments, as the triton launchers read them."""

    syn: bool
    rec: bool
    reset: int
    immediate: bool
    sid: int
    p1: float
    p2: float


def backend(xs: Tensor) -> str:
    """``"triton"`` or ``"cpu"``: which kernels run ``xs`` (`spikeforge.ops.backend_for`)."""
    from .. import backend_for

    return backend_for(xs) or "cpu"


def _np(t: Tensor) -> np.ndarray:
    return t.detach().contiguous().numpy()


def _np_rows(t: Tensor, like: np.ndarray) -> np.ndarray:
    """``t`` as a 2-D array, a 1x1 placeholder for an unused (empty) one."""
    return np.empty((1, 1), dtype=like.dtype) if t.numel() == 0 else _np(t)


def _cpu_forward(xs: Tensor, init: tuple[Tensor, ...], prm: tuple[Tensor, ...], c: Config,
                 trace: bool) -> tuple[np.ndarray, ...]:
    x = _np(xs)
    T, n = x.shape
    rows = T if trace else 1

    def buf(used: bool) -> np.ndarray:
        return np.empty((rows, n), dtype=x.dtype) if used else np.empty((1, 1), dtype=x.dtype)

    spk, u, itr, v = np.empty_like(x), buf(True), buf(c.syn), buf(c.immediate)
    size = kernel_size(prm, n, _native.lib is not None, numba_ones=True)
    args = (x, *(_np(t) for t in init), *kernel_arrays(prm, n, size), c.syn, c.rec, c.reset, c.immediate)
    if _native.lib is not None:
        _native.lif_forward(*args, _native.blocks(n), spk, u, itr, v)
    else:
        from .cpu import blocks, lif_forward, lif_forward_serial, pick

        nb = blocks(n)
        pick(lif_forward, lif_forward_serial, nb)(*args, nb, spk, u, itr, v)
    return spk, u, itr, v


def _forward(xs: Tensor, u0: Tensor, i0: Tensor, s0: Tensor, alpha: Tensor, beta: Tensor, theta: Tensor,
             g: Tensor, vrec: Tensor, syn: bool, rec: bool, reset: int, immediate: bool, sid: int, p1: float,
             p2: float, trace: bool) -> tuple[Tensor, ...]:
    """One LIF-family layer over ``xs[T, N]`` (every other tensor ``[N]``, ``xs``'s dtype and device;
    ``i0``/``alpha`` read with ``syn``, ``s0``/``vrec`` with ``rec``).

    Returns:
        ``(spk, mem, cur, pre, spk_last, mem_last, cur_last)``: spikes ``[T, N]``; membrane ``[T, N]``
        (``[1, N]``, the last step, when not ``trace``); synaptic current likewise (empty without
        ``syn``); the membrane before the immediate reset ``[T, N]`` for the backward (empty unless
        ``immediate`` and ``trace``); then the final states ``[N]`` (the spike one with ``rec``, the
        current with ``syn``, else empty): copies, outputs of their own, so that a gradient reaching only
        the last step (the next time chunk's) starts the backward's carried gradients instead of
        zero-filling a whole trace's, and holding a final state keeps no trace alive.
    """
    c = Config(syn, rec, reset, immediate, sid, p1, p2)
    init, prm = (u0, i0, s0), (alpha, beta, theta, g, vrec)
    if backend(xs) == "triton":
        from .triton import triton_forward

        spk, u, itr, v = triton_forward(xs, init, prm, c, trace)
    else:
        spk, u, itr, v = (torch.from_numpy(a) for a in _cpu_forward(xs, init, prm, c, trace))
    T = xs.shape[0]

    def empty() -> Tensor:  # a new one each: outputs of a custom op must not alias each other
        return xs.new_empty(0)

    def last(trace_: Tensor, first: Tensor) -> Tensor:
        return (trace_[-1] if T else first).clone()

    return (spk, u, itr if syn else empty(), v if immediate and trace else empty(),
            last(spk, s0) if rec else empty(), last(u, u0), last(itr, i0) if syn else empty())


def _forward_fake(xs: Tensor, u0: Tensor, i0: Tensor, s0: Tensor, alpha: Tensor, beta: Tensor,
                  theta: Tensor, g: Tensor, vrec: Tensor, syn: bool, rec: bool, reset: int, immediate: bool,
                  sid: int, p1: float, p2: float, trace: bool) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    rows = xs.shape[0] if trace else 1

    def state(used: bool) -> Tensor:
        return xs.new_empty(rows, xs.shape[1]) if used else xs.new_empty(0)

    pre = torch.empty_like(xs) if immediate and trace else xs.new_empty(0)

    def last(used: bool) -> Tensor:
        return xs.new_empty(xs.shape[1]) if used else xs.new_empty(0)

    return torch.empty_like(xs), state(True), state(syn), pre, last(rec), last(True), last(syn)


def _cpu_backward(saved: tuple[Tensor, ...], gs: Tensor, gu: Tensor | None, gi: Tensor | None,
                  c: Config, params: int = 2,
                  g_last: tuple[Tensor | None, ...] = (None, None, None)) -> tuple[np.ndarray, ...]:
    """The CPU BPTT (compiled kernels or numba), from the traces' gradients and ``g_last``, those of
    the final spike (with ``rec``), membrane and current states (None: zero), which start the carried
    gradients. Parameters given as one value (``[1]``) are read as such by the compiled kernels (numba
    needs them repeated per neuron) and their gradients summed back to ``[1]``; a spike gradient
    broadcast over time (``spk.sum()``'s) is given to the compiled kernels as one row; buffers the
    configuration does not use stay 1-element."""
    u = _np(saved[9])
    n = u.shape[1]
    u0, i0, s0, alpha, beta, theta, g, vrec = saved[:8]
    native = _native.lib is not None
    size = kernel_size(saved[3:8], n, native)  # 1 (compact), P (periodic) or n
    compact = native and size == 1
    prm = kernel_arrays(saved[3:8], n, size)
    for j, used in ((0, c.syn), (4, c.rec)):  # alpha and vrec unread: left as given
        if not used:
            prm[j] = _np(saved[3 + j])
    arrs = [_np(u0), _np(i0), _np(s0), *prm]
    arrs += [_np_rows(saved[8], u), u] + [_np_rows(t, u) for t in saved[10:]]
    dummy = np.zeros((1, 1), dtype=u.dtype)
    one = np.zeros(1, dtype=u.dtype)

    def vec(used: bool) -> np.ndarray:
        return np.empty(n, dtype=u.dtype) if used else one

    gx = np.empty_like(u)
    # gradients of u0, i0, s0, alpha, beta, theta, g, vrec (the kernel writes only the used ones)
    # params: 0 no parameter gradients, 1 all but g's, 2 all (numba computes all of them whenever any)
    p = bool(params)
    used = (True, c.syn, c.rec, p and c.syn, p, p, p and (params == 2 or not native), p and c.rec)
    vecs = [vec(k) for k in used]
    # the kernel carries the gradients of the states in those of u0, i0, s0: they start from the final ones
    for j, grad in zip((2, 0, 1), g_last):  # (spk, mem, syn) -> gs0, gu0, gi0
        if used[j]:
            vecs[j][:] = 0 if grad is None else _np(grad)
    args = (*arrs[:8], c.syn, c.rec, c.reset, c.immediate, c.sid, c.p1, c.p2)
    # a gradient the same at every step (stride 0 over time): one row for the compiled kernels
    gs_np = _np(gs[0]) if native and gs.dim() == 2 and gs.shape[0] > 1 and gs.stride(0) == 0 else _np(gs)
    rest = (*arrs[8:], gs_np, dummy if gu is None else _np(gu), dummy if gi is None else _np(gi),
            gu is not None, gi is not None, gx, *vecs, p)
    if native:
        nb = _native.blocks(n)  # 1..n: the blocks whose parameter sums the kernel writes (compact)
        _native.lif_backward(*args, nb, *rest, need_g=params == 2)
    else:
        from .cpu import blocks, lif_backward, lif_backward_serial, pick

        nb = blocks(n)
        pick(lif_backward, lif_backward_serial, nb)(*args, nb, *rest)
    out = [gx]
    for j, (grad, k, t) in enumerate(zip(vecs, used, saved[:8], strict=True)):
        if not k:
            grad = np.zeros(t.shape, dtype=u.dtype)
        elif j >= 3 and compact:  # the compiled kernels' sums per block of neurons (see _native)
            grad = np.asarray(grad[:nb].sum(dtype=grad.dtype)).reshape(t.shape)
        elif j >= 3:  # per-neuron sums, as the parameter's gradient ([1] or [P]: summed over neurons)
            grad = fold_grad(grad, t, n)
        out.append(grad)
    return tuple(out)


def _backward(g_spk: Tensor | None, g_mem: Tensor | None, g_syn: Tensor | None, g_spk_last: Tensor | None,
              g_mem_last: Tensor | None, g_syn_last: Tensor | None, u0: Tensor, i0: Tensor,
              s0: Tensor, alpha: Tensor, beta: Tensor, theta: Tensor, g: Tensor, vrec: Tensor, spk: Tensor,
              mem: Tensor, cur: Tensor, pre: Tensor, syn: bool, rec: bool, reset: int, immediate: bool,
              sid: int, p1: float, p2: float, params: int) -> tuple[Tensor, ...]:
    """BPTT of `_forward` (with ``trace``) from the output gradients (None: zero; those of the final
    states are the ``*_last``) and the saved inputs and traces (``spk`` may be empty without ``rec``;
    ``u0`` is ``+-inf`` where only ``U0 > theta`` was kept, see `_setup_context`). Returns the
    gradients of ``(xs, u0, i0, s0, alpha, beta, theta, g, vrec)``, shaped like them (zeros for the ones
    the configuration does not read; with ``params`` 0 the CPU kernel leaves those of alpha, beta,
    theta, g and vrec at zero, unneeded, and with 1 that of g)."""
    c = Config(syn, rec, reset, immediate, sid, p1, p2)
    saved = (u0, i0, s0, alpha, beta, theta, g, vrec, spk, mem, cur, pre)
    gs = torch.zeros_like(mem) if g_spk is None else g_spk
    g_syn = g_syn if syn else None
    g_last = (g_spk_last if rec else None, g_mem_last, g_syn_last if syn else None)
    if backend(mem) == "triton":
        from .triton import triton_backward

        # the final states' gradients join the last step's (the same sums as carrying them in)
        gs, g_mem, g_syn = (_plus_last(t, last, mem) for t, last in zip((gs, g_mem, g_syn), g_last))
        placeholder = mem.new_empty(1)
        saved = tuple(placeholder if t.numel() == 0 else t for t in saved)
        return tuple(triton_backward(saved, gs, g_mem, g_syn, c))
    return tuple(torch.from_numpy(a) for a in _cpu_backward(saved, gs, g_mem, g_syn, c, params, g_last))


def _plus_last(grads: Tensor | None, last: Tensor | None, like: Tensor) -> Tensor | None:
    """``grads[T, N]`` (zeros like ``like`` when None) with ``last[N]`` added to its last row, as a new
    tensor; ``grads`` itself when there is no ``last``."""
    if last is None:
        return grads
    out = torch.zeros_like(like) if grads is None else grads.clone()
    out[-1] += last
    return out


def _backward_fake(g_spk: Tensor | None, g_mem: Tensor | None, g_syn: Tensor | None,
                   g_spk_last: Tensor | None, g_mem_last: Tensor | None, g_syn_last: Tensor | None,
                   u0: Tensor, i0: Tensor,
                   s0: Tensor, alpha: Tensor, beta: Tensor, theta: Tensor, g: Tensor, vrec: Tensor,
                   spk: Tensor, mem: Tensor, cur: Tensor, pre: Tensor, syn: bool, rec: bool, reset: int,
                   immediate: bool, sid: int, p1: float, p2: float, params: int) -> tuple[Tensor, ...]:
    return (torch.empty_like(mem), *(torch.empty_like(t) for t in (u0, i0, s0, alpha, beta, theta, g, vrec)))


lif_backward = define("lif_backward", _BACKWARD_SCHEMA, _backward, _backward_fake)


def _setup_context(ctx: Any, inputs: tuple[Any, ...], output: tuple[Tensor, ...]) -> None:
    (_, u0, i0, s0, alpha, beta, theta, g, vrec, syn, rec, reset, immediate, sid, p1, p2, trace) = inputs
    spk, mem, cur, pre, spk_last, _, cur_last = output
    ctx.config = (syn, rec, reset, immediate, sid, p1, p2, trace)
    # Without parameter gradients the CPU kernel reads the initial states only as U0 > theta: a bool
    # mask then, not the float states (in SequentialSNN those are the previous time chunk's final
    # states, one step of memory per chunk and layer otherwise)
    ctx.u0_mask = backend(mem) == "cpu" and not any(ctx.needs_input_grad[4:9])
    if ctx.u0_mask:  # (the current and spike states are then not read at all: only their shapes kept)
        ctx.state_shapes = (i0.shape, s0.shape)
        over = torch.gt(u0.view(-1, theta.numel()), theta).view(-1) if theta.numel() > 1 else u0 > theta
        u0, i0, s0 = over, i0.new_empty(0), s0.new_empty(0)
    # the spike trace only feeds the one-to-one recurrence's backward
    ctx.save_for_backward(u0, i0, s0, alpha, beta, theta, g, vrec, spk if rec else mem.new_empty(0), mem,
                          cur, pre)
    ctx.mark_non_differentiable(pre)
    if not syn:
        ctx.mark_non_differentiable(cur, cur_last)
    if not rec:
        ctx.mark_non_differentiable(spk_last)
    ctx.set_materialize_grads(False)


def _autograd(ctx: Any, g_spk: Tensor | None, g_mem: Tensor | None, g_syn: Tensor | None,
              _g_pre: Tensor | None, g_spk_last: Tensor | None, g_mem_last: Tensor | None,
              g_syn_last: Tensor | None) -> tuple[Tensor | None, ...]:
    syn, rec, reset, immediate, sid, p1, p2, trace = ctx.config
    if not trace:
        raise RuntimeError("spikeforge::lif_forward ran with trace=False and cannot be differentiated")
    needs = ctx.needs_input_grad
    params = (2 if needs[7] else 1) if any(needs[4:9]) else 0  # alpha, beta, theta, g (2: its too), vrec
    saved = list(ctx.saved_tensors)
    if ctx.u0_mask:  # +-inf compare with theta as U0 did (exactly, for any theta)
        saved[0] = torch.where(saved[0], math.inf, -math.inf).to(saved[9].dtype)
        saved[1], saved[2] = (saved[9].new_zeros(shape) for shape in ctx.state_shapes)
    gx, gu0, gi0, gs0, ga, gb, gth, gg, gv = lif_backward(
        g_spk, g_mem, g_syn if syn else None, g_spk_last if rec else None, g_mem_last,
        g_syn_last if syn else None, *saved, syn, rec, reset, immediate, sid, p1, p2,
        params,
    )
    # None for what no gradient reaches, as in the step loop's graph (see gradient_paths)
    states, mem, thr, graded = gradient_paths(
        sid, reset, g_spk is not None or (rec and g_spk_last is not None),
        g_mem is not None or g_mem_last is not None, syn and (g_syn is not None or g_syn_last is not None),
        rec and saved[9].shape[0] > 1, immediate)
    rest = (None,) * 8
    if not states:
        return (None,) * 7 + (gg if graded else None, None, *rest)
    return (gx, gu0, gi0 if syn else None, gs0 if rec else None, ga if syn else None, gb if mem else None,
            gth if thr else None, gg if graded else None, gv if rec else None, *rest)


lif_forward = define("lif_forward", _FORWARD_SCHEMA, _forward, _forward_fake, _setup_context, _autograd)
