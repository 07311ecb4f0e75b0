"""Forward and backward loops of the fused dense-recurrent LIF op, in torch operations (any device, the
thread count torch is set to). ``ops/recurrent/__init__.py`` has the equations and the derivation.

The forward repeats `spikeforge.core.rleaky_step`/``rsynaptic_step`` operation by operation, in the
same order and with the same rounding (``(beta*U + X) + W(S)``, or ``(alpha*I + X) + W(S)`` then
``beta*U + I``; ``U - R*theta`` / ``U - R*U``; ``H(U - theta)*g``; ``U - D*theta`` / ``U - D*U`` with
``D = S/g - R``), so spikes and states are bit-identical to the step loop. The backward builds no graph:
per step a few element-wise operations and one product with ``W``; the weight gradient is one product
over the whole sequence at the end.
"""

from __future__ import annotations

import dataclasses
import functools

import torch
from torch import Tensor

from ...core import NONE, SUBTRACT, ZERO
from ...surrogate import Surrogate
from .._surrogate_ids import NO_GRAD
from ._map import RecurrentMap


def _step_mask(mem: Tensor, threshold: Tensor) -> Tensor:
    """``H(U - theta)`` in ``U``'s dtype (the reset mask and the spike, as the step function forms them)."""
    return torch.gt(mem - threshold, 0).to(mem.dtype)


