"""Training batches for ``spikeforge train``: one interface over the digits and the event data sets.

Every batch is time-major ``x[T, B, ...]`` spikes (or event counts) and ``y[B]`` labels. The order
and the spike encoding of training epoch ``e`` come from a generator seeded with
``stream_seed(e, 1)``; the test split keeps its order and is encoded from ``stream_seed(0, 2)``,
so both depend only on ``(seed, epoch)`` and never on what ran before.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, Protocol

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Subset

from .digits import DIGITS_CLASSES, DIGITS_FEATURES, digits_arrays
from .frames import FrameSpec, collate_time_major


class _Config(Protocol):
    dataset: str
    data_dir: str | None
    batch_size: int
    num_steps: int
    encoding: str | None
    seed: int
    train_limit: int | None
    test_limit: int | None
    time_window_us: float | None
    denoise_us: float | None
    downsample: float


def subset_indices(total: int, limit: int) -> list[int]:
    """``limit`` sample indices out of ``total``: all of them when ``limit >= total``, else a fixed random
    subset (the same for every seed; event files are stored sorted by class, so the first N would
    hold one class only), in increasing order."""
    if limit >= total:
        return list(range(total))
    return sorted(torch.randperm(total, generator=torch.Generator().manual_seed(0))[:limit].tolist())


class DataSource:
    """Batches of one data set for a config (see `open_data`)."""

    in_features: int
    num_classes: int

    def __init__(self, cfg: _Config) -> None:
        self.cfg = cfg

    def stream_seed(self, epoch: int, stream: int) -> int:
        """A seed that depends only on ``(cfg.seed, epoch, stream)``."""
        return (int(self.cfg.seed) * 1_000_003 + epoch * 101 + stream) % (2**63 - 1)

    def _generator(self, train: bool, epoch: int | None) -> torch.Generator:
        return torch.Generator().manual_seed(self.stream_seed(epoch or 0, 1 if train else 2))

    def size(self, train: bool) -> int:
        raise NotImplementedError

    def num_batches(self, train: bool) -> int:
        return math.ceil(self.size(train) / self.cfg.batch_size)

    def batches(self, train: bool, epoch: int | None) -> Iterator[tuple[Tensor, Tensor]]:
        raise NotImplementedError

    def describe(self) -> str:
        return f"{self.cfg.dataset}: {self.size(True)} train / {self.size(False)} test samples"


class DigitsSource(DataSource):
    """The bundled digits, rate- or latency-coded over ``num_steps`` steps by spikegen."""

    in_features = DIGITS_FEATURES
    num_classes = DIGITS_CLASSES

    def __init__(self, cfg: _Config) -> None:
        super().__init__(cfg)
        self._splits = {}
        for train, limit in ((True, cfg.train_limit), (False, cfg.test_limit)):
            x, y = digits_arrays(train)
            self._splits[train] = (x[:limit], y[:limit]) if limit else (x, y)

    def size(self, train: bool) -> int:
        return int(self._splits[train][1].shape[0])

    def encode(self, x: Tensor, generator: torch.Generator) -> Tensor:
        """``x[B, 64]`` in [0, 1] -> spikes ``[T, B, 64]``."""
        from .. import spikegen

        if (self.cfg.encoding or "rate") == "rate":
            return spikegen.rate(x, num_steps=self.cfg.num_steps, generator=generator)
        return spikegen.latency(x, num_steps=self.cfg.num_steps, normalize=True, linear=True, clip=True)

    def batches(self, train: bool, epoch: int | None) -> Iterator[tuple[Tensor, Tensor]]:
        x, y = self._splits[train]
        g = self._generator(train, epoch)
        order = torch.randperm(len(y), generator=g) if train else torch.arange(len(y))
        for i in range(0, len(y), self.cfg.batch_size):
            idx = order[i: i + self.cfg.batch_size]
            yield self.encode(x[idx], g), y[idx]


class EventSource(DataSource):
    """An event data set from ``cfg.data_dir`` as cached frames of ``num_steps`` time bins."""

    def __init__(self, cfg: _Config) -> None:
        from . import get_event_dataset

        super().__init__(cfg)
        spec = FrameSpec(n_time_bins=cfg.num_steps, time_window_us=cfg.time_window_us,
                         denoise_us=cfg.denoise_us, spatial_factor=cfg.downsample)
        self._splits: dict[bool, Any] = {}
        for train, limit in ((False, cfg.test_limit), (True, cfg.train_limit)):
            ds = get_event_dataset(cfg.dataset, cfg.data_dir or ".", train, spec)
            self._splits[train] = Subset(ds, subset_indices(len(ds), limit)) if limit else ds
            self._splits[train][0]  # read one sample now: a corrupt file fails before the run starts
        self.in_features = math.prod(ds.frame_shape)
        self.num_classes = ds.num_classes

    def size(self, train: bool) -> int:
        return len(self._splits[train])

    def batches(self, train: bool, epoch: int | None) -> Iterator[tuple[Tensor, Tensor]]:
        ds = self._splits[train]
        order = torch.randperm(len(ds), generator=self._generator(train, epoch)).tolist() if train else None
        loader = DataLoader(ds, batch_size=self.cfg.batch_size, sampler=order, collate_fn=collate_time_major)
        for x, y in loader:
            yield x.float(), y


def open_data(cfg: _Config) -> DataSource:
    """The batches of ``cfg.dataset`` (raises the data set's not-found or corrupt-data errors)."""
    return DigitsSource(cfg) if cfg.dataset == "digits" else EventSource(cfg)
