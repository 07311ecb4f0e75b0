"""Rate and membrane losses on time-major output recordings ``[T, B, C]`` with class labels ``[B]``.

Weighting (``weight`` = one value per class): each sample's loss is multiplied by ``weight[y_b]``;
``reduction='mean'`` then takes the plain mean of the weighted terms (snntorch's rule, not torch's
``sum(w * l) / sum(w)``). ``'mean'`` and ``'sum'`` return 0-d tensors, except the unweighted
``ce_rate_loss`` and ``mse_membrane_loss``, which return shape ``(1,)`` as snntorch 1.0.0 does; ``'none'``
returns ``[B]`` (cross entropy) or ``[B, C]`` (squared error).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ..encoding._checks import class_indices
from ..encoding._targets import _on_off, to_one_hot
from ..metrics._readout import check_not_empty, check_outputs, fractional_labels, population_sum

__all__ = [
    "LossFunctions",
    "ce_rate_loss",
    "ce_count_loss",
    "ce_max_membrane_loss",
    "mse_count_loss",
    "mse_membrane_loss",
]

REDUCTIONS = ("mean", "sum", "none")


def apply_reduction(loss: Tensor, reduction: str) -> Tensor:
    """``loss.mean()``, ``loss.sum()`` or ``loss`` itself for ``'mean'``, ``'sum'``, ``'none'``."""
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


class LossFunctions:
    """Base of the class-label losses: holds ``reduction`` and ``weight`` and applies them.

    Args:
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
        weight: optional per-class weights ``[C]`` (tensor or sequence), or ``None``.

    Raises:
        ValueError: unknown reduction.
    """

    membrane = False  # whether the loss reads membrane potentials rather than spikes
    truncates_fractional_labels = False  # snntorch's squared-error losses cast labels to int
    #: the unweighted 'mean'/'sum' loss has shape (1,), as snntorch 1.0.0 returns it for these losses
    #: (weighted and 'none' keep torch's shapes)
    one_element_vector = False

    def __init__(self, reduction: str = "mean", weight: Any = None) -> None:
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
        self.reduction = reduction
        self.weight = weight
        self.__name__ = type(self).__name__

    def __call__(self, spk_out: Tensor, targets: Tensor) -> Tensor:
        out, y = check_outputs(spk_out, self._labels(targets), self._out_name(), self._classes())
        if self.weight is None and self.reduction != "none":
            reduced = self._reduced_loss(out, y)
            if reduced is not None:
                return reduced.reshape(1) if self.one_element_vector else reduced
        return self._reduce(self._compute_loss(out, y), y)

    def _labels(self, targets: Any) -> Any:
        """The class labels; the squared-error losses truncate fractional float labels towards zero
        with a warning, as snntorch does (its cross-entropy losses refuse them, and so do these)."""
        if not self.truncates_fractional_labels:
            return targets
        return fractional_labels(targets, type(self).__name__, "are truncated towards zero", stacklevel=4)[0]

    def _reduced_loss(self, out: Tensor, y: Tensor) -> Tensor | None:
        """The unweighted ``'mean'``/``'sum'`` loss computed in snntorch's order of operations, so the
        float rounding (and the numbers a training loop prints) are snntorch's; ``None`` where the
        generic path already rounds the same."""
        return None

    def _out_name(self) -> str:
        return "mem_out" if self.membrane else "spk_out"

    def _classes(self) -> int | None:
        """Number of classes when it differs from the number of outputs (population code)."""
        return None

    def _compute_loss(self, out: Tensor, targets: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _weights(self, y: Tensor, like: Tensor) -> Tensor:
        """``weight[y]`` (ones without weights), in ``like``'s dtype and device."""
        if self.weight is None:
            return torch.ones(y.shape, dtype=like.dtype, device=like.device)
        w = torch.as_tensor(self.weight, dtype=like.dtype, device=like.device)
        if w.dim() != 1 or w.numel() <= int(y.max()):
            raise ValueError(f"weight must be 1-D with one entry per class, got shape {tuple(w.shape)}")
        return w[y]

    def _reduce(self, loss: Tensor, y: Tensor) -> Tensor:
        """Weight each sample (the first dim of ``loss`` is the batch), then reduce."""
        w = self._weights(y, loss)
        return self._apply_reduction(loss * w.reshape(-1, *([1] * (loss.dim() - 1))))

    def _apply_reduction(self, loss: Tensor) -> Tensor:
        return apply_reduction(loss, self.reduction)


