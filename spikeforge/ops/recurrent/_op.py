"""``torch.ops.spikeforge.recurrent_lif`` and its backward ``recurrent_lif_backward``: the whole sequence
of a dense-recurrent LIF as one operator (``torch.library``, with fake implementations and autograd, see
`spikeforge.ops._library`), so ``torch.compile(fullgraph=True)`` and ``torch.export`` see one node each
way."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .._library import define
from .._masks import remember
from .._surrogate_ids import gradient_paths
from . import _loops, cpu
from ._map import RecurrentMap

_FORWARD_SCHEMA = (
    "(Tensor xs, Tensor spk0, Tensor syn0, Tensor mem0, Tensor alpha, Tensor beta, Tensor threshold, "
    "Tensor graded, Tensor weight, Tensor? bias, int[] conv, bool syn, int reset, bool immediate, "
    "int sid, float p1, float p2) -> (Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor)"
)
_BACKWARD_SCHEMA = (
    "(Tensor? g_spk, Tensor? g_mem, Tensor? g_syn, Tensor? g_spk_last, Tensor? g_mem_last, "
    "Tensor? g_syn_last, Tensor spk0, Tensor syn0, Tensor mem0, Tensor alpha, "
    "Tensor beta, Tensor threshold, Tensor graded, Tensor weight, Tensor? bias, Tensor spk, Tensor mem, "
    "Tensor cur, Tensor pre, int[] conv, bool syn, int reset, bool immediate, int sid, float p1, "
    "float p2, bool[] needs) -> Tensor[]"
)
#: the differentiable inputs of the forward op, in order (the rest are configuration)
_N_GRAD = 10


def _impl(t: Tensor):  # noqa: ANN202 - a module with forward/backward
    """The compiled (or numba) element-wise kernels for CPU tensors, torch operations on any other device."""
    return cpu if t.device.type == "cpu" else _loops


def _forward(xs: Tensor, spk0: Tensor, syn0: Tensor, mem0: Tensor, alpha: Tensor, beta: Tensor,
                  threshold: Tensor, graded: Tensor, weight: Tensor, bias: Tensor | None, conv: list[int],
                  syn: bool, reset: int, immediate: bool, sid: int, p1: float,
                  p2: float) -> tuple[Tensor, ...]:
    """RLeaky (``syn`` False) or RSynaptic over ``xs[T, B, ...]`` with the recurrence ``W`` (``conv``
    empty: ``nn.Linear`` weight/bias; else a Conv2d's stride, padding, dilation and groups).

    Every state is shaped like one step of ``xs``; parameters (already clamped, in ``xs``'s dtype)
    broadcast to it; ``syn0``/``alpha`` are ignored without ``syn``. ``reset`` is the `Firing` code,
    ``immediate`` means ``reset_delay=False`` (with a reset); ``sid``, ``p1``, ``p2`` name the surrogate
    (used by the backward only).

    Returns:
        ``(spk, mem, syn, pre)`` traces ``[T, B, ...]``: spikes, membrane (the state after each step),
        synaptic current (empty without ``syn``) and the membrane before the immediate reset (empty
        unless ``immediate``; kept for the backward); then the final states ``(spk, mem, syn)`` (one
        step each, copies: the state a next call starts from, so that a gradient reaching it needs no
        zero-filled gradient of a whole trace, and holding it keeps no trace alive).
    """
    rec = RecurrentMap(weight, bias, tuple(conv))
    spk, mem, cur, pre = _impl(xs).forward(xs, spk0, syn0, mem0, alpha, beta, threshold, graded, rec, syn,
                                           reset, immediate)
    T = xs.shape[0]
    last = tuple((trace[-1] if T else first).clone() for trace, first in ((spk, spk0), (mem, mem0)))
    return spk, mem, cur, pre, *last, (cur[-1] if T else syn0).clone() if syn else xs.new_empty(0)


def _forward_fake(xs: Tensor, spk0: Tensor, syn0: Tensor, mem0: Tensor, alpha: Tensor, beta: Tensor,
      threshold: Tensor, graded: Tensor, weight: Tensor, bias: Tensor | None, conv: list[int],
      syn: bool, reset: int, immediate: bool, sid: int, p1: float,
      p2: float) -> tuple[Tensor, ...]:
    def trace(used: bool) -> Tensor:
        return torch.empty_like(xs) if used else xs.new_empty(0)

    step = xs.new_empty(xs.shape[1:])
    return (trace(True), trace(True), trace(syn), trace(immediate), step, torch.empty_like(step),
            torch.empty_like(step) if syn else xs.new_empty(0))


def _backward(
    g_spk: Tensor | None, g_mem: Tensor | None, g_syn: Tensor | None, g_spk_last: Tensor | None,
    g_mem_last: Tensor | None, g_syn_last: Tensor | None, spk0: Tensor, syn0: Tensor,
    mem0: Tensor, alpha: Tensor, beta: Tensor, threshold: Tensor, graded: Tensor, weight: Tensor,
    bias: Tensor | None, spk: Tensor, mem: Tensor, cur: Tensor, pre: Tensor, conv: list[int], syn: bool,
    reset: int, immediate: bool, sid: int, p1: float, p2: float, needs: list[bool],
) -> list[Tensor]:
    """Gradients of `recurrent_lif`'s ten tensor inputs (an empty tensor where ``needs`` is False) from
    those of its traces and of its final states."""
    rec = RecurrentMap(weight, bias, tuple(conv))
    grads = _impl(mem).backward(g_spk, g_mem, g_syn, (g_spk_last, g_mem_last, g_syn_last), spk0, syn0,
                                mem0, alpha, beta, threshold, graded, rec, spk, mem, cur, pre, syn, reset,
                                immediate, sid, p1, p2, needs)
    return [mem.new_empty(0) if g is None else g for g in grads]


def _backward_fake(g_spk: Tensor | None, g_mem: Tensor | None, g_syn: Tensor | None,
      g_spk_last: Tensor | None, g_mem_last: Tensor | None, g_syn_last: Tensor | None, spk0: Tensor,
      syn0: Tensor, mem0: Tensor, alpha: Tensor, beta: Tensor, threshold: Tensor, graded: Tensor,
      weight: Tensor, bias: Tensor | None, spk: Tensor, mem: Tensor, cur: Tensor, pre: Tensor,
      conv: list[int], syn: bool, reset: int, immediate: bool, sid: int, p1: float, p2: float,
      needs: list[bool]) -> list[Tensor]:
    like = (mem, spk0, syn0, mem0, alpha, beta, threshold, graded, weight, bias)
    return [torch.empty_like(t) if n and t is not None else mem.new_empty(0) for t, n in zip(like, needs)]


recurrent_lif_backward = define("recurrent_lif_backward", _BACKWARD_SCHEMA, _backward, _backward_fake)


def _setup_context(ctx: Any, inputs: tuple[Any, ...], output: tuple[Tensor, ...]) -> None:
    (_, spk0, syn0, mem0, alpha, beta, threshold, graded, weight, bias, conv, syn, reset, immediate,
     sid, p1, p2) = inputs
    ctx.config = (list(conv), syn, reset, immediate, sid, p1, p2)
    # the spike trace as a bool mask (a quarter of float32): a spike is the graded factor or 0, so the
    # backward rebuilds it exactly (`_spikes`); the float trace is then freed once the next layer ran
    spk, *rest = output[:4]
    mask = spk.bool()
    remember(spk, mask)  # a Linear/convolution over these spikes keeps the same mask (`_masks`)
    ctx.save_for_backward(spk0, syn0, mem0, alpha, beta, threshold, graded, weight, bias, mask, *rest)
    ctx.mark_non_differentiable(output[3])
    if not syn:
        ctx.mark_non_differentiable(output[2], output[6])
    ctx.set_materialize_grads(False)


def _autograd(ctx: Any, g_spk: Tensor | None, g_mem: Tensor | None, g_syn: Tensor | None,
              _g_pre: Tensor | None, g_spk_last: Tensor | None, g_mem_last: Tensor | None,
              g_syn_last: Tensor | None) -> tuple[Tensor | None, ...]:
    conv, syn, reset, immediate, sid, p1, p2 = ctx.config
    needs = [bool(n) for n in ctx.needs_input_grad[:_N_GRAD]]
    saved = ctx.saved_tensors  # the spike trace as its bool mask: the backward rebuilds the spikes
    grads = recurrent_lif_backward(
        g_spk, g_mem, g_syn if syn else None, g_spk_last, g_mem_last, g_syn_last if syn else None, *saved,
        conv, syn, reset, immediate, sid, p1, p2, needs,
    )
    # None for what no gradient reaches, as in the step loop's graph (see gradient_paths); the spikes
    # feed the recurrence from a second step on
    states, mem, thr, graded = gradient_paths(
        sid, reset, g_spk is not None or g_spk_last is not None, g_mem is not None or g_mem_last is not None,
        syn and (g_syn is not None or g_syn_last is not None), saved[9].shape[0] > 1, immediate)
    if not states:  # nothing but the graded factor (through the spikes the loss reads)
        needs = [n and i == 7 for i, n in enumerate(needs)]
    needs[5] = needs[5] and mem  # beta
    needs[6] = needs[6] and thr  # threshold
    needs[7] = needs[7] and graded  # graded factor
    out = tuple(g if n else None for g, n in zip(grads, needs))
    return (*out, *(None,) * 7)


recurrent_lif = define("recurrent_lif", _FORWARD_SCHEMA, _forward, _forward_fake, _setup_context, _autograd)
