"""Training utilities (``snntorch.utils`` compatible): hidden-state reset and data-set helpers."""

from __future__ import annotations

from torch import nn

from .neurons._base import SpikingNeuron

__all__ = ["reset"]


def reset(net: nn.Module) -> nn.Module:
    """Zero and detach the hidden state of every spiking neuron reachable from ``net``.

    Walks ``net.modules()`` (nested containers included; ``net`` itself too) and touches nothing
    else: neurons of other networks keep their state (snntorch 1.0.0 resets every instance of the
    flagged classes everywhere and misses nested ones).

    Args:
        net: any module (a neuron, ``nn.Sequential``, a custom network).

    Returns:
        ``net``, for chaining.

    Raises:
        TypeError: if ``net`` is not an ``nn.Module``.
    """
    if not isinstance(net, nn.Module):
        raise TypeError(f"net must be a torch.nn.Module, got {type(net).__name__}")
    for m in net.modules():
        if isinstance(m, SpikingNeuron):
            m.reset_hidden()
            m.detach_hidden()
        elif hasattr(m, "reset_state") and callable(m.reset_state):
            m.reset_state()
    return net
