"""One pass over a split: `run_epoch` (training or evaluation) and `evaluate_model`; re-exported by
`spikeforge.training.trainer`."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from ..data.loaders import DataSource
from ..network import SequentialSNN
from ._train_model import run_network
from .distributed import DistEnv, Shard, reduce_sums


class StopAtBatch(Exception):  # noqa: N818 (a signal to the trainer, not an error)
    """`run_epoch` stopped after ``batch`` training batches because ``stop()`` said so.

    Attributes:
        batch: batches done in this epoch. sums: this process's running metric sums (loss, correct,
            spikes, n), to continue the epoch's metrics where they stopped.
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
    optimizer: torch.optim.Optimizer | None,
    desc: str,
    progress: bool,
    env: DistEnv | None = None,
    *,
    start: int = 0,
    sums: dict[str, float] | None = None,
    stop: Callable[[], bool] | None = None,
) -> dict[str, float]:
    """One pass: trains when ``optimizer`` is given, else evaluates without gradients.

    ``shards`` are this process's slices of the global batches (`DataSource.shards`; the whole
    batches, weight 1, for one process); with several processes (``env``) the metrics are summed over
    ranks (the progress bar shows this rank's running numbers). ``total`` is the number of batches.

    Args:
        progress: show a progress bar (only drawn on a terminal, see `bars_wanted`).
        start, sums: continue an epoch stopped after ``start`` batches (``shards`` then yields the rest)
            with the metric sums this process had (`StopAtBatch.sums`).
        stop: asked after every training batch; when it returns True the pass ends with `StopAtBatch`.

    Returns:
        ``{"loss", "acc", "spikes_per_sample", "n"}`` averaged over samples (of all ranks).

    Raises:
        StopAtBatch: ``stop()`` returned True.
    """
    from tqdm.auto import tqdm

    import spikeforge.functional as SF

    env = env or DistEnv()
    loss_fn = SF.ce_rate_loss()
    model.train(optimizer is not None)
    acc: dict[str, Any] = {"loss": 0.0, "correct": 0.0, "spikes": 0.0, "n": 0, **(sums or {})}
    bar = tqdm(total=total, initial=start, desc=desc, disable=not bars_wanted(progress),
               leave=optimizer is not None, unit="batch")
    done = start
    with torch.set_grad_enabled(optimizer is not None):
        for x, y, weight, b in shards:
            x, y = x.to(device), y.to(device)
            spk, _, hid = run_network(model, x)  # type: ignore[arg-type]
            loss = loss_fn(spk, y)
            if optimizer is not None:
                optimizer.zero_grad(set_to_none=True)
                (loss * weight).backward()
                optimizer.step()
            done += 1
            bar.update(1)
            if b > 0:  # b == 0: a rank's placeholder for an empty slice; it only joined the all-reduce
                acc["n"] += b
                acc["loss"] += float(loss.detach()) * b
                acc["correct"] += round(float(SF.accuracy_rate(spk, y)) * b)
                acc["spikes"] += float(spk.detach().sum() + hid.detach().sum())
                n = acc["n"]
                bar.set_postfix(loss=f"{acc['loss'] / n:.3f}", acc=f"{acc['correct'] / n:.3f}",
                                spk=f"{acc['spikes'] / n:.0f}")
            if stop is not None and stop():
                bar.close()
                raise StopAtBatch(done, dict(acc))
    bar.close()
    acc = reduce_sums(acc, env, device)
    n = max(int(acc["n"]), 1)
    return {
        "loss": acc["loss"] / n,
        "acc": acc["correct"] / n,
        "spikes_per_sample": acc["spikes"] / n,
        "n": int(acc["n"]),
    }


def evaluate_model(
    model: SequentialSNN, data: DataSource, device: torch.device, progress: bool, env: DistEnv | None = None,
    split: str = "test",
) -> dict[str, float]:
    """Loss, accuracy and spikes per sample on ``split`` (``"test"`` or ``"val"``; the encoding depends
    only on the seed); with several processes each evaluates a slice and the numbers are summed over
    ranks."""
    shards = data.shards(split, None, env or DistEnv(), train=False)
    return run_epoch(model, shards, data.num_batches(split), device, None, split, progress, env)
