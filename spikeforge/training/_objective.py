"""What ``spikeforge train --loss NAME`` optimises and how it reads a class out of the output layer
(also the per-layer and per-class metric helpers of `spikeforge.training.trainer.run_epoch`).

Each loss comes with the readout its training makes meaningful, used for the accuracy, the confusion
matrix and ``spikeforge predict``:

| ``--loss`` | library loss (`spikeforge.functional`) | readout: predicted class = argmax of |
| --- | --- | --- |
| ``ce_rate`` (default) | ``ce_rate_loss()`` on the output spikes | spike counts |
| ``ce_count`` | ``ce_count_loss()`` on the output spikes | spike counts |
| ``mse_count`` | ``mse_count_loss(correct_rate=0.8, incorrect_rate=0.2)`` | spike counts |
| ``ce_max_membrane`` | ``ce_max_membrane_loss()`` on the output membrane | peak membrane potential |
| ``mse_membrane`` | ``mse_membrane_loss()`` on the output membrane (target 1 / 0) | mean membrane potential |
| ``ce_temporal`` | ``ce_temporal_loss()`` on the output spikes | negated first-spike time |
| ``mse_temporal`` | ``mse_temporal_loss()`` on the output spikes | negated first-spike time |

Ties go to the lowest class index, as in ``SF.accuracy_rate`` (counts) and ``SF.accuracy_temporal``
(first spikes; a silent output counts as firing at step ``T - 1``). The score of a class is the
softmax of those readout values over the classes: the probability the ``ce_count``, ``ce_max_membrane``
and ``ce_temporal`` losses train, and a probability-like number for the others.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ..metrics._readout import first_spike_time
from ._options import LOSSES

#: the readout of each loss (see the module's table)
READOUTS = {"ce_rate": "spike count", "ce_count": "spike count", "mse_count": "spike count",
            "ce_max_membrane": "peak membrane", "mse_membrane": "mean membrane",
            "ce_temporal": "first spike", "mse_temporal": "first spike"}


def _loss_fn(name: str) -> Any:
    import spikeforge.functional as SF

    return {
        "ce_rate": lambda: SF.ce_rate_loss(),
        "ce_count": lambda: SF.ce_count_loss(),
        "mse_count": lambda: SF.mse_count_loss(correct_rate=0.8, incorrect_rate=0.2),
        "ce_max_membrane": lambda: SF.ce_max_membrane_loss(),
        "mse_membrane": lambda: SF.mse_membrane_loss(),
        "ce_temporal": lambda: SF.ce_temporal_loss(),
        "mse_temporal": lambda: SF.mse_temporal_loss(),
    }[name]()


class Objective:
    """A ``--loss`` name as a loss on the output layer and its readout.

    Args:
        name: one of `spikeforge.training.trainer.LOSSES`.

    Raises:
        ValueError: an unknown name.
    """

    def __init__(self, name: str = "ce_rate") -> None:
        if name not in LOSSES:
            raise ValueError(f"unknown loss {name!r}; choose --loss from {', '.join(LOSSES)}")
        self.name = name
        self.readout = READOUTS[name]
        self._fn = _loss_fn(name)

    def loss(self, spk: Tensor, mem: Tensor, y: Tensor) -> Tensor:
        """The loss of output spikes ``spk[T, B, C]`` and membrane ``mem[T, B, C]`` for labels ``y[B]``."""
        return self._fn(mem if getattr(self._fn, "membrane", False) else spk, y)

    def logits(self, spk: Tensor, mem: Tensor) -> Tensor:
        """The readout values ``[B, C]`` (float32, no gradient) whose argmax is the predicted class."""
        spk, mem = spk.detach().float(), mem.detach().float()
        if self.readout == "spike count":
            return spk.sum(0)
        if self.readout == "peak membrane":
            return mem.max(0).values
        if self.readout == "mean membrane":
            return mem.mean(0)
        return -first_spike_time(spk)

    def predict(self, spk: Tensor, mem: Tensor) -> tuple[Tensor, Tensor]:
        """``(predicted class [B], scores [B, C])``: the argmax of `logits` (the lowest index on a tie)
        and their softmax over the classes."""
        logits = self.logits(spk, mem)
        return logits.argmax(-1), torch.softmax(logits, -1)


def metric_layers(model: nn.Module) -> tuple[list[str], int]:
    """The metric keys ``rate:<index>_<class>`` of a `SequentialSNN`'s neuron layers (also inside DDP),
    in the order of its layer traces, and its number of outputs (the last Linear's features)."""
    from ..neurons import SpikingNeuron

    net = getattr(model, "module", model)
    layers = [f"rate:{i}_{type(m).__name__}" for i, m in enumerate(net) if isinstance(m, SpikingNeuron)]
    linear = [m for m in net.modules() if isinstance(m, nn.Linear)]
    return layers, linear[-1].out_features if linear else 0


def confusion_sums(labels: list[Tensor], preds: list[Tensor], classes: int) -> dict[str, float]:
    """scikit-learn's confusion matrix of this rank's samples as ``cm:<true>:<pred>`` sums."""
    from sklearn.metrics import confusion_matrix

    if not labels:
        return {f"cm:{i}:{j}": 0.0 for i in range(classes) for j in range(classes)}
    cm = confusion_matrix(torch.cat(labels).numpy(), torch.cat(preds).numpy(), labels=list(range(classes)))
    return {f"cm:{i}:{j}": float(cm[i, j]) for i in range(classes) for j in range(classes)}


def class_accuracy(sums: dict[str, float], classes: int) -> dict[str, float | None]:
    """Each class's accuracy (diagonal over row of the summed confusion matrix), None without samples."""
    out: dict[str, float | None] = {}
    for i in range(classes):
        total = sum(sums[f"cm:{i}:{j}"] for j in range(classes))
        out[str(i)] = sums[f"cm:{i}:{i}"] / total if total else None
    return out