def forward(xs: Tensor, spk0: Tensor, syn0: Tensor, mem0: Tensor, alpha: Tensor, beta: Tensor,
            threshold: Tensor, graded: Tensor, rec: RecurrentMap, syn: bool, reset: int,
            immediate: bool) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Run the sequence; returns the spike, membrane and (``syn``) current traces ``[T, B, ...]`` and,
    with ``immediate`` (``reset_delay=False``), the membrane before that reset (else empty tensors)."""
    spk, mem = torch.empty_like(xs), torch.empty_like(xs)
    cur = torch.empty_like(xs) if syn else xs.new_empty(0)
    pre = torch.empty_like(xs) if immediate else xs.new_empty(0)
    s_prev, i_prev, u_prev = spk0, syn0, mem0
    h_prev = None  # H(U[t-1] - theta) when the stored membrane is the one that fired (no immediate reset)
    for t, x in enumerate(xs.unbind(0)):
        r = None
        if reset != NONE:
            r = h_prev if h_prev is not None else _step_mask(u_prev, threshold)
        v = pre[t] if immediate else mem[t]
        if syn:
            i_t = cur[t]
            torch.mul(alpha, i_prev, out=i_t)
            i_t.add_(x).add_(rec(s_prev))
            torch.mul(beta, u_prev, out=v).add_(i_t)
            i_prev = i_t
        else:
            torch.mul(beta, u_prev, out=v).add_(x).add_(rec(s_prev))
        if reset == SUBTRACT:
            v.sub_(r * threshold)
        elif reset == ZERO:
            v.sub_(r * v)
        h = _step_mask(v, threshold)
        torch.mul(h, graded, out=spk[t])
        if immediate:
            d = spk[t] / graded - r
            torch.sub(v, d * (threshold if reset == SUBTRACT else v), out=mem[t])
        else:
            h_prev = h
        s_prev, u_prev = spk[t], mem[t]
    return spk, mem, cur, pre


def spikes_from_mask(mask: Tensor, graded: Tensor, like: Tensor) -> Tensor:
    """The spike trace from the bool mask the op saves: the graded factor where a neuron spiked, else 0,
    in ``like``'s dtype (as the forward wrote it, so exactly the forward's spikes)."""
    if graded.device.type == "cpu" and graded.numel() == 1 and graded.item() == 1:
        # the mask's bytes as uint8 to floats: 4x faster than torch.where (no .item() sync on a GPU)
        return mask.view(torch.uint8).to(like.dtype)
    return torch.where(mask, graded.to(like.dtype), like.new_zeros(()))


@functools.cache
def surrogate_of(sid: int, p1: float, p2: float) -> Surrogate:
    """The surrogate class that sets ``kernel_id = sid`` (not a user's subclass of it, which inherits the
    id) with hyper-parameters ``(p1, p2)`` (as many as it takes)."""
    todo, found = [Surrogate], []
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__dict__.get("kernel_id") == sid and dataclasses.is_dataclass(cls):
            found.append(cls)
    if len(found) != 1:
        raise ValueError(f"no unique surrogate with kernel_id {sid}")
    cls = found[0]
    return cls(*(p1, p2)[: len(dataclasses.fields(cls))])


def _add(a: Tensor | None, b: Tensor | None) -> Tensor | None:
    if a is None:
        return b
    return a if b is None else a + b


def backward(  # noqa: C901 - one loop, every flag
    g_spk: Tensor | None, g_mem: Tensor | None, g_syn: Tensor | None,
    g_last: tuple[Tensor | None, Tensor | None, Tensor | None], spk0: Tensor, syn0: Tensor,
    mem0: Tensor, alpha: Tensor, beta: Tensor, threshold: Tensor, graded: Tensor, rec: RecurrentMap,
    spk: Tensor, mem: Tensor, cur: Tensor, pre: Tensor, syn: bool, reset: int, immediate: bool,
    sid: int, p1: float, p2: float, needs: list[bool],
) -> list[Tensor | None]:
    """BPTT of `forward`, from the gradients of the traces and ``g_last``, those of the final spike,
    membrane and current states (None: not used); ``spk`` is the spike trace's bool mask. ``needs``
    flags ``(xs, spk0, syn0, mem0, alpha, beta, threshold, graded, weight, bias)``; returns their
    gradients in that order (None where not needed), each shaped like its input (parameters summed over
    the dimensions they were broadcast over)."""
    T = mem.shape[0]
    spk = spikes_from_mask(spk, graded, mem)
    volt = pre if immediate else mem  # the membrane that fired
    z = volt - threshold
    h = torch.gt(z, 0).to(mem.dtype)
    # dL/dz = dL/dS * g * s'(z): the factor g * s'(z) for every step at once
    slope = None if sid == NO_GRAD else surrogate_of(sid, p1, p2).grad(z) * graded
    r = None
    if reset != NONE:
        r = torch.empty_like(mem)
        r[0] = _step_mask(mem0, threshold)
        if T > 1:
            r[1:] = h[:-1] if not immediate else _step_mask(mem[:-1], threshold)
    keep = 1 - r if reset == ZERO else None
    n_alpha, n_beta, n_theta, n_g = needs[4:8]
    acc = {k: torch.zeros_like(mem[0]) for k, n in zip("abtg", (n_alpha, n_beta, n_theta, n_g)) if n}
    g_x = torch.empty_like(mem)
    # gradients carried to the previous step's spike, membrane, current: first those of the final states
    gs_c, gu_c, gi_c = (None if g is None else g.reshape(mem.shape[1:]).to(mem.dtype)
                        for g in g_last)
    for t in range(T - 1, -1, -1):
        gst = _add(None if g_spk is None else g_spk[t], gs_c)
        gut = _add(None if g_mem is None else g_mem[t], gu_c)
        gv = gut
        if immediate and gut is not None:
            q = gut * (threshold if reset == SUBTRACT else volt[t]) / graded
            gst = -q if gst is None else gst - q
            if n_g:
                acc["g"].add_(q * h[t])
            if reset == SUBTRACT:
                if n_theta:
                    acc["t"].sub_(gut * (h[t] - r[t]))
            else:
                gv = gut * (1 - (h[t] - r[t]))
        if gst is not None:
            if n_g:
                acc["g"].add_(gst * h[t])
            if slope is not None:
                gz = gst * slope[t]
                gv = _add(gv, gz)
                if n_theta:
                    acc["t"].sub_(gz)
        if gv is None:
            gv = torch.zeros_like(mem[t])
        if reset == SUBTRACT and n_theta:
            acc["t"].sub_(r[t] * gv)
        gbase = gv * keep[t] if keep is not None else gv
        u_prev = mem0 if t == 0 else mem[t - 1]
        if n_beta:
            acc["b"].add_(gbase * u_prev)
        gu_c = beta * gbase
        if syn:
            gi = _add(gbase, None if g_syn is None else g_syn[t])
            gi = gi if gi_c is None else gi + gi_c
            if n_alpha:
                acc["a"].add_(gi * (syn0 if t == 0 else cur[t - 1]))
            gi_c = alpha * gi
            g_x[t] = gi
        else:
            g_x[t] = gbase
        if t > 0 or needs[1]:
            gs_c = rec.grad_input(g_x[t], spk0 if t == 0 else spk[t - 1])
    out: list[Tensor | None] = [g_x if needs[0] else None, gs_c if needs[1] else None,
                                gi_c if syn and needs[2] else None, gu_c if needs[3] else None]
    for key, p in zip("abtg", (alpha, beta, threshold, graded)):
        out.append(acc[key].sum_to_size(p.shape) if key in acc else None)
    gw, gb = rec.grad_params(g_x, spk0, spk) if needs[8] or needs[9] else (None, None)
    out += [gw if needs[8] else None, gb if needs[9] else None]
    return out

