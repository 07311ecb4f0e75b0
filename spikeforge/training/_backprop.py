"""One-epoch training loops: backpropagation through time, truncated (every K steps), and RTRL (K=1).

Per batch: reset the hidden state of every neuron in the net, run the net step by step, and every K
steps stack the window's output spikes (or membranes, for membrane losses), compute the loss, take an
optimiser step and detach the hidden state of every neuron before the next window. The returned value
is the time-weighted mean loss per batch, averaged over batches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor, nn

from ..neurons._base import SpikingNeuron
from ..utils import reset
from ._losses import LossFunctions, ce_max_membrane_loss, mse_membrane_loss
from ._temporal import ce_temporal_loss, mse_temporal_loss

__all__ = ["BPTT", "TBPTT", "RTRL"]

_MEMBRANE_NAMES = {"mse_membrane_loss", "ce_max_membrane_loss"}
_SPIKE_NAMES = {
    "ce_rate_loss",
    "ce_count_loss",
    "mse_count_loss",
    "ce_latency_loss",
    "mse_temporal_loss",
    "ce_temporal_loss",
}


def _reads_membrane(criterion: Any) -> bool:
    """Whether ``criterion`` takes membrane potentials (else spikes): by class, then by snntorch name."""
    if isinstance(criterion, (mse_membrane_loss, ce_max_membrane_loss)):
        return True
    if isinstance(criterion, (LossFunctions, mse_temporal_loss, ce_temporal_loss)):
        return False
    name = getattr(criterion, "__name__", None)
    if name in _MEMBRANE_NAMES or name in _SPIKE_NAMES:
        return name in _MEMBRANE_NAMES
    raise TypeError(
        f"criterion must be a spikeforge.functional loss (or an snntorch one); got {type(criterion).__name__}"
    )


def _split(out: Any) -> tuple[Tensor, Tensor | None]:
    """``(spk, mem)`` from a net's per-step output: ``spk`` alone, or a tuple ``(spk, ..., mem)``."""
    if isinstance(out, Tensor):
        return out, None
    if isinstance(out, (tuple, list)) and out and all(isinstance(o, Tensor) for o in out):
        return out[0], out[-1] if len(out) > 1 else None
    raise TypeError(f"the net must return spk or a tuple (spk, ..., mem) per step, got {type(out).__name__}")


def _detach_all(net: nn.Module) -> None:
    for m in net.modules():
        if isinstance(m, SpikingNeuron):
            m.detach_hidden()


def _check(num_steps: Any, time_var: bool, time_first: bool, K: Any) -> None:
    if time_var and num_steps:
        raise ValueError("num_steps must not be given with time_var=True: time is the data's time dimension")
    if not time_var and not num_steps:
        raise ValueError("num_steps is required for static data (time_var=False)")
    if not time_var and not time_first:
        raise ValueError("time_first=False only applies to time-varying data (time_var=True)")
    if K is not False and K is not None and (isinstance(K, bool) or int(K) != K or K < 1):
        raise ValueError(f"K must be a positive int (or False for the whole sequence), got {K!r}")
    if num_steps and K and K > num_steps:
        raise ValueError(f"K ({K}) must not exceed num_steps ({num_steps})")


