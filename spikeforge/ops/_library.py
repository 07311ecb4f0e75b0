"""How the fused ops are defined: ``torch.library`` custom operators where torch has them (2.4 and later),
else an equivalent ``torch.autograd.Function``.

As ``torch.ops.spikeforge.<name>`` an op has a fake (shape-only) implementation and a registered
autograd formula, so ``torch.compile(fullgraph=True)`` and ``torch.export`` trace it as one node (its
numba or triton kernel stays opaque to them). Torch 2.3 (the oldest supported) has no
``torch.library.custom_op``: the same implementation, context set-up and backward then run as an
autograd function, which eager mode treats the same way (compile and export are not supported there).

In eager mode the ops run through that autograd function on newer torch too, and the registered
operator only where torch must see one node: under ``torch.compile``/``torch.export`` tracing, a
``torch.func`` transform, a ``TorchDispatchMode``, ``torch.jit.trace``, or with tensors that are not
plain (fake, meta, subclasses). Calling a custom operator in eager mode imports ``torch._dynamo`` on its
first call (its kernels are wrapped in ``torch._disable_dynamo``): about 140 MB of memory and 2 s that a
training run which never compiles would pay for nothing; and the operator's Python dispatch made a
forward and backward call about 0.2 ms slower (0.65 against 0.45 ms for a short ``Leaky`` sequence).
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
        A function running the op: through ``torch.ops.spikeforge.<name>`` where custom ops exist and
        `needs_operator` says so, else through an autograd function (``setup_context`` given, some input
        needing a gradient) or ``impl`` itself.
    """
    registered: Callable[..., Any] | None = None
    if HAS_CUSTOM_OP:
        op = torch.library.custom_op(f"spikeforge::{name}", mutates_args=(), schema=schema)(impl)
        op.register_fake(fake)
        if setup_context is not None:
            op.register_autograd(backward, setup_context=setup_context)
        registered = getattr(torch.ops.spikeforge, name)
    if setup_context is None:
        if registered is None:
            return impl
        op_ = registered

        def call_plain(*args: Any) -> Any:
            return op_(*args) if needs_operator(args) else impl(*args)

        call_plain.__name__ = call_plain.__qualname__ = name
        return call_plain
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
        if registered is not None and needs_operator(args):
            return registered(*args)
        if torch.is_grad_enabled() and any(isinstance(a, torch.Tensor) and a.requires_grad for a in args):
            return Op.apply(*args)
        return impl(*args)  # as the operator: no autograd node when nothing needs a gradient

    call.__name__ = call.__qualname__ = name
    return call


_PLAIN = (torch.Tensor, torch.nn.Parameter)


def needs_operator(args: tuple[Any, ...]) -> bool:
    """Whether a call with ``args`` must go through the registered operator rather than the eager
    autograd function: torch is tracing (``torch.compile``, ``torch.export``, ``torch.jit.trace``), a
    ``torch.func`` transform or a ``TorchDispatchMode`` is active, or a tensor argument is not a plain
    tensor in memory (a fake, meta or functional tensor, a subclass)."""
    if torch.compiler.is_compiling() or torch.jit.is_tracing():
        return True
    if torch._C._are_functorch_transforms_active() or torch._C._len_torch_dispatch_stack() > 0:
        return True
    return any(isinstance(a, torch.Tensor) and (type(a) not in _PLAIN or a.is_meta) for a in args)
