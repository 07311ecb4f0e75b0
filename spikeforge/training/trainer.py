"""The training loop behind ``spikeforge train`` and ``spikeforge evaluate`` (also usable from Python).

Backpropagation through time over whole ``[T, B, ...]`` sequences: a spiking MLP (Linear, neuron,
Linear, neuron; the neurons run through ``forward_sequence``), Adam, and snntorch's rate cross-entropy
(``SF.ce_rate_loss``). Reproducibility: the data order and the spike encoding of epoch ``e`` depend
only on ``(seed, e)``, so a run resumed from any epoch's checkpoint ends with the same numbers as an
uninterrupted one; the test set's encoding depends only on ``seed``, so evaluating a checkpoint
reproduces the accuracy reported for it.

Under ``torchrun`` (``RANK``/``WORLD_SIZE`` set) the same loop runs data-parallel with DDP: every rank
takes a slice of each global batch (``batch_size`` is the global batch), metrics are summed over ranks,
and only rank 0 writes files and prints; see :mod:`spikeforge.training.distributed`.

Example::

    from spikeforge.training.trainer import TrainConfig, train
    summary = train(TrainConfig(epochs=15, out="runs/digits"))   # same as `spikeforge train`
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from .. import neurons as sn
from ..data.loaders import DataSource, open_data
from ..network import SequentialSNN
from .checkpoint import (
    append_log,
    export_network,
    load_checkpoint,
    read_toml,
    rng_state,
    save_checkpoint,
    set_rng_state,
    write_config_toml,
    write_json,
    write_metrics,
    write_outputs,
    write_status,
)
from .distributed import (
    DistEnv,
    check_checkpoint_config,
    check_world_size,
    detect_env,
    distributed_session,
    on_main,
    reduce_sums,
    shard_batches,
    wrap_model,
)

NEURONS = ("leaky", "synaptic", "alpha", "lapicque", "rleaky", "rsynaptic")
ENCODINGS = ("rate", "latency")
DEVICES = ("auto", "cpu", "cuda")
#: fields that may change when a run is resumed (the rest must match the checkpoint)
RESUMABLE_CHANGES = ("epochs", "device", "progress", "out")


class TrainingInterrupted(RuntimeError):
    """Ctrl-C stopped training; the run directory holds a checkpoint that ``--resume`` continues."""


@dataclass
class TrainConfig:
    """Everything ``spikeforge train`` needs; each field is also a command-line option and a TOML key.

    Attributes:
        dataset: ``digits`` (bundled, default), ``nmnist``, ``shd`` or ``dvsgesture``.
        data_dir: folder with the event data set's files (event data sets only).
        epochs, batch_size: training length and mini-batch size.
        num_steps: time steps ``T`` (digits: encoding length; event data: number of time bins).
        encoding: ``rate`` (default) or ``latency``; digits only (event data are already spikes).
        neuron: one of :data:`NEURONS`. hidden: hidden layer width. beta: membrane decay per step.
        lr: Adam learning rate. seed: seeds weights, data order and encoding.
        device: ``auto`` (CUDA if available), ``cpu`` or ``cuda``.
        out: the run directory (default: the first free ``runs/<dataset>-seed<seed>[-N]``).
        train_limit, test_limit: use only N samples of each split (quick runs; see ``--train-limit``).
        time_window_us, denoise_us, downsample: event data framing (see :class:`~spikeforge.data.FrameSpec`).
        progress: show progress bars.
    """

    dataset: str = "digits"
    data_dir: str | None = None
    epochs: int = 15
    batch_size: int = 64
    num_steps: int = 25
    encoding: str | None = None
    neuron: str = "leaky"
    hidden: int = 128
    beta: float = 0.9
    lr: float = 5e-3
    seed: int = 0
    device: str = "auto"
    out: str | None = None
    train_limit: int | None = None
    test_limit: int | None = None
    time_window_us: float | None = None
    denoise_us: float | None = None
    downsample: float = 1.0
    progress: bool = True

    def validate(self) -> None:
        """Check names, ranges and combinations.

        Raises:
            ValueError: with a message naming the option and what to do instead.
        """
        from ..data import DATASET_NAMES

        if self.dataset not in DATASET_NAMES:
            names = ", ".join(DATASET_NAMES)
            raise ValueError(f"unknown data set {self.dataset!r}; choose --dataset from {names}")
        if self.neuron not in NEURONS:
            raise ValueError(f"unknown neuron {self.neuron!r}; choose --neuron from {', '.join(NEURONS)}")
        if self.encoding is not None and self.encoding not in ENCODINGS:
            raise ValueError(f"unknown encoding {self.encoding!r}; choose --encoding rate or latency")
        if self.device not in DEVICES:
            raise ValueError(f"unknown device {self.device!r}; choose --device auto, cpu or cuda")
        for name in ("epochs", "batch_size", "num_steps", "hidden"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.beta <= 1:
            raise ValueError(f"--beta must lie in [0, 1], got {self.beta}")
        if not self.lr > 0:
            raise ValueError(f"--lr must be > 0, got {self.lr}")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ValueError("--device cuda but no CUDA device is available; use --device cpu or auto")
        event_only = {
            "data_dir": self.data_dir,
            "time_window_us": self.time_window_us,
            "denoise_us": self.denoise_us,
            "downsample": None if self.downsample == 1 else 1,
        }
        if self.dataset == "digits":
            given = [k for k, v in event_only.items() if v is not None]
            if given:
                opt = "--" + given[0].replace("_", "-")
                raise ValueError(f"{opt} applies to event data sets only; digits is bundled (drop {opt})")
        else:
            if self.encoding is not None:
                raise ValueError(
                    f"--encoding applies to digits only; {self.dataset} is already spikes (drop --encoding)"
                )
            if self.data_dir is None:
                raise ValueError(f"--dataset {self.dataset} needs --data-dir (the folder with its files)")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> TrainConfig:
        """Build from a dict (e.g. TOML); unknown keys raise ValueError naming ``source``."""
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - fields)
        if unknown:
            allowed = ", ".join(sorted(fields))
            raise ValueError(f"unknown key {unknown[0]!r} in {source}; allowed keys: {allowed}")
        return cls(**data)


def make_neuron(name: str, beta: float, features: int) -> nn.Module:
    """A spikeforge neuron by name, with ``beta`` as membrane decay (``alpha = beta - 0.05`` for Synaptic,
    ``alpha = beta + 0.05`` capped at 0.99 for Alpha, which needs ``alpha > beta``).

    Raises:
        ValueError: unknown name.
    """
    if name == "leaky":
        return sn.Leaky(beta=beta)
    if name == "lapicque":
        return sn.Lapicque(beta=beta)
    if name == "synaptic":
        return sn.Synaptic(alpha=max(beta - 0.05, 0.0), beta=beta)
    if name == "alpha":
        return sn.Alpha(alpha=min(beta + 0.05, 0.99), beta=min(beta, 0.94))
    if name == "rleaky":
        return sn.RLeaky(beta=beta, linear_features=features)
    if name == "rsynaptic":
        return sn.RSynaptic(alpha=max(beta - 0.05, 0.0), beta=beta, linear_features=features)
    raise ValueError(f"unknown neuron {name!r}; choose one of {', '.join(NEURONS)}")


def build_network(in_features: int, hidden: int, num_classes: int, neuron: str, beta: float) -> SequentialSNN:
    """``Flatten -> Linear -> neuron -> Linear -> neuron`` as a :class:`~spikeforge.SequentialSNN`.

    Input ``[T, B, ...]`` (flattened per step to ``in_features``); output spikes ``[T, B, num_classes]``.
    """
    return SequentialSNN(
        nn.Flatten(), nn.Linear(in_features, hidden), make_neuron(neuron, beta, hidden),
        nn.Linear(hidden, num_classes), make_neuron(neuron, beta, num_classes),
    )


def run_network(model: SequentialSNN, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``(spk_out[T, B, C], mem_out[T, B, C], spk_hidden[T, B, H])`` of :func:`build_network`'s model."""
    spk, traces = model(x, record=True)
    return spk, traces[-1].states["mem"], traces[0].spk


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def build_model(cfg: TrainConfig, data: DataSource) -> SequentialSNN:
    """The model of ``cfg`` for ``data``, initialised from ``cfg.seed``."""
    torch.manual_seed(cfg.seed)
    return build_network(data.in_features, cfg.hidden, data.num_classes, cfg.neuron, cfg.beta)


