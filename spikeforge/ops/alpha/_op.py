"""``torch.ops.spikeforge.alpha_forward`` and ``alpha_backward``: a whole alpha-neuron sequence (and its
BPTT) as one operator each (see `spikeforge.ops._library`), dispatching to the compiled kernels
(`spikeforge.ops._native`, else the numba ones of ``cpu.py``) on CPU tensors or the triton ones
(``triton.py``) on CUDA tensors and under ``TRITON_INTERPRET=1``.

``reset`` is 0 subtract, 1 zero, 2 none; ``sid``, ``p1``, ``p2`` name the surrogate (used by the backward
only). With ``trace`` False the forward keeps no state traces, only the last step of each state.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from .. import _native
from .._library import define
from .._params import fold_grad, kernel_arrays, kernel_size
from .._surrogate_ids import NO_GRAD, SUBTRACT

_FORWARD_SCHEMA = (
    "(Tensor xs, Tensor e0, Tensor n0, Tensor u0, Tensor alpha, Tensor beta, Tensor tau, Tensor theta, "
    "Tensor g, int reset, int sid, float p1, float p2, bool trace) -> (Tensor, Tensor, Tensor, Tensor)"
)
_BACKWARD_SCHEMA = (
    "(Tensor? g_spk, Tensor? g_exc, Tensor? g_inh, Tensor? g_mem, Tensor xs, Tensor e0, Tensor n0, "
    "Tensor u0, Tensor alpha, Tensor beta, Tensor tau, Tensor theta, Tensor g, Tensor exc, Tensor inh, "
    "Tensor mem, int reset, int sid, float p1, float p2, bool params) "
    "-> (Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor)"
)


def _triton(xs: Tensor) -> bool:
    from .. import backend_for

    return backend_for(xs) == "triton"


def _np(t: Tensor) -> np.ndarray:
    return t.detach().contiguous().numpy()


def _arrays(ins: tuple[Tensor, ...], n: int) -> list[np.ndarray]:
    """The op's tensors as the CPU kernels read them: the parameters (``ins[4:9]``) as given for the
    compiled kernels (all ``[N]``, all ``[1]``, or all ``[P]``), repeated to ``[N]`` for numba."""
    prm = ins[4:9]
    return [_np(t) for t in ins[:4]] + kernel_arrays(prm, n, kernel_size(prm, n, _native.lib is not None)) \
        + [_np(t) for t in ins[9:]]


def _forward(xs: Tensor, e0: Tensor, n0: Tensor, u0: Tensor, alpha: Tensor, beta: Tensor, tau: Tensor,
             theta: Tensor, g: Tensor, reset: int, sid: int, p1: float, p2: float,
             trace: bool) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The alpha neuron over ``xs[T, N]`` from the states ``e0``, ``n0``, ``u0`` with the (clamped)
    parameters, every one ``[N]`` in ``xs``'s dtype and device (on CPU also all ``[1]``, or all ``[P]``
    with ``P`` dividing ``N``, neuron ``k`` reading element ``k % P``).

    Returns:
        ``(spk, exc, inh, mem)``: spikes ``[T, N]`` and the three state traces ``[T, N]`` (``[1, N]``, the
        last step, when not ``trace``).
    """
    ins = (xs, e0, n0, u0, alpha, beta, tau, theta, g)
    if _triton(xs):
        from .triton import alpha_triton_forward

        return alpha_triton_forward(ins, reset, trace)
    T, n = xs.shape
    arrs = _arrays(ins, n)
    outs = [np.empty_like(arrs[0])] + [np.empty((T if trace else 1, n), arrs[0].dtype) for _ in range(3)]
    if _native.lib is not None:
        _native.alpha_forward(*arrs, reset, _native.blocks(n), *outs)
    else:
        from ..lif.cpu import blocks, pick
        from .cpu import alpha_forward, alpha_forward_serial

        nb = blocks(n)
        pick(alpha_forward, alpha_forward_serial, nb)(*arrs, reset, nb, *outs)
    spk, e, nn_, u = (torch.from_numpy(a) for a in outs)
    return spk, e, nn_, u


def _forward_fake(xs: Tensor, e0: Tensor, n0: Tensor, u0: Tensor, alpha: Tensor, beta: Tensor, tau: Tensor,
                  theta: Tensor, g: Tensor, reset: int, sid: int, p1: float, p2: float,
                  trace: bool) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    rows = xs.shape[0] if trace else 1
    return torch.empty_like(xs), *(xs.new_empty(rows, xs.shape[1]) for _ in range(3))


