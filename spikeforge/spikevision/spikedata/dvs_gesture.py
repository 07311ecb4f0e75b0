"""snntorch's ``spikevision.spikedata.dvs_gesture`` import path: `DVSGesture` on
`spikeforge.data.DVSGesture`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ...data import DVSGesture as _DVSGesture
from ...data import events_to_frames
from ...data.legacy.files import aedat_to_events
from ...data.legacy.slices import get_tmad_slice
from ...data.legacy.transforms import Downsample, Repeat, ToCountFrame, ToTensor, dvs_permute, toOneHot
from ._spec import frame_spec

#: class index -> gesture name (the 11 classes of the IBM DVS Gesture data set)
mapping = dict(
    enumerate(
        [
            "Hand Clapping", "Right Hand Wave", "Left Hand Wave", "Right Arm CW", "Right Arm CCW",
            "Left Arm CW", "Left Arm CCW", "Arm Roll", "Air Drums", "Air Guitar", "Other",
        ]
    )
)


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
        super().__init__(root, train, frame_spec(self.num_steps, dt, self.ds), transform, target_transform)

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


__all__ = [
    "DVSGesture", "mapping",
    # snntorch's pipeline helpers, importable from here as in snntorch (`spikeforge.data.legacy`)
    "Downsample", "Repeat", "ToCountFrame", "ToTensor", "aedat_to_events", "dvs_permute", "get_tmad_slice",
    "toOneHot",
]
