"""The one autograd function that turns a shifted membrane into spikes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

if TYPE_CHECKING:
    from ._surrogates import Surrogate


class SpikeFn(torch.autograd.Function):
    """Heaviside step forward, surrogate derivative backward.

    Forward: ``S = H(U)`` with the strict inequality ``U > 0`` (a membrane exactly at threshold does
    not spike), returned in the dtype of ``U``. Backward: ``dL/dU = surrogate.vjp(U, S, dL/dS)``, the
    spikes ``S`` recomputed only for a surrogate whose ``vjp`` reads them (`Surrogate.reads_spikes`), else
    None: two element-wise operations fewer per step for the others.
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, surrogate: Surrogate) -> Tensor:
        ctx.save_for_backward(x)  # only U: the spikes are recomputed in backward where needed
        ctx.surrogate = surrogate
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor, None]:
        (x,) = ctx.saved_tensors
        s = ctx.surrogate
        if s.grad_overrides_vjp():  # a subclass's grad below a vjp that does not call it
            return grad_out * s.grad(x), None
        out = (x > 0).to(x.dtype) if s.reads_spikes() else None
        return s.vjp(x, out, grad_out), None


def heaviside_no_grad(x: Tensor) -> Tensor:
    """``H(x)`` (strict, ``x > 0``) in the dtype of ``x``, with no gradient (``surrogate_disable``)."""
    return (x > 0).to(x.dtype)
