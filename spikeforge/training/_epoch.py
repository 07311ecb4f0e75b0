"""One pass over a split: `run_epoch` (training or evaluation) and `evaluate_model`; re-exported by
`spikeforge.training.trainer`."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor, nn

from ..data.loaders import DataSource
from ..network import SequentialSNN
from ._objective import Objective, class_accuracy, confusion_sums, metric_layers
from ._optim import Stepper, as_stepper, autocast
from .distributed import DistEnv, Shard, reduce_sums


class StopAtBatch(Exception):  # noqa: N818 (a signal to the trainer, not an error)
    """`run_epoch` stopped after ``batch`` training batches because ``stop()`` said so.

    Attributes:
        batch: batches done in this epoch. sums: this process's running metric sums (loss, correct,
            spikes, n and each neuron layer's spike rate), to continue the epoch's metrics where they
            stopped.
    """

    def __init__(self, batch: int, sums: dict[str, float]) -> None:
        super().__init__(f"stopped after batch {batch}")
        self.batch, self.sums = batch, sums


def bars_wanted(progress: bool) -> bool:
    """Progress bars only on a terminal: in a log file or a pipe their carriage returns are clutter."""
    isatty = getattr(sys.stderr, "isatty", None)
    return progress and bool(isatty and isatty())


def run_epoch(
    model: nn.Module,
    shards: Iterable[Shard],
    total: int,
    device: torch.device,
    optimizer: torch.optim.Optimizer | Stepper | None,
    desc: str,
    progress: bool,
    env: DistEnv | None = None,
    objective: Objective | None = None,
    amp: bool = False,
    *,
    start: int = 0,
    sums: dict[str, float] | None = None,
    stop: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """One pass: trains when ``optimizer`` is given (a torch optimizer, or a `Stepper` with its schedule,
    clipping and gradient scaler), else evaluates without gradients.

    ``shards`` are this process's slices of the global batches (`DataSource.shards`; the whole
    batches, weight 1, for one process); with several processes (``env``) the metrics are summed over
    ranks (the progress bar shows this rank's running numbers). ``total`` is the number of batches.

    Args:
        progress: show a progress bar (only drawn on a terminal, see `bars_wanted`).
        objective: the loss and its readout (default ``ce_rate``). amp: autocast (see `autocast`).
        start, sums: continue an epoch stopped after ``start`` batches (``shards`` then yields the rest)
            with the metric sums this process had (`StopAtBatch.sums`).
        stop: asked after every training batch; when it returns True the pass ends with `StopAtBatch`.

    Returns:
        ``{"loss", "acc", "spikes_per_sample", "n"}`` averaged over samples (of all ranks), with
        ``spike_rates`` (spikes per neuron per step of each neuron layer) and, when evaluating,
        ``class_acc`` (each class's accuracy, None for a class without samples).

    Raises:
        StopAtBatch: ``stop()`` returned True.
    """
    from tqdm.auto import tqdm

    env = env or DistEnv()
    objective = objective or Objective()
    stepper = as_stepper(optimizer)
    model.train(stepper is not None)
    layers, classes = metric_layers(model)  # the same on every rank, whatever its slices hold
    acc: dict[str, Any] = {"loss": 0.0, "correct": 0.0, "spikes": 0.0, "n": 0, **dict.fromkeys(layers, 0.0)}
    acc.update(sums or {})
    labels: list[Tensor] = []
    preds: list[Tensor] = []
    bar = tqdm(total=total, initial=start, desc=desc, disable=not bars_wanted(progress),
               leave=stepper is not None, unit="batch")
    done = start
    with torch.set_grad_enabled(stepper is not None):
        for x, y, weight, b in shards:
            x, y = x.to(device), y.to(device)
            with autocast(device, amp):
                spk, traces = model(x, record=True)
            mem = traces[-1].states["mem"]
            if amp:  # the loss in float32, as autocast recommends
                spk, mem = spk.float(), mem.float()
            loss = objective.loss(spk, mem, y)
            if stepper is not None:
                stepper.step(loss * weight)
            for key, tr in zip(layers, traces):  # spikes per neuron per step, summed over samples
                dims = (0, *range(2, tr.spk.dim()))
                acc[key] += float(tr.spk.detach().float().mean(dims).sum()) if b else 0.0
            done += 1
            bar.update(1)
            if b > 0:  # b == 0: a rank's placeholder for an empty slice; it only joined the all-reduce
                pred, _ = objective.predict(spk, mem)
                if stepper is None:
                    labels.append(y.cpu())
                    preds.append(pred.cpu())
                acc["n"] += b
                acc["loss"] += float(loss.detach()) * b
                acc["correct"] += int((pred == y).sum())
                acc["spikes"] += float(spk.detach().sum() + traces[0].spk.detach().sum())
                n = acc["n"]
                bar.set_postfix(loss=f"{acc['loss'] / n:.3f}", acc=f"{acc['correct'] / n:.3f}",
                                spk=f"{acc['spikes'] / n:.0f}")
            if stop is not None and stop():
                bar.close()
                raise StopAtBatch(done, dict(acc))
    bar.close()
    if stepper is None:
        acc.update(confusion_sums(labels, preds, classes))
    acc = reduce_sums(acc, env, device)
    n = max(int(acc["n"]), 1)
    out: dict[str, Any] = {
        "loss": acc["loss"] / n,
        "acc": acc["correct"] / n,
        "spikes_per_sample": acc["spikes"] / n,
        "n": int(acc["n"]),
        "spike_rates": {k[5:]: v / n for k, v in acc.items() if k.startswith("rate:")},
    }
    if stepper is None:
        out["class_acc"] = class_accuracy(acc, classes)
    return out


def evaluate_model(
    model: SequentialSNN, data: DataSource, device: torch.device, progress: bool, env: DistEnv | None = None,
    split: str = "test", objective: Objective | None = None, amp: bool = False,
) -> dict[str, Any]:
    """Loss, accuracy and spikes per sample on ``split`` (``"test"`` or ``"val"``; the encoding depends
    only on the seed), measured with ``objective``'s loss and readout (default ``ce_rate``) and ``amp``;
    with several processes each evaluates a slice and the numbers are summed over ranks."""
    shards = data.shards(split, None, env or DistEnv(), train=False)
    return run_epoch(model, shards, data.num_batches(split), device, None, split, progress, env, objective,
                     amp)
