"""Training batches for ``spikeforge train``: one interface over the digits and the event data sets.

Every batch is time-major ``x[T, B, ...]`` spikes (or event counts) and ``y[B]`` labels. There are
three splits: ``train``, ``val`` (a fixed part of the data set's training split held out for choosing
the best epoch, see `holdout_indices`) and ``test`` (the data set's own test split). The order and
the spike encoding of training epoch ``e`` come from a generator seeded with ``stream_seed(e, 1)``;
the test and validation splits keep their order and are encoded from ``stream_seed(0, 2)`` and
``stream_seed(0, 3)``, so all depend only on ``(seed, epoch)`` and never on what ran before.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Subset

from .digits import DIGITS_CLASSES, DIGITS_FEATURES, digits_arrays
from .frames import FrameSpec, collate_time_major

if TYPE_CHECKING:
    from ..training.distributed import DistEnv, Shard


class _Config(Protocol):
    dataset: str
    data_dir: str | None
    batch_size: int
    num_steps: int
    encoding: str | None
    seed: int
    val_fraction: float
    model: str
    train_limit: int | None
    test_limit: int | None
    time_window_us: float | None
    denoise_us: float | None
    downsample: float
    drop_out_of_range: bool | None


def frame_spec(cfg: _Config) -> FrameSpec:
    """How ``cfg`` bins an event data set's events into ``num_steps`` frames."""
    return FrameSpec(n_time_bins=cfg.num_steps, time_window_us=cfg.time_window_us, denoise_us=cfg.denoise_us,
                     spatial_factor=cfg.downsample)


def _fixed_permutation(total: int, seed: int) -> list[int]:
    """A random order of ``range(total)`` that depends only on ``seed`` (never on the training seed)."""
    return torch.randperm(total, generator=torch.Generator().manual_seed(seed)).tolist()


def subset_indices(total: int, limit: int) -> list[int]:
    """``limit`` sample indices out of ``total``: all of them when ``limit >= total``, else a fixed random
    subset (the same for every seed; event files are stored sorted by class, so the first N would
    hold one class only), in increasing order."""
    if limit >= total:
        return list(range(total))
    return sorted(_fixed_permutation(total, 0)[:limit])


def holdout_indices(total: int, fraction: float) -> tuple[list[int], list[int]]:
    """Split ``range(total)`` into ``(train, val)`` index lists, ``val`` holding ``fraction * total``
    indices rounded half up (at least one when ``fraction > 0``), chosen at random by a fixed generator (the
    same for every training seed, so runs with different seeds are validated on the same samples), both
    in increasing order.

    Raises:
        ValueError: ``fraction`` outside [0, 1), or no training sample would be left.
    """
    if not 0 <= fraction < 1:
        raise ValueError(f"--val-fraction must lie in [0, 1), got {fraction}")
    n_val = max(1, int(fraction * total + 0.5)) if fraction > 0 else 0
    if n_val >= total:
        raise ValueError(f"--val-fraction {fraction} of {total} training samples leaves none to train on; "
                         "use a smaller --val-fraction (or 0) or a larger --train-limit")
    order = _fixed_permutation(total, 1)
    return sorted(order[n_val:]), sorted(order[:n_val])


#: the stream of `DataSource.stream_seed` each split is encoded from (the training split: per epoch)
_STREAMS = {"train": 1, "test": 2, "val": 3}


def split_name(split: str | bool) -> str:
    """``"train"``, ``"val"`` or ``"test"``; ``True`` means ``"train"`` and ``False`` ``"test"``.

    Raises:
        ValueError: any other value.
    """
    if split is True or split is False:
        return "train" if split else "test"
    if split not in _STREAMS:
        raise ValueError(f"unknown split {split!r}; use 'train', 'val' or 'test'")
    return str(split)


