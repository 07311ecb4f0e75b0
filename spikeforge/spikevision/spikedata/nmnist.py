"""snntorch's ``spikevision.spikedata.nmnist`` import path: `NMNIST` on `spikeforge.data.NMNIST`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...data import NMNIST as _NMNIST
from ...data.legacy.files import load_ATIS_bin, nmnist_get_file_names, nmnist_load_events_from_bin
from ...data.legacy.slices import get_tmad_slice
from ...data.legacy.transforms import (
    CropDims,
    Downsample,
    Repeat,
    ToCountFrame,
    ToTensor,
    dvs_permute,
    toOneHot,
)
from ._spec import frame_spec

#: class index -> label name
mapping = {digit: str(digit) for digit in range(10)}


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
        super().__init__(root, train, frame_spec(num_steps, dt, crop=(32, 32)), transform, target_transform)


__all__ = [
    "NMNIST", "mapping",
    # snntorch's pipeline helpers, importable from here as in snntorch (`spikeforge.data.legacy`)
    "CropDims", "Downsample", "Repeat", "ToCountFrame", "ToTensor", "dvs_permute", "get_tmad_slice",
    "load_ATIS_bin", "nmnist_get_file_names", "nmnist_load_events_from_bin", "toOneHot",
]
