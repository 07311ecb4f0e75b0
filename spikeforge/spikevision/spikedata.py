"""snntorch's ``spikevision.spikedata`` classes (NMNIST, DVSGesture, SHD) with their signatures.

They read the local files of `spikeforge.data` (``root`` is the data folder holding ``NMNIST/``,
``SHD/`` or ``DVSGesture/``) and never download: when the files are absent,
`DatasetNotFoundError` says where to place them, whatever
``download_and_create`` says. Samples are count frames of ``dt`` microseconds from ``t = 0``,
``num_steps`` of them (later events dropped), with the shapes of snntorch's classes. A given
``target_transform`` is applied to the integer label (snntorch replaced it by a one-hot repeat).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ..data import NMNIST as _NMNIST
from ..data import SHD as _SHD
from ..data import DVSGesture as _DVSGesture
from ..data import FrameSpec, events_to_frames


def _spec(num_steps: int, dt: float, ds: int = 1, crop: tuple[int, ...] | None = None) -> FrameSpec:
    if int(ds) < 1:
        raise ValueError(f"ds must be a positive integer downsampling factor, got {ds}")
    return FrameSpec(
        n_time_bins=int(num_steps), time_window_us=float(dt), spatial_factor=1 / int(ds), crop=crop
    )


class NMNIST(_NMNIST):
    """N-MNIST as ``[num_steps, 2, 32, 32]`` count frames (events with x or y >= 32 dropped).

    Args:
        root: data folder with ``NMNIST/Train`` and ``NMNIST/Test``.
        train: training or test split.
        transform: applied to the frames tensor. target_transform: applied to the int label.
        download_and_create: accepted for compatibility; nothing is downloaded.
        num_steps: number of frames ``T``. dt: frame width in microseconds.
    """

    def __init__(
        self,
        root: str,
        train: bool = True,
        transform: Callable[[Any], Any] | None = None,
        target_transform: Callable[[Any], Any] | None = None,
        download_and_create: bool = True,
        num_steps: int = 300,
        dt: int = 1000,
    ) -> None:
        self.num_steps, self.dt = num_steps, dt
        super().__init__(root, train, _spec(num_steps, dt, crop=(32, 32)), transform, target_transform)


class SHD(_SHD):
    """Spiking Heidelberg Digits as ``[num_steps, 700 // ds]`` count frames.

    Args:
        root: data folder with ``SHD/shd_train.h5`` and ``SHD/shd_test.h5``.
        train, transform, target_transform, download_and_create: as `NMNIST`.
        num_steps: number of frames. ds: channel downsampling factor. dt: frame width in microseconds.
    """

    def __init__(
        self,
        root: str,
        train: bool = True,
        transform: Callable[[Any], Any] | None = None,
        target_transform: Callable[[Any], Any] | None = None,
        download_and_create: bool = True,
        num_steps: int = 1000,
        ds: int = 1,
        dt: int = 1000,
    ) -> None:
        self.num_steps, self.dt, self.ds = num_steps, dt, ds
        super().__init__(root, train, _spec(num_steps, dt, ds), transform, target_transform)


class DVSGesture(_DVSGesture):
    """DVS Gesture as ``[num_steps, 2, 128 // ds, 128 // ds]`` count frames.

    Args:
        root: data folder with ``DVSGesture/DvsGesture`` (see `spikeforge.data.DVSGesture`).
        train, transform, target_transform, download_and_create: as `NMNIST`.
        num_steps: number of frames (default 500 for training, 1800 for test). dt: frame width in us.
        ds: spatial downsampling factor. return_meta: items are ``(frames, target, lighting, user)``.
        time_shuffle: start each sample at a random offset (uniform, from numpy's global generator)
            within its recording instead of at 0; such samples are not cached.
    """

    def __init__(
        self,
        root: str,
        train: bool = True,
        transform: Callable[[Any], Any] | None = None,
        target_transform: Callable[[Any], Any] | None = None,
        download_and_create: bool = True,
        num_steps: int | None = None,
        dt: int = 1000,
        ds: int | None = None,
        return_meta: bool = False,
        time_shuffle: bool = False,
    ) -> None:
        self.num_steps = num_steps if num_steps is not None else (500 if train else 1800)
        self.dt, self.ds = dt, ds or 1
        self.return_meta, self.time_shuffle = return_meta, time_shuffle
        super().__init__(root, train, _spec(self.num_steps, dt, self.ds), transform, target_transform)

    def __getitem__(self, index: int) -> tuple[Any, ...]:
        if self.time_shuffle:
            events, label = self.events(index)
            span = int(events["t"].max(initial=0)) - self.num_steps * self.dt
            if span > 0:
                offset = np.random.randint(0, span + 1)
                events = events[events["t"] >= offset].copy()
                events["t"] -= offset
            assert self.frames is not None
            out: Any = torch.from_numpy(events_to_frames(events, self.sensor_size, self.frames))
            if self.transform is not None:
                out = self.transform(out)
            target: Any = label if self.target_transform is None else self.target_transform(label)
        else:
            out, target = super().__getitem__(index)
        if self.return_meta:
            return (out, target, *self.meta(index))
        return out, target


__all__ = ["NMNIST", "DVSGesture", "SHD"]
