"""How the fused ops are defined: ``torch.library`` custom operators where torch has them (2.4 and later),
else an equivalent ``torch.autograd.Function``.

As ``torch.ops.spikeforge.<name>`` an op has a fake (shape-only) implementation and a registered
autograd formula, so ``torch.compile(fullgraph=True)`` and ``torch.export`` trace it as one node (its
numba or triton kernel stays opaque to them). Torch 2.3 (the oldest supported) has no
``torch.library.custom_op``: the same implementation, context set-up and backward then run as an
autograd function, which eager mode treats the same way (compile and export are not supported there).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

#: whether ``torch.library.custom_op`` exists (torch >= 2.4)
HAS_CUSTOM_OP = hasattr(torch.library, "custom_op")


def define(name: str, schema: str, impl: Callable[..., Any], fake: Callable[..., Any],
           setup_context: Callable[..., None] | None = None,
           backward: Callable[..., Any] | None = None) -> Callable[..., Any]:
    """Define the op ``spikeforge::<name>`` and return the callable that runs it.

    Args:
        name: the op's name in the ``spikeforge`` namespace.
        schema: its argument and return types, e.g. ``"(Tensor x, bool flag) -> Tensor"``.
        impl: the real implementation (takes the schema's arguments positionally; returns fresh
            tensors, never views of its inputs).
        fake: what the op returns from fake (meta) tensors: same shapes, dtypes and devices, no data.
        setup_context: ``(ctx, inputs, output)`` saving what the backward needs (None: the op has no
            autograd formula, e.g. a backward op, which runs under no grad).
        backward: ``(ctx, *output_grads)`` giving one gradient (or None) per input.

    Returns:
        ``torch.ops.spikeforge.<name>`` where custom ops exist, else a function calling an autograd
        function (``setup_context`` given) or ``impl`` itself.
    """
    if HAS_CUSTOM_OP:
        op = torch.library.custom_op(f"spikeforge::{name}", mutates_args=(), schema=schema)(impl)
        op.register_fake(fake)
        if setup_context is not None:
            op.register_autograd(backward, setup_context=setup_context)
        return getattr(torch.ops.spikeforge, name)
    if setup_context is None:
        return impl
    assert backward is not None, "an op with a setup_context needs its backward"
    save, grad = setup_context, backward

    class Op(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, *args: Any) -> Any:  # noqa: D102
            out = impl(*args)
            save(ctx, args, out)
            return out

        @staticmethod
        def backward(ctx: Any, *grads: Any) -> Any:  # noqa: D102
            return grad(ctx, *grads)

    Op.__name__ = Op.__qualname__ = name

    def call(*args: Any) -> Any:
        return Op.apply(*args)

    return call