def TBPTT(
    net: nn.Module,
    dataloader: Iterable[tuple[Tensor, Tensor]],
    optimizer: torch.optim.Optimizer,
    criterion: Callable[[Tensor, Tensor], Tensor],
    num_steps: int | bool = False,
    time_var: bool = True,
    time_first: bool = True,
    regularization: Callable[[Tensor], Tensor] | bool = False,
    device: str | torch.device = "cpu",
    K: int | bool = 1,
) -> Tensor:
    """Train ``net`` for one epoch with truncated backpropagation through time (an update every K steps).

    Args:
        net: a module whose forward takes one step ``[B, ...]`` and returns ``spk`` or a tuple
            ``(spk, ..., mem)`` (e.g. a ``nn.Sequential`` ending with a neuron with ``init_hidden=True``
            and ``output=True``).
        dataloader: yields ``(data, targets)``; ``data`` is ``[T, B, ...]`` (``[B, T, ...]`` with
            ``time_first=False``) for time-varying data, or static ``[B, ...]`` fed at every step.
        optimizer: any torch optimiser over the net's parameters.
        criterion: a ``spikeforge.functional`` loss (membrane losses get the membranes ``[K, B, C]``, the
            others the spikes); per-step membrane labels ``[T, B]`` are sliced per window.
        num_steps: number of steps for static data (``time_var=False``); not given otherwise.
        regularization: optional callable on the window's spikes (e.g. ``l1_rate_sparsity()``).
        device: where data and targets are moved.
        K: window length; ``False`` means the whole sequence. The last window may be shorter.

    Returns:
        tensor shaped like the criterion's loss (snntorch's rule: (1,) for ``ce_rate_loss``, 0-d for most):
        per batch, ``sum_windows loss / (T / window_length)``; averaged over batches.

    Raises:
        ValueError: inconsistent ``num_steps``/``time_var``/``time_first``/``K``, or an empty dataloader.
        TypeError: unknown criterion, or a net output that is not ``spk`` / ``(spk, ..., mem)``.
    """
    _check(num_steps, time_var, time_first, K)
    membrane = _reads_membrane(criterion)
    total: Tensor | None = None  # one running sum over every window of every batch, as snntorch's
    batches = 0
    for data, targets in dataloader:
        net.train()
        data, targets = data.to(device), targets.to(device)
        xs = (data if time_first else data.transpose(0, 1)).unbind(0) if time_var else None
        steps = len(xs) if xs is not None else int(num_steps)
        window = int(K) if K else steps
        if window > steps:
            raise ValueError(f"K ({window}) must not exceed the number of time steps ({steps})")
        reset(net)
        spks: list[Tensor] = []
        mems: list[Tensor] = []
        for step in range(steps):
            spk, mem = _split(net(xs[step] if xs is not None else data))
            spks.append(spk)
            if membrane:
                if mem is None:
                    raise TypeError("a membrane loss needs the net to return (spk, ..., mem) per step")
                mems.append(mem)
            if len(spks) == window or step == steps - 1:
                start = step + 1 - len(spks)
                y = targets[start : step + 1] if membrane and targets.dim() == 2 else targets
                loss = criterion(torch.stack(mems if membrane else spks), y)
                if regularization:
                    loss = loss + regularization(torch.stack(spks))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                _detach_all(net)
                # weighted by the window's share of the sequence, in snntorch's order of operations
                term = loss.detach() / (steps / len(spks))
                total = term if total is None else total + term
                spks, mems = [], []
        batches += 1
    if not batches:
        raise ValueError("dataloader yielded no batch")
    return (torch.zeros(()) if total is None else total) / batches


def BPTT(
    net: nn.Module,
    dataloader: Iterable[tuple[Tensor, Tensor]],
    optimizer: torch.optim.Optimizer,
    criterion: Callable[[Tensor, Tensor], Tensor],
    num_steps: int | bool = False,
    time_var: bool = True,
    time_first: bool = True,
    regularization: Callable[[Tensor], Tensor] | bool = False,
    device: str | torch.device = "cpu",
) -> Tensor:
    """One epoch of full backpropagation through time: `TBPTT` with one window per sequence."""
    return TBPTT(
        net,
        dataloader,
        optimizer,
        criterion,
        num_steps,
        time_var,
        time_first,
        regularization,
        device,
        K=False,
    )


def RTRL(
    net: nn.Module,
    dataloader: Iterable[tuple[Tensor, Tensor]],
    optimizer: torch.optim.Optimizer,
    criterion: Callable[[Tensor, Tensor], Tensor],
    num_steps: int | bool = False,
    time_var: bool = True,
    time_first: bool = True,
    regularization: Callable[[Tensor], Tensor] | bool = False,
    device: str | torch.device = "cpu",
) -> Tensor:
    """One epoch of online learning with an update every step: `TBPTT` with ``K=1``.

    As in snntorch, this is truncated BPTT with a window of one step (the gradient does not flow
    through the detached hidden state), not exact real-time recurrent learning.
    """
    return TBPTT(
        net, dataloader, optimizer, criterion, num_steps, time_var, time_first, regularization, device, K=1
    )