class _PopulationLoss(LossFunctions):
    """A spike loss that can group its ``C`` outputs into ``num_classes`` populations
    (``population_code=True``)."""

    def __init__(
        self,
        population_code: bool = False,
        num_classes: int | bool = False,
        reduction: str = "mean",
        weight: Any = None,
    ) -> None:
        super().__init__(reduction, weight)
        self.population_code = population_code
        self.num_classes = num_classes

    def _classes(self) -> int | None:
        return int(self.num_classes) if self.population_code and self.num_classes else None

    def _logits(self, x: Tensor) -> Tensor:
        """Group outputs per class when ``population_code`` is set."""
        if self.population_code:
            return population_sum(x, self.num_classes)
        return x


class ce_rate_loss(_PopulationLoss):
    """Cross entropy at every step, averaged over time: ``(1/T) sum_t CE(spk[t], y)``.

    With ``population_code`` the logits at each step are the spike sums of each class's group of
    ``C / num_classes`` outputs. Input ``[T, B, C]`` spikes, ``[B]`` labels.
    """

    one_element_vector = True

    def _compute_loss(self, spk: Tensor, y: Tensor) -> Tensor:
        return self._stepwise(spk, y, "none", weighted=True)

    def _reduce(self, loss: Tensor, y: Tensor) -> Tensor:
        return self._apply_reduction(loss)  # already weighted at every step

    def _reduced_loss(self, spk: Tensor, y: Tensor) -> Tensor:
        return self._stepwise(spk, y, self.reduction)

    def _stepwise(self, spk: Tensor, y: Tensor, reduction: str, weighted: bool = False) -> Tensor:
        """``(1/T) sum_t NLL(log_softmax(logits[t]), y)``, summed step by step as snntorch does; with
        ``weighted`` each step's per-sample loss is multiplied by ``weight[y]`` before the sum (snntorch's
        order, so the rounding is the same)."""
        log_p = F.log_softmax(self._logits(spk), dim=-1)
        w = self._weights(y, log_p) if weighted else None

        def step_loss(step: int) -> Tensor:
            loss = F.nll_loss(log_p[step], y, reduction=reduction)
            return loss if w is None else loss * w

        loss = step_loss(0)
        for step in range(1, log_p.shape[0]):
            loss = loss + step_loss(step)
        return loss / log_p.shape[0]


class ce_count_loss(_PopulationLoss):
    """Cross entropy of the spike counts: ``CE(sum_t spk[t], y)`` (population groups summed if set)."""

    def _compute_loss(self, spk: Tensor, y: Tensor) -> Tensor:
        return F.cross_entropy(self._logits(spk.sum(0)), y, reduction="none")

    def _reduced_loss(self, spk: Tensor, y: Tensor) -> Tensor:
        return F.nll_loss(F.log_softmax(self._logits(spk.sum(0)), dim=-1), y, reduction=self.reduction)


class ce_max_membrane_loss(LossFunctions):
    """Cross entropy of the peak membrane potential over time: ``CE(max_t mem[t], y)`` (SpyTorch)."""

    membrane = True

    def _compute_loss(self, mem: Tensor, y: Tensor) -> Tensor:
        return F.cross_entropy(mem.max(0).values, y, reduction="none")

    def _reduced_loss(self, mem: Tensor, y: Tensor) -> Tensor:
        return F.nll_loss(F.log_softmax(mem.max(0).values, dim=-1), y, reduction=self.reduction)