def load_weights(model: nn.Module, state: dict[str, Any], source: Path) -> None:
    """Load a state dict, turning a mismatch into a one-line error that says what to do."""
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        detail = str(exc).splitlines()[1].strip() if "\n" in str(exc) else str(exc)
        raise ValueError(
            f"checkpoint {source} was saved from a different model ({detail[:160]}); use it "
            "with the config.toml of the run that made it"
        ) from None


def run_epoch(
    model: nn.Module,
    batches: Iterator[tuple[Tensor, Tensor]],
    total: int,
    device: torch.device,
    optimizer: torch.optim.Optimizer | None,
    desc: str,
    progress: bool,
    env: DistEnv | None = None,
) -> dict[str, float]:
    """One pass: trains when ``optimizer`` is given, else evaluates without gradients.

    With several processes (``env``) each rank runs its slice of every global batch and the metrics
    are summed over ranks (the progress bar shows this rank's running numbers).

    Returns:
        ``{"loss", "acc", "spikes_per_sample", "n"}`` averaged over samples (of all ranks).
    """
    from tqdm.auto import tqdm

    import spikeforge.functional as SF

    env = env or DistEnv()
    loss_fn = SF.ce_rate_loss()
    model.train(optimizer is not None)
    sums = {"loss": 0.0, "correct": 0.0, "spikes": 0.0, "n": 0}
    bar = tqdm(total=total, desc=desc, disable=not progress, leave=optimizer is not None, unit="batch")
    with torch.set_grad_enabled(optimizer is not None):
        for x, y, weight, b in shard_batches(batches, env, train=optimizer is not None):
            x, y = x.to(device), y.to(device)
            spk, _, hid = run_network(model, x)  # type: ignore[arg-type]
            loss = loss_fn(spk, y)
            if optimizer is not None:
                optimizer.zero_grad(set_to_none=True)
                (loss * weight).backward()
                optimizer.step()
            if b == 0:  # a rank's placeholder for an empty slice: it only joined the all-reduce
                bar.update(1)
                continue
            sums["n"] += b
            sums["loss"] += float(loss.detach()) * b
            sums["correct"] += round(float(SF.accuracy_rate(spk, y)) * b)
            sums["spikes"] += float(spk.detach().sum() + hid.detach().sum())
            n = sums["n"]
            bar.update(1)
            bar.set_postfix(
                loss=f"{sums['loss'] / n:.3f}",
                acc=f"{sums['correct'] / n:.3f}",
                spk=f"{sums['spikes'] / n:.0f}",
            )
    bar.close()
    sums = reduce_sums(sums, env, device)
    n = max(int(sums["n"]), 1)
    return {
        "loss": sums["loss"] / n,
        "acc": sums["correct"] / n,
        "spikes_per_sample": sums["spikes"] / n,
        "n": int(sums["n"]),
    }