class DataSource:
    """Batches of one data set for a config (see `open_data`): splits ``train``, ``val`` and ``test``
    (the methods also take ``True`` for ``train`` and ``False`` for ``test``)."""

    in_features: int
    num_classes: int
    #: the per-step shape of ``x`` in `batches`: ``x[T, B, *input_shape]``
    input_shape: tuple[int, ...]

    def __init__(self, cfg: _Config) -> None:
        self.cfg = cfg

    def stream_seed(self, epoch: int, stream: int) -> int:
        """A seed that depends only on ``(cfg.seed, epoch, stream)``."""
        return (int(self.cfg.seed) * 1_000_003 + epoch * 101 + stream) % (2**63 - 1)

    def _generator(self, split: str, epoch: int | None) -> torch.Generator:
        return torch.Generator().manual_seed(self.stream_seed(epoch or 0, _STREAMS[split]))

    def _index_batches(self, split: str, generator: torch.Generator) -> list[list[int]]:
        """The sample indices of each global batch of ``split``: shuffled by ``generator`` for the
        training split, in order otherwise."""
        n = self.size(split)
        order = torch.randperm(n, generator=generator).tolist() if split == "train" else list(range(n))
        size = self.cfg.batch_size
        return [order[i: i + size] for i in range(0, n, size)]

    def size(self, split: str | bool) -> int:
        raise NotImplementedError

    def num_batches(self, split: str | bool) -> int:
        return math.ceil(self.size(split) / self.cfg.batch_size)

    def batches(self, split: str | bool, epoch: int | None) -> Iterator[tuple[Tensor, Tensor]]:
        raise NotImplementedError

    def shards(self, split: str | bool, epoch: int | None, env: DistEnv, train: bool) -> Iterator[Shard]:
        """This process's slice of every global batch of `batches` (see
        `spikeforge.training.distributed.shard_batches`): the whole batch is made, then sliced, so that
        a random encoding draws the same numbers whatever the number of processes."""
        from ..training.distributed import shard_batches

        return shard_batches(self.batches(split, epoch), env, train)

    def describe(self) -> str:
        val = f" / {self.size('val')} validation" if self.size("val") else ""
        return f"{self.cfg.dataset}: {self.size('train')} train{val} / {self.size('test')} test samples"


class DigitsSource(DataSource):
    """The bundled digits, rate- or latency-coded over ``num_steps`` steps by spikegen: ``[T, B, 64]``,
    or ``[T, B, 1, 8, 8]`` images for the ``conv`` model."""

    in_features = DIGITS_FEATURES
    num_classes = DIGITS_CLASSES

    def __init__(self, cfg: _Config) -> None:
        super().__init__(cfg)
        self.input_shape = (1, 8, 8) if cfg.model == "conv" else (DIGITS_FEATURES,)
        self._splits: dict[str, tuple[Tensor, Tensor]] = {}
        for train, limit in ((True, cfg.train_limit), (False, cfg.test_limit)):
            x, y = digits_arrays(train)
            self._splits["train" if train else "test"] = (x[:limit], y[:limit]) if limit else (x, y)
        x, y = self._splits["train"]
        keep, held = holdout_indices(len(y), cfg.val_fraction)
        self._splits["train"], self._splits["val"] = (x[keep], y[keep]), (x[held], y[held])

    def size(self, split: str | bool) -> int:
        return int(self._splits[split_name(split)][1].shape[0])

    def encode(self, x: Tensor, generator: torch.Generator) -> Tensor:
        """``x[B, 64]`` in [0, 1] -> spikes ``[T, B, 64]``."""
        from .. import spikegen

        if (self.cfg.encoding or "rate") == "rate":
            return spikegen.rate(x, num_steps=self.cfg.num_steps, generator=generator)
        return spikegen.latency(x, num_steps=self.cfg.num_steps, normalize=True, linear=True, clip=True)

    def batches(self, split: str | bool, epoch: int | None) -> Iterator[tuple[Tensor, Tensor]]:
        split = split_name(split)
        x, y = self._splits[split]
        g = self._generator(split, epoch)  # draws the order, then each batch's encoding
        for idx in self._index_batches(split, g):
            spk = self.encode(x[idx], g)
            yield spk.reshape(*spk.shape[:2], *self.input_shape), y[idx]


