"""Multi-process training on PyTorch's own engine: ``torch.distributed``, DDP and ``torchrun``.

Nothing here starts processes: ``torchrun`` (or ``torch.multiprocessing``) does, and sets ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``. With none of them set every helper
is a no-op, so one training loop serves 1 and N processes.

Batches. ``--batch-size`` is the *global* batch: every rank draws the same global batch (same order
and spike encoding, a function of ``(seed, epoch)`` only) and keeps a contiguous slice of it
(`shard_bounds`). Each rank's mean loss is scaled by ``weight = n_rank * world / n_global``
before ``backward``; DDP then averages the gradients over ranks, which gives exactly the gradient of
the mean loss over the whole global batch, also when the batch does not split evenly (a rank whose
slice is empty runs one placeholder sample with weight 0, so that every rank takes part in the
all-reduce). So N processes take the same optimiser steps as one process, and a run can be resumed
with any number of processes.

Buffers. Spiking neurons keep their hidden state in non-persistent buffers whose shape follows the
local batch. DDP's default broadcasts every buffer from rank 0 before each forward, which would
overwrite each rank's state with rank 0's (or fail when the local batches differ in size).
`wrap_model` therefore tells DDP to ignore exactly the hidden-state buffers; the other buffers
(thresholds, decay constants, BatchNorm statistics) are still synchronised from rank 0 as in plain
DDP.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

import torch
import torch.distributed as dist
from torch import Tensor, nn

T = TypeVar("T")


@dataclass(frozen=True)
class DistEnv:
    """Where this process sits in the job (``torchrun``'s environment variables).

    Attributes:
        rank: global rank in ``[0, world_size)``. world_size: number of processes.
        local_rank: rank on this machine (the CUDA device index of this process).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """True on rank 0, the only rank that writes files and prints."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        """True when more than one process takes part."""
        return self.world_size > 1


def _env_int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"environment variable {name} must be an integer, got {raw!r}") from None


def detect_env(environ: Mapping[str, str] | None = None) -> DistEnv:
    """Read ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` (as set by ``torchrun``).

    Args:
        environ: the variables to read (default ``os.environ``).

    Returns:
        The process's place; ``DistEnv()`` (one process) when ``WORLD_SIZE`` is not set.

    Raises:
        ValueError: a non-integer value, ``WORLD_SIZE < 1``, or a rank outside ``[0, WORLD_SIZE)``.
    """
    env = os.environ if environ is None else environ
    world = _env_int(env, "WORLD_SIZE", 1)
    rank = _env_int(env, "RANK", 0)
    local = _env_int(env, "LOCAL_RANK", 0)
    if world < 1:
        raise ValueError(f"environment variable WORLD_SIZE must be >= 1, got {world}")
    if not 0 <= rank < world:
        raise ValueError(f"environment variable RANK must lie in [0, WORLD_SIZE={world}), got {rank}")
    if local < 0:
        raise ValueError(f"environment variable LOCAL_RANK must be >= 0, got {local}")
    return DistEnv(rank, world, local)


def is_main_process() -> bool:
    """True in the process that should write files: rank 0 of the initialised process group, else the
    process whose ``RANK`` is 0 or unset."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank() == 0
    return detect_env().is_main


def rank_device(device: str, env: DistEnv) -> torch.device:
    """The device of this rank for ``--device`` ``auto``, ``cpu`` or ``cuda``.

    ``auto`` means CUDA when available. With several processes on CUDA each uses ``cuda:LOCAL_RANK``.

    Raises:
        ValueError: ``cuda`` without CUDA, or a ``LOCAL_RANK`` beyond the visible CUDA devices.
    """
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    if not use_cuda:
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ValueError("--device cuda but no CUDA device is available; use --device cpu or auto")
    if not env.enabled:
        return torch.device("cuda")
    count = torch.cuda.device_count()
    if env.local_rank >= count:
        raise ValueError(
            f"LOCAL_RANK {env.local_rank} but only {count} CUDA devices are visible; start at most "
            f"{count} processes per machine (torchrun --nproc_per_node {count})"
        )
    return torch.device("cuda", env.local_rank)


def check_world_size(world_size: int, train_size: int, batch_size: int) -> None:
    """Refuse a job that would leave ranks without data.

    Raises:
        ValueError: more processes than training samples, or than samples per global batch.
    """
    if world_size > train_size:
        raise ValueError(
            f"{world_size} processes but the training set has only {train_size} samples; start at most "
            f"{train_size} processes (torchrun --nproc_per_node) or use more data (--train-limit)"
        )
    if world_size > batch_size:
        raise ValueError(
            f"--batch-size {batch_size} is the global batch shared by {world_size} processes; it must be "
            f"at least the number of processes (use --batch-size {world_size} or more)"
        )


@contextmanager
def distributed_session(device: str, env: DistEnv | None = None) -> Iterator[tuple[DistEnv, torch.device]]:
    """Join the process group for the duration of a run (gloo on CPU, NCCL on CUDA).

    With one process this only resolves the device. A process group that is already initialised is
    used as it is and left open; one created here is destroyed on exit.

    Args:
        device: ``auto``, ``cpu`` or ``cuda`` (see `rank_device`).
        env: the process's place (default `detect_env`).

    Yields:
        ``(env, device)`` of this process.

    Raises:
        ValueError: see `detect_env` and `rank_device`; an initialised group whose size is
            not ``WORLD_SIZE``.
    """
    env = detect_env() if env is None else env
    dev = rank_device(device, env)
    created = False
    if env.enabled and not dist.is_initialized():
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo", rank=env.rank,
                                world_size=env.world_size)
        created = True
    elif env.enabled and dist.get_world_size() != env.world_size:
        raise ValueError(
            f"the initialised process group has {dist.get_world_size()} processes but WORLD_SIZE is "
            f"{env.world_size}"
        )
    ok = False
    try:
        yield env, dev
        ok = True
    finally:
        if created:
            if ok:
                dist.barrier()  # keep the ranks together until rank 0 has written its files
            dist.destroy_process_group()


def hidden_state_buffers(model: nn.Module) -> list[str]:
    """Fully qualified names of the hidden-state buffers of every spiking neuron in ``model``."""
    from ..neurons import SpikingNeuron

    names = []
    for prefix, module in model.named_modules():
        if isinstance(module, SpikingNeuron):
            names += [f"{prefix}.{s}" if prefix else s for s in module._state_names if s in module._buffers]
    return names


def wrap_model(model: nn.Module, env: DistEnv, device: torch.device) -> nn.Module:
    """``model`` in ``DistributedDataParallel`` (or ``model`` itself for one process).

    DDP ignores the neurons' hidden-state buffers (see the module docstring), so each rank computes
    with its own state; parameters and the other buffers start from rank 0's values.

    Args:
        model: a module already on ``device``; keep a reference to it for saving (the wrapper's
            state dict has ``module.`` prefixes).
        env, device: from `distributed_session`.
    """
    if not env.enabled:
        return model
    from torch.nn.parallel import DistributedDataParallel as DDP

    DDP._set_params_and_buffers_to_ignore_for_model(model, hidden_state_buffers(model))
    return DDP(model, device_ids=[device.index] if device.type == "cuda" else None)


def shard_bounds(total: int, rank: int, world_size: int) -> tuple[int, int]:
    """The slice ``[lo, hi)`` of a global batch of ``total`` samples that ``rank`` keeps.

    Contiguous and as even as possible: the first ``total % world_size`` ranks get one sample more.
    """
    base, extra = divmod(total, world_size)
    lo = rank * base + min(rank, extra)
    return lo, lo + base + (rank < extra)


class Shard(NamedTuple):
    """One rank's part of a global batch.

    Attributes:
        x: ``[T, n, ...]`` inputs. y: ``[n]`` labels.
        weight: factor for this rank's mean loss before ``backward`` (1.0 for an even split).
        n: number of real samples (0 for the placeholder of an empty slice; count no metrics for it).
    """

    x: Tensor
    y: Tensor
    weight: float
    n: int


def shard_part(total: int, env: DistEnv, train: bool) -> tuple[slice, float, int] | None:
    """What this rank takes of a global batch of ``total`` samples: ``(samples, loss weight, real
    samples)``, or None.

    The loss weights assume a loss that is a mean over the batch. In training, a rank whose slice is
    empty gets the first sample with weight 0 (every rank must join DDP's all-reduce); in evaluation it
    gets nothing for that batch (None).
    """
    lo, hi = shard_bounds(total, env.rank, env.world_size)
    if hi > lo:
        return slice(lo, hi), (hi - lo) * env.world_size / total, hi - lo
    return (slice(0, 1), 0.0, 0) if train else None


def shard_batches(batches: Iterable[tuple[Tensor, Tensor]], env: DistEnv, train: bool) -> Iterator[Shard]:
    """This rank's slice of each global batch ``(x[T, B, ...], y[B])`` (see `shard_part`)."""
    for x, y in batches:
        part = shard_part(int(y.shape[0]), env, train)
        if part is not None:
            take, weight, n = part
            yield Shard(x[:, take], y[take], weight, n)


def reduce_sums(sums: Mapping[str, float], env: DistEnv, device: torch.device) -> dict[str, float]:
    """Sum each value over all ranks (metrics kept as sums and counts); a copy for one process."""
    if not env.enabled:
        return dict(sums)
    keys = list(sums)
    t = torch.tensor([float(sums[k]) for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return dict(zip(keys, t.tolist()))


def gather_objects(obj: T, env: DistEnv) -> list[T]:
    """``obj`` of every rank, in rank order (``[obj]`` for one process); every rank must call it."""
    if not env.enabled:
        return [obj]
    out: list[Any] = [None] * env.world_size
    dist.all_gather_object(out, obj)
    return out


def on_main(fn: Callable[[], T], env: DistEnv) -> T:
    """Run ``fn`` on rank 0 only and give its result, or its exception, to every rank.

    Use it for what must happen once (create the run directory, read a checkpoint): an error raised
    on rank 0 is raised on every rank instead of leaving the others waiting in a collective.
    The result must be picklable (tensors travel through ``broadcast_object_list``).
    """
    if not env.enabled:
        return fn()
    payload: list[Any] = [None]
    error: BaseException | None = None
    if env.is_main:
        try:
            payload = [("ok", fn())]
        except Exception as exc:  # handed to every rank below, then raised
            error = exc
            try:
                pickle.dumps(exc)
                payload = [("error", exc)]
            except Exception:  # an exception that cannot travel is sent as its message
                payload = [("error", RuntimeError(f"{type(exc).__name__}: {exc}"))]
    dist.broadcast_object_list(payload, src=0)
    status, value = payload[0]
    if status == "error":
        raise error if error is not None else value
    return value


def check_checkpoint_config(
    saved: Mapping[str, Any], current: Mapping[str, Any], may_change: Iterable[str], source: str
) -> None:
    """Refuse to resume from a checkpoint made with another configuration.

    Args:
        saved: the ``config`` stored in the checkpoint. current: the run's configuration.
        may_change: keys allowed to differ (e.g. ``epochs``, ``device``).
        source: the checkpoint's path, for the message.

    Raises:
        ValueError: naming the first differing key and both values.
    """
    allowed = set(may_change)
    for key in sorted(set(saved) | set(current)):
        if key not in allowed and saved.get(key) != current.get(key):
            raise ValueError(
                f"checkpoint {source} was saved from a different model or configuration ({key}="
                f"{saved.get(key)!r} there, {current.get(key)!r} here); use it with the config.toml of "
                "the run that made it"
            )
