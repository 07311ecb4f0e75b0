"""The training loop behind ``spikeforge train`` and ``spikeforge evaluate`` (also usable from Python).

Backpropagation through time over whole ``[T, B, ...]`` sequences: a spiking MLP (Linear, neuron,
Linear, neuron) or a convolutional network (``model="conv"``, see `build_network`), the neurons run
through ``forward_sequence``, by default Adam and snntorch's rate cross-entropy
(``SF.ce_rate_loss``; the optimizer, schedule, clipping, precision and loss are options, see
`spikeforge.training._optim` and `spikeforge.training._objective`). Reproducibility: the data order
and the spike encoding of epoch ``e`` depend only on ``(seed, e)`` and the optimizer's, schedule's and
gradient scaler's states are checkpointed, so a run resumed from any epoch's checkpoint ends with
the same numbers as an uninterrupted one; the test set's encoding depends only on ``seed``, so
evaluating a checkpoint reproduces the accuracy reported for it. ``checkpoints/best.pt`` is the epoch
with the highest accuracy on the validation split (``val_fraction`` of the training data, held out);
the test split is only measured, never used to choose.

Under ``torchrun`` (``RANK``/``WORLD_SIZE`` set) the same loop runs data-parallel with DDP: every rank
takes a slice of each global batch (``batch_size`` is the global batch), metrics are summed over ranks,
and only rank 0 writes files and prints; see `spikeforge.training.distributed`.

Example::

    from spikeforge.training.trainer import TrainConfig, train
    summary = train(TrainConfig(epochs=15, out="runs/digits"))   # same as `spikeforge train`
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ..data.loaders import DataSource, open_data
from ..network import SequentialSNN
from ._objective import Objective, class_accuracy, confusion_sums, metric_layers
from ._optim import (
    Stepper,
    as_stepper,
    autocast,
    build_stepper,
    check_resume,
    prepare_training,
    stopped_early,
)
from ._run_dir import completed_summary, finish_run, new_run_dir, resume_config
from ._tracking import RunTracker
from ._train_config import BEFORE_OPTIONS, DEVICES, ENCODINGS, LOSSES, NEURONS, RESUMABLE_CHANGES, TrainConfig
from ._train_model import build_model, build_network, load_weights, make_neuron, resolve_device, run_network
from .checkpoint import (
    append_log,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
    write_config_toml,
    write_metrics,
    write_status,
)
from .distributed import (
    DistEnv,
    Shard,
    check_checkpoint_config,
    check_world_size,
    detect_env,
    distributed_session,
    on_main,
    reduce_sums,
    wrap_model,
)

__all__ = [
    "DEVICES",
    "ENCODINGS",
    "LOSSES",
    "NEURONS",
    "RESUMABLE_CHANGES",
    "TrainConfig",
    "TrainingInterrupted",
    "build_model",
    "build_network",
    "completed_summary",
    "evaluate",
    "evaluate_model",
    "load_weights",
    "make_neuron",
    "resolve_device",
    "resume_config",
    "run_epoch",
    "run_network",
    "train",
]


class TrainingInterrupted(RuntimeError):
    """Ctrl-C stopped training; the run directory holds a checkpoint that ``--resume`` continues."""

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
) -> dict[str, Any]:
    """One pass: trains when ``optimizer`` is given (a torch optimizer, or a `Stepper` with its schedule,
    clipping and gradient scaler), else evaluates without gradients.

    ``shards`` are this process's slices of the global batches (`DataSource.shards`; the whole
    batches, weight 1, for one process); with several processes (``env``) the metrics are summed over
    ranks (the progress bar shows this rank's running numbers). ``total`` is the number of batches.
    ``objective``: the loss and its readout (default ``ce_rate``); ``amp``: autocast (see `autocast`).

    Returns:
        ``{"loss", "acc", "spikes_per_sample", "n"}`` averaged over samples (of all ranks), with
        ``spike_rates`` (spikes per neuron per step of each neuron layer) and, when evaluating,
        ``class_acc`` (each class's accuracy, None for a class without samples).
    """
    from tqdm.auto import tqdm

    env = env or DistEnv()
    objective = objective or Objective()
    stepper = as_stepper(optimizer)
    model.train(stepper is not None)
    layers, classes = metric_layers(model)  # the same on every rank, whatever its slices hold
    sums: dict[str, float] = {"loss": 0.0, "correct": 0.0, "spikes": 0.0, "n": 0}
    sums.update(dict.fromkeys(layers, 0.0))
    labels: list[Tensor] = []
    preds: list[Tensor] = []
    bar = tqdm(total=total, desc=desc, disable=not progress, leave=stepper is not None, unit="batch")
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
                sums[key] += float(tr.spk.detach().float().mean(dims).sum()) if b else 0.0
            if b == 0:  # a rank's placeholder for an empty slice: it only joined the all-reduce
                bar.update(1)
                continue
            pred, _ = objective.predict(spk, mem)
            if stepper is None:
                labels.append(y.cpu())
                preds.append(pred.cpu())
            sums["n"] += b
            sums["loss"] += float(loss.detach()) * b
            sums["correct"] += int((pred == y).sum())
            sums["spikes"] += float(spk.detach().sum() + traces[0].spk.detach().sum())
            n = sums["n"]
            bar.update(1)
            bar.set_postfix(
                loss=f"{sums['loss'] / n:.3f}",
                acc=f"{sums['correct'] / n:.3f}",
                spk=f"{sums['spikes'] / n:.0f}",
            )
    bar.close()
    if stepper is None:
        sums.update(confusion_sums(labels, preds, classes))
    sums = reduce_sums(sums, env, device)
    n = max(int(sums["n"]), 1)
    out: dict[str, Any] = {
        "loss": sums["loss"] / n,
        "acc": sums["correct"] / n,
        "spikes_per_sample": sums["spikes"] / n,
        "n": int(sums["n"]),
        "spike_rates": {k[5:]: v / n for k, v in sums.items() if k.startswith("rate:")},
    }
    if stepper is None:
        out["class_acc"] = class_accuracy(sums, classes)
    return out


def train(cfg: TrainConfig, resume: bool = False) -> dict[str, Any]:
    """Train (or, with ``resume``, continue the run in ``cfg.out``) and return the summary.

    Started by ``torchrun`` it joins the process group (gloo on CPU, NCCL on CUDA) and trains
    data-parallel; a run may be resumed with any number of processes.

    Raises:
        ValueError / FileNotFoundError / DatasetNotFoundError: bad options or data (also more
            processes than training samples or than ``batch_size``), before any run directory is
            created. TrainingInterrupted: on Ctrl-C, after marking the run interrupted.
    """
    cfg.validate()
    if cfg.dataset == "digits" and cfg.encoding is None:
        cfg.encoding = "rate"  # written out, so config.toml names the encoding used
    prepare_training(cfg)
    data = open_data(cfg)
    env = detect_env()
    check_world_size(env.world_size, data.size("train"), cfg.batch_size)
    with distributed_session(cfg.device, env) as (env, device):
        return _train(cfg, data, resume, env, device)


def _train(
    cfg: TrainConfig, data: DataSource, resume: bool, env: DistEnv, device: torch.device
) -> dict[str, Any]:
    """`train` in one process of the job (rank 0 alone writes files and prints)."""
    model = build_model(cfg, data).to(device)
    stepper = build_stepper(cfg, model, device, data.num_batches("train"))
    optimizer, objective = stepper.optimizer, Objective(cfg.loss)
    history: list[dict[str, Any]] = []
    best = {"acc": -1.0, "epoch": 0}
    if resume:
        run_dir = Path(cfg.out)  # type: ignore[arg-type]
        path = run_dir / "checkpoints" / "last.pt"
        ckpt = on_main(lambda: load_checkpoint(path), env)
        # made before the validation split or the optimisation options
        saved_cfg = {"val_fraction": 0.0, **BEFORE_OPTIONS, **ckpt["config"]}
        check_checkpoint_config(saved_cfg, cfg.to_dict(), RESUMABLE_CHANGES, str(path))
        check_resume(saved_cfg, cfg)
        done = int(ckpt["epoch"])
        if cfg.epochs < done:
            raise ValueError(f"--epochs {cfg.epochs} is fewer than the {done} epochs already done in "
                             f"{run_dir}; pass --epochs N with N > {done} to train longer")
        over = cfg.epochs == done or stopped_early(cfg, ckpt["best"], done)
        finished = completed_summary(run_dir) if over else None
        if finished is not None:  # nothing to do: leave every file as it is
            return finished
        load_weights(model, ckpt["model"], path)
        optimizer.load_state_dict(ckpt["optimizer"])
        stepper.load_state_dict(ckpt.get("training"))
        history, best, start = list(ckpt["history"]), dict(ckpt["best"]), int(ckpt["epoch"])
        set_rng_state(ckpt["rng"])
    else:
        run_dir = on_main(lambda: new_run_dir(cfg), env)
        start = 0
    net = wrap_model(model, env, device)
    cfg.out = str(run_dir)
    progress = cfg.progress and env.is_main
    if env.is_main:
        write_config_toml(run_dir / "config.toml", cfg.to_dict())
        write_status(run_dir, "running", epoch=start)
        procs = f" x {env.world_size} processes" if env.enabled else ""
        append_log(run_dir, f"{'resume at' if resume else 'start'} epoch {start}: {data.describe()} on "
                            f"{device}{procs}")
    tracker = RunTracker(run_dir, cfg.epochs, start, data.num_batches("train"), cfg.tensorboard) \
        if env.is_main else None

    def checkpoint(name: str, epoch: int) -> None:
        if not env.is_main:
            return
        save_checkpoint(
            run_dir / "checkpoints" / name,
            {
                "epoch": epoch,
                "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                "optimizer": optimizer.state_dict(),
                "training": stepper.state_dict(),
                "config": cfg.to_dict(),
                "history": history,
                "best": best,
                "rng": rng_state(),
                "data_sizes": [data.size("train"), data.size("val"), data.size("test")],
            },
        )

    if not resume:
        checkpoint("last.pt", 0)
    t0 = time.perf_counter()
    saved = start  # the epoch checkpoints/last.pt holds
    try:
        for epoch in range(start + 1, cfg.epochs + 1):
            if stopped_early(cfg, best, epoch - 1):
                break
            torch.manual_seed(data.stream_seed(epoch, 0))
            shards = data.shards("train", epoch, env, train=True)
            tr = run_epoch(net, tracker.watch(shards, epoch) if tracker else shards,
                           data.num_batches("train"), device, stepper, f"epoch {epoch}/{cfg.epochs}",
                           progress, env, objective, cfg.amp)
            va = evaluate_model(model, data, device, progress=False, env=env, split="val",
                                objective=objective, amp=cfg.amp) if data.size("val") else None
            te = evaluate_model(model, data, device, progress=False, env=env, objective=objective,
                                amp=cfg.amp)
            history.append({"epoch": epoch, "train_loss": tr["loss"], "train_acc": tr["acc"],
                            "val_loss": va["loss"] if va else None, "val_acc": va["acc"] if va else None,
                            "test_loss": te["loss"], "test_acc": te["acc"],
                            "train_spikes_per_sample": tr["spikes_per_sample"],
                            "test_spikes_per_sample": te["spikes_per_sample"], "lr": stepper.last_lr,
                            "train_spike_rates": tr["spike_rates"], "test_spike_rates": te["spike_rates"],
                            "test_class_acc": te["class_acc"]})
            if va is not None and va["acc"] > best["acc"]:
                best = {"acc": va["acc"], "epoch": epoch, "test_acc": te["acc"]}
                checkpoint("best.pt", epoch)
            checkpoint("last.pt", epoch)
            saved = epoch
            if env.is_main:
                write_metrics(run_dir, history)
            if tracker:
                tracker.epoch_done(history[-1], stepper.last_lr)
            if progress:  # printed once the epoch is saved
                val = f"val acc {va['acc']:.4f}  " if va is not None else ""
                print(f"epoch {epoch}: train acc {tr['acc']:.4f}  {val}test acc {te['acc']:.4f}  "
                      f"loss {tr['loss']:.4f}  train spikes/sample {tr['spikes_per_sample']:.0f}", flush=True)
        elapsed = time.perf_counter() - t0
        last = int(history[-1]["epoch"]) if history else start
        extra = {"epochs_trained": last, "stopped_early": last < cfg.epochs}
        summary = on_main(
            lambda: finish_run(cfg, model, data, device, history, best, run_dir, elapsed, extra), env)
        if tracker:
            tracker.add_figures(run_dir / "figures", last)
    except KeyboardInterrupt:
        saved = _saved_epoch(run_dir / "checkpoints" / "last.pt", saved)
        when = (f"during epoch {saved + 1}" if saved < cfg.epochs else
                f"after the last epoch ({saved}), while writing the final outputs")
        if env.is_main:
            write_status(run_dir, "interrupted", epoch=saved)
            append_log(run_dir, f"interrupted {when}; last.pt holds epoch {saved}")
        raise TrainingInterrupted(f"interrupted {when}; continue with: spikeforge train "
                                  f"--resume {run_dir}") from None
    except BaseException as exc:
        if env.is_main:
            error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            write_status(run_dir, "failed", error=error)
        raise
    finally:
        if tracker:
            tracker.close()
    if env.is_main:
        write_status(run_dir, "complete", epoch=summary.get("epochs_trained", cfg.epochs))
    return summary

def _saved_epoch(path: Path, expected: int) -> int:
    """The epoch stored in ``path`` (a Ctrl-C may fall between saving it and noting it), else
    ``expected``."""
    try:
        return int(load_checkpoint(path)["epoch"])
    except (OSError, ValueError, KeyError):
        return expected


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


def evaluate(
    run_dir: str | Path,
    checkpoint: str | Path | None = None,
    device: str | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Evaluate a run's checkpoint (default ``checkpoints/last.pt``) on its test split.

    Returns:
        ``{"accuracy", "loss", "spikes_per_sample", "samples", "epoch", "checkpoint"}``.

    Raises:
        FileNotFoundError: not a run directory / no checkpoint. ValueError: a checkpoint of another model.
    """
    changes = {"device": device, "tensorboard": False} if device else {"tensorboard": False}
    cfg = resume_config(run_dir, changes, command="evaluate")
    cfg.validate()
    path = Path(checkpoint) if checkpoint else Path(run_dir) / "checkpoints" / "last.pt"
    ckpt = load_checkpoint(path)
    data = open_data(cfg)
    sizes = ckpt.get("data_sizes")
    if sizes is not None and int(sizes[-1]) != data.size("test"):
        raise ValueError(
            f"the test split now has {data.size('test')} samples but this run was trained and tested on "
            f"{int(sizes[-1])}: the data set's files changed since training, so its accuracy cannot be "
            "reproduced; restore the files or train again"
        )
    dev = resolve_device(cfg.device)
    model = build_model(cfg, data)
    load_weights(model, ckpt["model"], path)
    res = evaluate_model(model.to(dev), data, dev, progress, objective=Objective(cfg.loss), amp=cfg.amp)
    return {
        "accuracy": res["acc"],
        "loss": res["loss"],
        "spikes_per_sample": res["spikes_per_sample"],
        "samples": res["n"],
        "epoch": int(ckpt["epoch"]),
        "checkpoint": str(path),
    }
