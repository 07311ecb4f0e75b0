"""How fused kernels see a firing configuration: surrogate id and hyper-parameters, and whether they fit.

Surrogate ids are the ``kernel_id`` of `spikeforge.surrogate` classes; ``NO_GRAD`` (-1) stands for
``surrogate.heaviside_no_grad`` (``surrogate_disable=True``): spikes with a zero gradient.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from ..core import SUBTRACT, Firing
from ..surrogate import Surrogate, heaviside_no_grad

NO_GRAD = -1
#: surrogate ids the kernels implement (see ``surrogate_grad`` in ``ops/lif/cpu.py`` and the triton twin)
KERNEL_IDS = frozenset({NO_GRAD, 0, 1, 2, 3, 4, 5, 6, 7, 8})


def surrogate_spec(spike_fn: Any) -> tuple[int, float, float] | None:
    """``(kernel_id, p1, p2)`` for a spike function a kernel can apply, else None."""
    if spike_fn is heaviside_no_grad:
        return (NO_GRAD, 0.0, 0.0)
    if not isinstance(spike_fn, Surrogate):
        return None
    kid = type(spike_fn).kernel_formula()
    if kid is None or kid not in KERNEL_IDS:
        return None
    hyper = tuple(float(v) for v in spike_fn.kernel_params()) + (0.0, 0.0)
    return (kid, hyper[0], hyper[1])


def plain_firing(firing: Firing) -> bool:
    """True when the firing configuration has nothing a kernel cannot do (no quantiser, no inhibition)."""
    if firing.state_quant is not None or firing.inhibition:
        return False
    return surrogate_spec(firing.spike_fn) is not None


def tensors_fit(xs: Tensor, states: tuple[Tensor, ...], params: tuple[Tensor, ...]) -> bool:
    """True when states have ``xs``'s shape, dtype and device and params broadcast to a state.

    A parameter may also be float32 under a float64 input (the step functions promote it exactly).
    """
    if xs.dtype not in (torch.float32, torch.float64) or xs.dim() < 2:
        return False
    shape = xs.shape[1:]
    for s in states:
        if not isinstance(s, Tensor) or s.shape != shape or s.dtype != xs.dtype or s.device != xs.device:
            return False
    for p in params:
        if not isinstance(p, Tensor) or p.device != xs.device:
            return False
        if p.dtype != xs.dtype and not (p.dtype == torch.float32 and xs.dtype == torch.float64):
            return False
        if not broadcasts_to(p.shape, shape):
            return False
    return True


def broadcasts_to(p: Sequence[int], shape: Sequence[int]) -> bool:
    """True when a tensor of shape ``p`` broadcasts to ``shape`` without widening it (not
    ``torch.broadcast_shapes``: through torch._refs, 40 us a call)."""
    return len(p) <= len(shape) and all(a == 1 or a == b for a, b in zip(reversed(p), reversed(shape)))


def threshold_unused(sid: int, reset: int, spike_grads: bool = True) -> bool:
    """True when nothing differentiates the threshold: no gradient through the spikes (a ``NO_GRAD``
    surrogate, or ``spike_grads`` False: none reaches the spike output and the spikes feed nothing
    else, no recurrence and no immediate reset) and a reset other than subtract (code 0), which is the
    only one that writes ``R * theta`` into the state.

    The fused ops then return None as its gradient, as the step loop's graph (and snntorch) leaves it:
    a zero would let an optimiser's weight decay move a threshold that nothing trains.
    """
    return (sid == NO_GRAD or not spike_grads) and reset != SUBTRACT


def gradient_paths(sid: int, reset: int, spike_in: bool, mem_in: bool, cur_in: bool, feedback: bool,
                   immediate: bool) -> tuple[bool, bool, bool, bool]:
    """Which inputs of a fused LIF-family sequence a gradient reaches, as in the step loop's graph:
    ``(states, membrane, threshold, graded)``. ``states`` False: only spikes without a surrogate are
    read, and nothing but the graded factor (when ``spike_in``) has a path. ``membrane``: beta's (from
    the membrane's own outputs, or from the spikes' when they carry a gradient); ``threshold``; ``graded``:
    the factor's, through the spikes (from the loss, from ``feedback``, the spikes feeding a later step,
    or from an immediate reset of a reached membrane). The ops give None where a path is missing: a zero
    would let weight decay or momentum move a parameter nothing trains.

    ``spike_in``, ``mem_in``, ``cur_in``: a gradient enters the spike, membrane, current outputs."""
    if sid == NO_GRAD and not (mem_in or cur_in):
        return False, False, False, spike_in
    mem = mem_in or (sid != NO_GRAD and (spike_in or feedback))
    spikes = spike_in or feedback or (immediate and mem)
    return True, mem, mem and not threshold_unused(sid, reset, spikes), spikes