def _backward(g_spk: Tensor | None, g_exc: Tensor | None, g_inh: Tensor | None, g_mem: Tensor | None,
              xs: Tensor, e0: Tensor, n0: Tensor, u0: Tensor, alpha: Tensor, beta: Tensor, tau: Tensor,
              theta: Tensor, g: Tensor, exc: Tensor, inh: Tensor, mem: Tensor, reset: int, sid: int,
              p1: float, p2: float, params: bool) -> tuple[Tensor, ...]:
    """BPTT of `_forward` (with ``trace``) from the output gradients (None: zero) and the saved inputs and
    state traces. Returns the gradients of ``(xs, e0, n0, alpha, beta, tau, theta, g)`` (``u0`` gets none:
    it only enters through the detached reset mask)."""
    saved = (xs, e0, n0, u0, alpha, beta, tau, theta, g, exc, inh, mem)
    gs = torch.zeros_like(xs) if g_spk is None else g_spk
    opt = (g_exc, g_inh, g_mem)
    cfg = (reset, sid, p1, p2)
    if _triton(xs):
        from .triton import alpha_triton_backward

        return tuple(alpha_triton_backward(saved, gs, opt, cfg))
    n = xs.shape[1]
    arrs = _arrays(saved, n)
    dummy = np.zeros((1, 1), dtype=arrs[0].dtype)
    outs = [np.empty_like(arrs[0])] + [np.empty_like(arrs[1]) for _ in range(7)]
    opt_arrs = [dummy if t is None else _np(t) for t in opt]
    if _native.lib is not None:
        run, nb = _native.alpha_backward, _native.blocks(arrs[0].shape[1])
    else:
        from ..lif.cpu import blocks, pick
        from .cpu import alpha_backward, alpha_backward_serial

        nb = blocks(arrs[0].shape[1])
        run = pick(alpha_backward, alpha_backward_serial, nb)
    run(*arrs[:9], *cfg, nb, *arrs[9:], _np(gs), *opt_arrs, *(t is not None for t in opt), *outs, params)
    outs[3:] = [fold_grad(a, p, n) for a, p in zip(outs[3:], saved[4:9], strict=True)]
    return tuple(torch.from_numpy(a) for a in outs)


def _backward_fake(g_spk: Tensor | None, g_exc: Tensor | None, g_inh: Tensor | None, g_mem: Tensor | None,
                   xs: Tensor, e0: Tensor, n0: Tensor, u0: Tensor, alpha: Tensor, beta: Tensor, tau: Tensor,
                   theta: Tensor, g: Tensor, exc: Tensor, inh: Tensor, mem: Tensor, reset: int, sid: int,
                   p1: float, p2: float, params: bool) -> tuple[Tensor, ...]:
    return (torch.empty_like(xs), torch.empty_like(e0), torch.empty_like(n0),
            *(torch.empty_like(p) for p in (alpha, beta, tau, theta, g)))


alpha_backward = define("alpha_backward", _BACKWARD_SCHEMA, _backward, _backward_fake)


def _setup_context(ctx: Any, inputs: tuple[Any, ...], output: tuple[Tensor, ...]) -> None:
    *tensors, reset, sid, p1, p2, trace = inputs
    ctx.config = (reset, sid, p1, p2, trace)
    # the backward reads the input and the three state traces, not the spikes
    ctx.save_for_backward(*tensors, *output[1:])
    ctx.set_materialize_grads(False)


def _autograd(ctx: Any, g_spk: Tensor | None, g_exc: Tensor | None, g_inh: Tensor | None,
              g_mem: Tensor | None) -> tuple[Tensor | None, ...]:
    reset, sid, p1, p2, trace = ctx.config
    if not trace:
        raise RuntimeError("spikeforge::alpha_forward ran with trace=False and cannot be differentiated")
    gx, ge0, gn0, ga, gb, gtau, gth, gg = alpha_backward(
        g_spk, g_exc, g_inh, g_mem, *ctx.saved_tensors, reset, sid, p1, p2,
        any(ctx.needs_input_grad[4:9]),  # alpha, beta, tau, theta, g
    )
    # None, as in the step loop's graph (core.alpha_step), for what no gradient reaches (a zero would let
    # weight decay or momentum move a parameter nothing trains). The membrane (tau's) is reached from
    # itself and the spikes; the excitatory current (alpha's) and the inhibitory one (beta's) from
    # themselves and the membrane; the threshold from the spikes and, with the subtract reset, which
    # writes it into the excitatory current, from that current and a later step's membrane.
    T = ctx.saved_tensors[0].shape[0]
    spike_in = g_spk is not None
    mem_reached = g_mem is not None or (spike_in and sid != NO_GRAD)
    rest = (None,) * 5
    if not (mem_reached or g_exc is not None or g_inh is not None):
        return (None,) * 8 + (gg if spike_in else None, *rest)
    ga = ga if mem_reached or g_exc is not None else None
    gb = gb if mem_reached or g_inh is not None else None
    gtau = gtau if mem_reached else None
    theta_in_exc = reset == SUBTRACT and (g_exc is not None or (g_mem is not None and T > 1))
    if not (spike_in and sid != NO_GRAD) and not theta_in_exc:
        gth = None
    return gx, ge0, gn0, None, ga, gb, gtau, gth, gg if spike_in else None, *rest


alpha_forward = define("alpha_forward", _FORWARD_SCHEMA, _forward, _forward_fake, _setup_context, _autograd)