def _new_run_dir(cfg: TrainConfig) -> Path:
    """Create the run directory: ``cfg.out`` (which must be new or empty), else the first free
    ``runs/<dataset>-seed<seed>[-N]`` (so repeating the default command never fails)."""
    if cfg.out is None:
        base = Path(f"runs/{cfg.dataset}-seed{cfg.seed}")
        run_dir, n = base, 1
        while run_dir.exists() and any(run_dir.iterdir()):
            n += 1
            run_dir = base.with_name(f"{base.name}-{n}")
        run_dir.mkdir(parents=True, exist_ok=True)
        return run_dir
    run_dir = Path(cfg.out)
    if run_dir.exists() and any(run_dir.iterdir()):
        raise ValueError(
            f"run directory {run_dir} already exists; continue it with --resume {run_dir} "
            "or choose another --out"
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


def resume_config(run_dir: str | Path, changes: dict[str, Any] | None = None) -> TrainConfig:
    """The config of an existing run with allowed ``changes`` (:data:`RESUMABLE_CHANGES`) applied.

    Raises:
        FileNotFoundError: no ``config.toml`` in ``run_dir``. ValueError: a change that is not allowed.
    """
    run_dir = Path(run_dir)
    if not (run_dir / "config.toml").is_file():
        raise FileNotFoundError(f"{run_dir} is not a run directory (no config.toml); check the --resume path")
    cfg = TrainConfig.from_dict(read_toml(run_dir / "config.toml"), str(run_dir / "config.toml"))
    for key, value in (changes or {}).items():
        if key not in RESUMABLE_CHANGES and value != getattr(cfg, key):
            raise ValueError(
                f"--{key.replace('_', '-')} cannot change when resuming (the run used "
                f"{getattr(cfg, key)!r}); start a new run with another --out instead"
            )
        setattr(cfg, key, value)
    cfg.out = str(run_dir)
    return cfg


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
    data = open_data(cfg)
    env = detect_env()
    check_world_size(env.world_size, data.size(True), cfg.batch_size)
    with distributed_session(cfg.device, env) as (env, device):
        return _train(cfg, data, resume, env, device)


def _train(
    cfg: TrainConfig, data: DataSource, resume: bool, env: DistEnv, device: torch.device
) -> dict[str, Any]:
    """:func:`train` in one process of the job (rank 0 alone writes files and prints)."""
    model = build_model(cfg, data).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    history: list[dict[str, Any]] = []
    best = {"acc": -1.0, "epoch": 0}
    if resume:
        run_dir = Path(cfg.out)  # type: ignore[arg-type]
        path = run_dir / "checkpoints" / "last.pt"
        ckpt = on_main(lambda: load_checkpoint(path), env)
        check_checkpoint_config(ckpt["config"], cfg.to_dict(), RESUMABLE_CHANGES, str(path))
        load_weights(model, ckpt["model"], path)
        optimizer.load_state_dict(ckpt["optimizer"])
        history, best, start = list(ckpt["history"]), dict(ckpt["best"]), int(ckpt["epoch"])
        set_rng_state(ckpt["rng"])
    else:
        run_dir = on_main(lambda: _new_run_dir(cfg), env)
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

    def checkpoint(name: str, epoch: int) -> None:
        if not env.is_main:
            return
        save_checkpoint(
            run_dir / "checkpoints" / name,
            {
                "epoch": epoch,
                "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                "optimizer": optimizer.state_dict(),
                "config": cfg.to_dict(),
                "history": history,
                "best": best,
                "rng": rng_state(),
            },
        )

    if not resume:
        checkpoint("last.pt", 0)
    t0 = time.perf_counter()
    epoch = start
    try:
        for epoch in range(start + 1, cfg.epochs + 1):
            torch.manual_seed(data.stream_seed(epoch, 0))
            tr = run_epoch(net, data.batches(True, epoch), data.num_batches(True), device, optimizer,
                           f"epoch {epoch}/{cfg.epochs}", progress, env)
            te = evaluate_model(model, data, device, progress=False, env=env)
            history.append({"epoch": epoch, "train_loss": tr["loss"], "train_acc": tr["acc"],
                            "test_loss": te["loss"], "test_acc": te["acc"],
                            "spikes_per_sample": tr["spikes_per_sample"]})
            if progress:
                print(f"epoch {epoch}: train acc {tr['acc']:.4f}  test acc {te['acc']:.4f}  "
                      f"loss {tr['loss']:.4f}  spikes/sample {tr['spikes_per_sample']:.0f}", flush=True)
            if te["acc"] > best["acc"]:
                best = {"acc": te["acc"], "epoch": epoch}
                checkpoint("best.pt", epoch)
            checkpoint("last.pt", epoch)
            if env.is_main:
                write_metrics(run_dir, history)
        elapsed = time.perf_counter() - t0
        summary = on_main(lambda: _finish(cfg, model, data, device, history, best, run_dir, elapsed), env)
    except KeyboardInterrupt:
        if env.is_main:
            write_status(run_dir, "interrupted", epoch=epoch - 1)
            append_log(run_dir, f"interrupted during epoch {epoch}; last.pt holds epoch {epoch - 1}")
        raise TrainingInterrupted(f"interrupted during epoch {epoch}; continue with: spikeforge train "
                                  f"--resume {run_dir}") from None
    except BaseException as exc:
        if env.is_main:
            error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            write_status(run_dir, "failed", error=error)
        raise
    if env.is_main:
        write_status(run_dir, "complete", epoch=cfg.epochs)
    return summary


def _finish(cfg: TrainConfig, model: SequentialSNN, data: DataSource, device: torch.device,
            history: list[dict[str, Any]], best: dict[str, Any], run_dir: Path,
            elapsed: float) -> dict[str, Any]:
    """Write the figures, the NIR model and (last) ``summary.json``; returns the summary."""
    final = history[-1] if history else {}
    summary = {
        "dataset": cfg.dataset, "epochs": cfg.epochs, "seed": cfg.seed, "device": str(device),
        "test_accuracy": final.get("test_acc"), "test_loss": final.get("test_loss"),
        "best_test_accuracy": best["acc"], "best_epoch": best["epoch"],
        "spikes_per_sample": final.get("spikes_per_sample"), "train_samples": data.size(True),
        "test_samples": data.size(False), "train_seconds_this_session": round(elapsed, 2),
        "outputs": _outputs(model, data, device, history, run_dir),
    }
    write_json(run_dir / "summary.json", summary)
    return summary


def _outputs(model: SequentialSNN, data: DataSource, device: torch.device, history: list[dict[str, Any]],
             run_dir: Path) -> dict[str, str]:
    """Figures of the first test sample and the NIR file (see :func:`write_outputs`)."""
    x, y = next(iter(data.batches(False, None)))
    model.eval()
    with torch.no_grad():
        spk, mem, _ = run_network(model, x[:, :1].to(device))
    return write_outputs(export_network(model), x[0, :1].flatten(1), spk[:, 0].cpu(), mem[:, 0].cpu(),
                         float(model[-1].threshold.reshape(-1)[0]), int(y[0]), history, run_dir)


def evaluate_model(
    model: SequentialSNN, data: DataSource, device: torch.device, progress: bool, env: DistEnv | None = None
) -> dict[str, float]:
    """Test-split loss, accuracy and spikes per sample (the encoding depends only on the seed); with
    several processes each evaluates a slice and the numbers are summed over ranks."""
    batches = data.batches(False, None)
    return run_epoch(model, batches, data.num_batches(False), device, None, "test", progress, env)


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
    cfg = resume_config(run_dir, {"device": device} if device else None)
    cfg.validate()
    path = Path(checkpoint) if checkpoint else Path(run_dir) / "checkpoints" / "last.pt"
    ckpt = load_checkpoint(path)
    data = open_data(cfg)
    dev = resolve_device(cfg.device)
    model = build_model(cfg, data)
    load_weights(model, ckpt["model"], path)
    res = evaluate_model(model.to(dev), data, dev, progress)
    return {
        "accuracy": res["acc"],
        "loss": res["loss"],
        "spikes_per_sample": res["spikes_per_sample"],
        "samples": res["n"],
        "epoch": int(ckpt["epoch"]),
        "checkpoint": str(path),
    }
