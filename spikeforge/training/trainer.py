"""The training loop behind ``spikeforge train`` and ``spikeforge evaluate`` (also usable from Python).

Backpropagation through time over whole ``[T, B, ...]`` sequences: a spiking MLP (Linear, neuron,
Linear, neuron) or a convolutional network (``model="conv"``, see `build_network`), the neurons run
through ``forward_sequence``, by default Adam and snntorch's rate cross-entropy
(``SF.ce_rate_loss``; the optimizer, schedule, clipping, precision and loss are options, see
`spikeforge.training._optim` and `spikeforge.training._objective`). Reproducibility: the data order
and the spike encoding of epoch ``e`` depend only on ``(seed, e)`` and the optimizer's, schedule's and
gradient scaler's states are checkpointed, so a run resumed from any checkpoint ends with the same
numbers as an uninterrupted one; the test set's encoding depends only on ``seed``, so evaluating a checkpoint
reproduces the accuracy reported for it. A first SIGINT (Ctrl-C) or SIGTERM stops the run at the next
batch boundary with a checkpoint that ``--resume`` continues exactly (see `TrainingInterrupted`); a
full disk or exhausted memory ends it with `TrainingFailed`, ``status.json`` saying why and the last
checkpoint intact. ``checkpoints/best.pt`` is the epoch with the highest accuracy
on the validation split (``val_fraction`` of the training data, held out); the test split is only
measured, never used to choose.

Under ``torchrun`` (``RANK``/``WORLD_SIZE`` set) the same loop runs data-parallel with DDP: every rank
takes a slice of each global batch (``batch_size`` is the global batch), metrics are summed over ranks,
and only rank 0 writes files and prints; see `spikeforge.training.distributed`.

Example::

    from spikeforge.training.trainer import TrainConfig, train
    summary = train(TrainConfig(epochs=15, out="runs/digits"))   # same as `spikeforge train`
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..data.loaders import open_data
from ._epoch import evaluate_model, run_epoch
from ._faults import TrainingFailed, TrainingInterrupted, stop_on_signals
from ._loop import Run
from ._objective import Objective
from ._optim import prepare_training
from ._run_dir import checkpoint_path, completed_summary, open_trained, resume_config
from ._train_config import DEVICES, ENCODINGS, LOSSES, NEURONS, RESUMABLE_CHANGES, TrainConfig
from ._train_model import build_model, build_network, load_weights, make_neuron, resolve_device, run_network
from .distributed import check_world_size, detect_env, distributed_session

__all__ = [
    "DEVICES",
    "ENCODINGS",
    "LOSSES",
    "NEURONS",
    "RESUMABLE_CHANGES",
    "TrainConfig",
    "TrainingFailed",
    "TrainingInterrupted",
    "build_model",
    "build_network",
    "checkpoint_path",
    "completed_summary",
    "open_trained",
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


def train(cfg: TrainConfig, resume: bool = False) -> dict[str, Any]:
    """Train (or, with ``resume``, continue the run in ``cfg.out``) and return the summary.

    Started by ``torchrun`` it joins the process group (gloo on CPU, NCCL on CUDA) and trains
    data-parallel; a run may be resumed with any number of processes.

    Raises:
        ValueError / FileNotFoundError / DatasetNotFoundError: bad options or data (also more
            processes than training samples or than ``batch_size``), before any run directory is
            created. TrainingInterrupted: SIGINT (Ctrl-C) or SIGTERM, after saving a checkpoint at the
            next batch boundary and marking the run interrupted. TrainingFailed: a full disk, no memory
            or a file that cannot be written, after marking the run failed.
    """
    cfg.validate()
    if cfg.dataset == "digits" and cfg.encoding is None:
        cfg.encoding = "rate"  # written out, so config.toml names the encoding used
    prepare_training(cfg)
    data = open_data(cfg)
    env = detect_env()
    check_world_size(env.world_size, data.size("train"), cfg.batch_size)
    with distributed_session(cfg.device, env) as (env, device), stop_on_signals(env.is_main) as request:
        run = Run(cfg, data, env, device, request)
        finished = run.open(resume)
        return finished if finished is not None else run.train(resume)


def evaluate(
    run_dir: str | Path,
    checkpoint: str | Path | None = None,
    device: str | None = None,
    progress: bool = False,
    as_trained: bool = False,
) -> dict[str, Any]:
    """Evaluate a run's checkpoint (``last``, the default, ``best`` or a file) on its test split.

    The checkpoint records the configuration it was trained under; when ``config.toml`` no longer
    matches it (an option that changes the model or the data was edited), the evaluation is refused,
    or with ``as_trained`` made under the checkpoint's own configuration, saying so in ``"note"``.

    Returns:
        ``{"accuracy", "loss", "spikes_per_sample", "samples", "epoch", "batch", "checkpoint"}``, and
        ``"note"`` when evaluated as trained.

    Raises:
        FileNotFoundError: not a run directory / no checkpoint. ValueError: a checkpoint of another model
            or configuration, or an edited ``config.toml`` (without ``as_trained``).
    """
    run = open_trained(run_dir, checkpoint, device, as_trained, "evaluate")
    sizes = run.ckpt.get("data_sizes")
    if sizes is not None and int(sizes[-1]) != run.data.size("test"):
        raise ValueError(
            f"the test split now has {run.data.size('test')} samples but this run was trained and tested "
            f"on {int(sizes[-1])}: the data set's files changed since training, so its accuracy cannot be "
            "reproduced; restore the files or train again"
        )
    dev = resolve_device(run.cfg.device)
    res = evaluate_model(run.model.to(dev), run.data, dev, progress, objective=Objective(run.cfg.loss),
                         amp=run.cfg.amp)
    out = {
        "accuracy": res["acc"],
        "loss": res["loss"],
        "spikes_per_sample": res["spikes_per_sample"],
        "samples": res["n"],
        "epoch": int(run.ckpt["epoch"]),
        "batch": int(run.ckpt.get("batch", 0)),
        "checkpoint": str(run.path),
    }
    return {**out, "note": run.note} if run.note else out
