"""Whether calling a module would run hooks: code that computes a module's result without calling it (a
fused operator, a mask-keeping replacement, a different split of the frames) must not skip them."""

from __future__ import annotations

from torch import nn


def hooked(module: nn.Module, backward: bool = False) -> bool:
    """True when calling ``module`` would run forward hooks (its own or global ones) or, with
    ``backward``, backward hooks too."""
    mod = nn.modules.module
    names = ["_forward_hooks", "_forward_pre_hooks"]
    if backward:
        names += ["_backward_hooks", "_backward_pre_hooks"]
    return any(getattr(module, n, None) or getattr(mod, "_global" + n, None) for n in names)