class mse_count_loss(_PopulationLoss):
    """Squared error of spike counts against target counts, divided by ``T`` (SLAYER-style).

    Target count: ``int(T * correct_rate)`` for the true class, ``int(T * incorrect_rate)`` otherwise
    (times ``C / num_classes`` per group with ``population_code``). ``'none'`` gives ``[B, C]``.
    Fractional float labels are truncated towards zero, with a warning (as snntorch does).
    """

    truncates_fractional_labels = True

    def __init__(
        self,
        correct_rate: float = 1,
        incorrect_rate: float = 0,
        population_code: bool = False,
        num_classes: int | bool = False,
        reduction: str = "mean",
        weight: Any = None,
    ) -> None:
        super().__init__(population_code, num_classes, reduction, weight)
        self.correct_rate = correct_rate
        self.incorrect_rate = incorrect_rate

    def _compute_loss(self, spk: Tensor, y: Tensor) -> Tensor:
        return F.mse_loss(*self._counts_and_targets(spk, y), reduction="none") / spk.shape[0]

    def _reduced_loss(self, spk: Tensor, y: Tensor) -> Tensor:
        return F.mse_loss(*self._counts_and_targets(spk, y), reduction=self.reduction) / spk.shape[0]

    def _counts_and_targets(self, spk: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """Spike counts ``[B, C]`` (population groups summed if set) and their target counts."""
        t, _, c = spk.shape
        counts = self._logits(spk.sum(0))
        per_group = c // counts.shape[-1]
        hot = to_one_hot(y, counts.shape[-1]).to(counts.dtype)
        on, off = int(t * self.correct_rate * per_group), int(t * self.incorrect_rate * per_group)
        return counts, _on_off(hot, on, off)


class mse_membrane_loss(LossFunctions):
    """Squared error of the membrane against ``on_target`` (true class) / ``off_target``, averaged over time.

    ``(1/T) sum_t MSE(mem[t], target)``. With ``time_var_targets=True`` the labels are per step,
    ``[T, B]``. ``'none'`` gives ``[B, C]``. Fractional float labels are truncated towards zero, with
    a warning (as snntorch does).
    """

    membrane = True
    truncates_fractional_labels = True
    one_element_vector = True

    def __init__(
        self,
        time_var_targets: bool = False,
        on_target: float = 1,
        off_target: float = 0,
        reduction: str = "mean",
        weight: Any = None,
    ) -> None:
        super().__init__(reduction, weight)
        self.time_var_targets = time_var_targets
        self.on_target = on_target
        self.off_target = off_target

    def __call__(self, mem_out: Tensor, targets: Tensor) -> Tensor:
        if not self.time_var_targets:
            return super().__call__(mem_out, targets)
        labels = torch.as_tensor(self._labels(targets), device=getattr(mem_out, "device", None))
        if not isinstance(mem_out, Tensor) or mem_out.dim() != 3 or labels.shape != mem_out.shape[:2]:
            raise ValueError(
                "time_var_targets=True needs mem_out [T, B, C] and per-step labels [T, B]; got "
                f"{tuple(getattr(mem_out, 'shape', ()))} and {tuple(labels.shape)}"
            )
        check_not_empty(mem_out, "mem_out")
        y = class_indices(labels.reshape(-1), mem_out.shape[-1]).reshape(labels.shape)
        hot = F.one_hot(y, mem_out.shape[-1]).to(mem_out.dtype)
        sq = (mem_out - _on_off(hot, self.on_target, self.off_target)) ** 2
        return self._apply_reduction((sq * self._weights(y, sq).unsqueeze(-1)).mean(0))

    def _compute_loss(self, mem: Tensor, y: Tensor) -> Tensor:
        return self._stepwise(mem, y, "none")

    def _reduced_loss(self, mem: Tensor, y: Tensor) -> Tensor:
        return self._stepwise(mem, y, self.reduction)

    def _stepwise(self, mem: Tensor, y: Tensor, reduction: str) -> Tensor:
        """``(1/T) sum_t MSE(mem[t], target)``, summed step by step as snntorch does."""
        hot = to_one_hot(y, mem.shape[-1]).to(mem.dtype)
        target = _on_off(hot, self.on_target, self.off_target)
        loss = F.mse_loss(mem[0], target, reduction=reduction)
        for step in range(1, mem.shape[0]):
            loss = loss + F.mse_loss(mem[step], target, reduction=reduction)
        return loss / mem.shape[0]
