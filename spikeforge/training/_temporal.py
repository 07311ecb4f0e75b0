"""Spike-timing losses: first-spike (or F-th spike) times against target times (or labels)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..encoding._targets import _on_off, to_one_hot
from ..metrics._readout import check_not_empty, check_outputs, fractional_labels
from ._losses import REDUCTIONS, apply_reduction

__all__ = ["SpikeTime", "mse_temporal_loss", "ce_temporal_loss"]


def _nth_spike_index(spk: Tensor, count: int) -> Tensor:
    """Step of the 1st..``count``-th spike per ``[B, C]`` entry (``T - 1`` if missing): ``[count, B, C]``."""
    fired = spk.detach() != 0
    rank = fired.long().cumsum(0) * fired  # k at the k-th spike, 0 elsewhere
    t = spk.shape[0]
    out = []
    for k in range(1, count + 1):
        hit = rank == k
        out.append(torch.where(hit.any(0), hit.to(torch.uint8).argmax(0), torch.full_like(rank[0], t - 1)))
    return torch.stack(out)


class _SpikeIndexTime(torch.autograd.Function):
    """Forward: the spike steps above as floats. Backward: ``-grad`` placed on the spike's step (sign
    estimator: firing earlier lowers the time)."""

    @staticmethod
    def forward(ctx: Any, spk: Tensor, count: int) -> Tensor:
        idx = _nth_spike_index(spk, count)
        ctx.save_for_backward(idx)
        ctx.t = spk.shape[0]
        return idx.to(spk.dtype)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        (idx,) = ctx.saved_tensors
        out = torch.zeros((ctx.t, *idx.shape[1:]), dtype=grad.dtype, device=grad.device)
        return out.scatter_add(0, idx, -grad), None


class _SnapTo(torch.autograd.Function):
    """Replace times within ``tolerance`` of the target by the target; gradient passes straight through."""

    @staticmethod
    def forward(ctx: Any, t: Tensor, target: Tensor, tolerance: float) -> Tensor:
        return torch.where((t - target).abs() < tolerance, target.to(t.dtype), t)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None]:
        return grad, None, None


def _times(value: Any, name: str) -> Tensor:
    """``on_target``/``off_target``: one time or a sequence of times, as a 1-D float64 tensor."""
    try:
        t = torch.as_tensor(value.detach().cpu() if isinstance(value, Tensor) else value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f"{name} must be a time step or a sequence of time steps, got {value!r}") from err
    if t.dim() > 1 or t.numel() == 0:
        raise ValueError(
            f"{name} must be a time step or a 1-D sequence of time steps, got shape {tuple(t.shape)}"
        )
    return t.reshape(-1)


class SpikeTime(nn.Module):
    """Spike times of ``[T, B, C]`` outputs and the matching target times.

    Targets are labels ``[B]`` turned into times (``on_target`` for the true class, ``off_target`` for
    the others; negative times count from the end, ``-1`` = last step), or, with ``target_is_time``,
    times ``[B, C]`` (``[F, B, C]`` with ``multi_spike``) given directly (never modified in place).
    ``on_target``/``off_target`` may each be one time or F times (a sequence, numpy array or 1-D tensor,
    the same F for both): with several times per class, or with ``multi_spike``, the first F spikes of
    each output are compared with them in order (snntorch's docstring passes two-element tensors without
    ``multi_spike``; snntorch 1.0.0 then fails, and tensors with ``multi_spike`` it accepts). Silent
    outputs, and missing later spikes, count as firing at ``T - 1``.

    Returns from ``forward``: ``(spike_times, target_times)``, both ``[B, C]`` (one target time per class)
    or ``[F, B, C]``, in the spikes' float dtype; the spike times carry a sign-estimator gradient.

    Raises:
        ValueError: label targets whose ``on_target`` and ``off_target`` are empty, not numbers, or hold
            different numbers of times; outputs or target times of the wrong shape.
    """

    def __init__(
        self,
        target_is_time: bool = False,
        on_target: Any = 0,
        off_target: Any = -1,
        tolerance: float = 0,
        multi_spike: bool = False,
    ) -> None:
        super().__init__()
        self.target_is_time = target_is_time
        self.on_target = on_target
        self.off_target = off_target
        self.tolerance = tolerance
        self.multi_spike = multi_spike
        if not target_is_time:
            self._label_times()

    def _label_times(self) -> tuple[Tensor, Tensor]:
        """The on and off target times, each ``[F]`` (``F = 1``: one time per class)."""
        on, off = _times(self.on_target, "on_target"), _times(self.off_target, "off_target")
        if on.numel() != off.numel():
            raise ValueError(
                f"on_target and off_target must hold the same number of spike times, got {on.numel()} "
                f"and {off.numel()}"
            )
        return on, off

    def forward(self, spk_out: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
        if self.target_is_time:
            if not isinstance(spk_out, Tensor) or spk_out.dim() != 3:
                raise ValueError(f"spk_out must be [T, B, C], got {tuple(getattr(spk_out, 'shape', ()))}")
            check_not_empty(spk_out)
            spk = spk_out
            tgt = torch.as_tensor(targets, device=spk.device).to(spk.dtype)
            want = spk.shape[1:] if not self.multi_spike else (tgt.shape[0], *spk.shape[1:])
            if tgt.shape != torch.Size(want):
                raise ValueError(f"target times must have shape {tuple(want)}, got {tuple(tgt.shape)}")
        else:
            spk, y = check_outputs(spk_out, targets)
            hot = to_one_hot(y, spk.shape[-1]).to(spk.dtype)
            on, off = self._label_times()
            tgt = torch.stack([_on_off(hot, float(a), float(b)) for a, b in zip(on, off)])
            if on.numel() == 1 and not self.multi_spike:
                tgt = tgt[0]
        tgt = torch.where(tgt < 0, tgt + spk.shape[0], tgt)
        several = tgt.dim() == 3 if not self.target_is_time else self.multi_spike
        times = _SpikeIndexTime.apply(spk, tgt.shape[0] if several else 1)
        times = times if several else times[0]
        if self.tolerance:
            times = _SnapTo.apply(times, tgt, self.tolerance)
        return times, tgt


class mse_temporal_loss:
    """Squared error of spike times and target times, both divided by ``T``.

    See `SpikeTime` for the arguments. Defaults (``on_target=0, off_target=-1``): the true class
    should fire at step 0 and the others at the last step. ``weight`` scales each sample by
    ``weight[label]`` (needs labels); ``'mean'`` is then the plain mean of the weighted terms.
    """

    membrane = False

    def __init__(
        self,
        target_is_time: bool = False,
        on_target: Any = 0,
        off_target: Any = -1,
        tolerance: float = 0,
        multi_spike: bool = False,
        reduction: str = "mean",
        weight: Any = None,
    ) -> None:
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
        if weight is not None and target_is_time:
            raise ValueError("weight needs class labels; it cannot be used with target_is_time=True")
        self.reduction = reduction
        self.weight = weight
        self.spk_time_fn = SpikeTime(target_is_time, on_target, off_target, tolerance, multi_spike)
        self.__name__ = "mse_temporal_loss"

    def __call__(self, spk_rec: Tensor, targets: Tensor) -> Tensor:
        if not self.spk_time_fn.target_is_time:  # labels: fractional ones truncated, as snntorch does
            targets = fractional_labels(targets, "mse_temporal_loss", "are truncated towards zero")[0]
        times, tgt = self.spk_time_fn(spk_rec, targets)
        t = spk_rec.shape[0]
        loss = (times / t - tgt / t) ** 2
        if self.weight is not None:
            y = torch.as_tensor(targets, device=loss.device).long()
            w = torch.as_tensor(self.weight, dtype=loss.dtype, device=loss.device)[y]
            loss = loss * w.unsqueeze(-1)
        return apply_reduction(loss, self.reduction)


class ce_temporal_loss:
    """Cross entropy on spike times turned into scores: ``-t`` (``inverse='negate'``) or ``1/(t+1)``
    (``'reciprocal'``); the earliest-firing output should be the label. ``weight`` is passed to
    ``torch.nn.functional.cross_entropy`` (torch's weighted mean), as snntorch does.
    """

    membrane = False

    def __init__(self, inverse: str = "negate", reduction: str = "mean", weight: Any = None) -> None:
        if inverse not in ("negate", "reciprocal"):
            raise ValueError(f"inverse must be 'negate' or 'reciprocal', got {inverse!r}")
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
        self.inverse = inverse
        self.reduction = reduction
        self.weight = weight
        self.spk_time_fn = SpikeTime(target_is_time=False)
        self.__name__ = "ce_temporal_loss"

    def __call__(self, spk_rec: Tensor, targets: Tensor) -> Tensor:
        times, _ = self.spk_time_fn(spk_rec, targets)
        score = -times if self.inverse == "negate" else 1 / (times + 1)
        w = (
            None
            if self.weight is None
            else torch.as_tensor(self.weight, dtype=score.dtype, device=score.device)
        )
        y = torch.as_tensor(targets, device=score.device).long()
        return F.cross_entropy(score, y, weight=w, reduction=self.reduction)