class DroppedEventsWarning(UserWarning):
    """Out-of-range events were dropped (``--drop-out-of-range``); the message says how many."""


class EventSource(DataSource):
    """An event data set from ``cfg.data_dir`` as cached frames of ``num_steps`` time bins (`frame_spec`;
    `sensor_size` is the data set's ``(W, H, P)``). With
    ``cfg.drop_out_of_range``, each pass over a split that dropped events outside the sensor ends with a
    `DroppedEventsWarning` saying how many, in how many samples."""

    def __init__(self, cfg: _Config) -> None:
        from . import get_event_dataset

        super().__init__(cfg)
        spec = frame_spec(cfg)
        self._drop = bool(getattr(cfg, "drop_out_of_range", None))
        self._splits: dict[str, Any] = {}
        for train, limit in ((False, cfg.test_limit), (True, cfg.train_limit)):
            ds = get_event_dataset(cfg.dataset, cfg.data_dir or ".", train, spec,
                                   drop_out_of_range=self._drop)
            indices = subset_indices(len(ds), limit) if limit else list(range(len(ds)))
            if train:
                keep, held = holdout_indices(len(indices), cfg.val_fraction)
                self._splits["train"] = Subset(ds, [indices[i] for i in keep])
                self._splits["val"] = Subset(ds, [indices[i] for i in held])
            else:
                self._splits["test"] = Subset(ds, indices)
            ds[indices[0]]  # read one sample now: a corrupt file fails before the run starts
        self.sensor_size: tuple[int, int, int] = tuple(ds.sensor_size)  # type: ignore[assignment]
        self.input_shape = tuple(ds.frame_shape)
        self.in_features = math.prod(ds.frame_shape)
        self.num_classes = ds.num_classes

    def size(self, split: str | bool) -> int:
        return len(self._splits[split_name(split)])

    def describe(self) -> str:
        return super().describe() + (" (events outside the sensor dropped)" if self._drop else "")

    def _load(self, split: str, index_lists: list[list[int]]) -> Iterator[tuple[Tensor, Tensor]]:
        subset = self._splits[split]
        loader = DataLoader(subset, batch_sampler=index_lists, collate_fn=collate_time_major)
        for x, y in loader:
            yield x.float(), y
        if self._drop:
            read = {subset.indices[i] for batch in index_lists for i in batch}
            counts = [n for i, n in subset.dataset.dropped.items() if i in read]
            if counts:
                warnings.warn(f"{self.cfg.dataset} {split} split: dropped {sum(counts)} events outside the "
                              f"sensor in {len(counts)} of {len(read)} samples read (--drop-out-of-range)",
                              DroppedEventsWarning, stacklevel=2)

    def batches(self, split: str | bool, epoch: int | None) -> Iterator[tuple[Tensor, Tensor]]:
        split = split_name(split)
        return self._load(split, self._index_batches(split, self._generator(split, epoch)))

    def shards(self, split: str | bool, epoch: int | None, env: DistEnv, train: bool) -> Iterator[Shard]:
        """As `DataSource.shards`, but each process reads only its own samples of a global batch (event
        frames involve no random numbers, so the slice equals that of the whole batch)."""
        from ..training.distributed import Shard, shard_part

        split = split_name(split)
        plan: list[tuple[list[int], float, int]] = []  # (indices read, loss weight, real samples)
        for batch in self._index_batches(split, self._generator(split, epoch)):
            part = shard_part(len(batch), env, train)
            if part is not None:
                take, weight, n = part
                plan.append((batch[take], weight, n))
        loaded = self._load(split, [indices for indices, _, _ in plan])
        for (x, y), (_, weight, n) in zip(loaded, plan):
            yield Shard(x, y, weight, n)


def open_data(cfg: _Config) -> DataSource:
    """The batches of ``cfg.dataset`` (raises the data set's not-found or corrupt-data errors)."""
    return DigitsSource(cfg) if cfg.dataset == "digits" else EventSource(cfg)
