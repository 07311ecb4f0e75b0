"""Fused whole-sequence kernels, registered with `spikeforge.runner.register_kernel`.

Importing this package registers a kernel for ``leaky_step``, ``synaptic_step``, ``lapicque_step``,
``alpha_step``, and ``rleaky_step``/``rsynaptic_step`` with the element-wise recurrence
(`spikeforge.core.OneToOne`, ``all_to_all=False``; a Linear/Conv2d recurrence has its own op,
`spikeforge.ops.recurrent`; ``slstm_step`` without a reset is ``torch.lstm``, `spikeforge.ops.lstm`).
A kernel fits when the surrogate has a ``kernel_id`` (or is ``heaviside_no_grad``), no
``state_quant`` or ``inhibition`` is set, states and parameters share the input's dtype and device
(float32 parameters under a float64 input are promoted, as the step functions do) and a backend exists:
compiled C kernels on CPU tensors (`spikeforge.ops._native`; numba where they were not built), triton
on CUDA tensors (and on CPU tensors under ``TRITON_INTERPRET=1``, which is how the triton kernels are
tested without a GPU). Otherwise the runner falls back to the step loop.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from typing import Any

from torch import Tensor

from ..core import (
    Firing,
    OneToOne,
    alpha_step,
    lapicque_step,
    leaky_step,
    rleaky_step,
    rsynaptic_step,
    synaptic_step,
)
from ..runner import register_kernel
from . import _native, lstm, recurrent  # noqa: F401 - register the SLSTM and dense RLeaky/RSynaptic kernels
from ._surrogate_ids import plain_firing, tensors_fit
from .alpha import run_alpha
from .lif import run_lapicque, run_leaky, run_rleaky, run_rsynaptic, run_synaptic

__all__ = ["backend_for"]


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


_HAS_NUMBA = _has("numba")
_HAS_TRITON = _has("triton")


def backend_for(xs: Tensor) -> str | None:
    """``"triton"`` for CUDA tensors (or CPU ones under ``TRITON_INTERPRET=1``), ``"cpu"`` (the compiled
    kernels of `spikeforge.ops._native`, else numba) for CPU tensors, None when the needed library is
    missing."""
    if xs.is_cuda:
        return "triton" if _HAS_TRITON else None
    if xs.device.type != "cpu":
        return None
    if os.environ.get("TRITON_INTERPRET") == "1" and _HAS_TRITON:
        return "triton"
    return "cpu" if _HAS_NUMBA or _native.lib is not None else None


Fields = Callable[[Any], tuple[Tensor, ...]]


def _fits(state_fields: Fields, param_fields: Fields) -> Callable[..., bool]:
    def fits(xs: Tensor, state: Any, params: Any, firing: Firing) -> bool:
        return (
            plain_firing(firing)
            and tensors_fit(xs, state_fields(state), param_fields(params))
            and backend_for(xs) is not None
        )

    return fits


def _one_to_one(params: Any) -> tuple[Tensor, ...]:
    """``(V,)`` of an element-wise recurrence; a placeholder that never fits for any other map."""
    rec = params.recurrent
    return (rec.V,) if isinstance(rec, OneToOne) else (None,)


register_kernel(
    leaky_step, _fits(lambda s: (s.mem,), lambda p: (p.beta, p.threshold, p.graded)), run_leaky
)
register_kernel(
    synaptic_step,
    _fits(lambda s: (s.syn, s.mem), lambda p: (p.alpha, p.beta, p.threshold, p.graded)),
    run_synaptic,
)
register_kernel(
    lapicque_step,
    _fits(lambda s: (s.mem,), lambda p: (p.R, p.C, p.time_step, p.threshold, p.graded)),
    run_lapicque,
)
register_kernel(
    alpha_step,
    _fits(lambda s: tuple(s), lambda p: (p.alpha, p.beta, p.threshold, p.graded)),
    run_alpha,
)
register_kernel(
    rleaky_step,
    _fits(lambda s: tuple(s), lambda p: (p.beta, p.threshold, p.graded, *_one_to_one(p))),
    run_rleaky,
)
register_kernel(
    rsynaptic_step,
    _fits(lambda s: tuple(s), lambda p: (p.alpha, p.beta, p.threshold, p.graded, *_one_to_one(p))),
    run_rsynaptic,
)
