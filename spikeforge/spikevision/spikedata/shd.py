"""snntorch's ``spikevision.spikedata.shd`` import path: `SHD` on `spikeforge.data.SHD`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...data import SHD as _SHD
from ...data.legacy.files import load_shd_hdf5, one_hot1d
from ...data.legacy.slices import get_tmad_slice
from ...data.legacy.transforms import (
    Downsample,
    Repeat,
    ToChannelHeightWidth,
    ToCountFrame,
    ToTensor,
    hflip,
    toOneHot,
)
from ._spec import frame_spec

#: class index -> label name: spoken digits 0-9 in English (E) then German (G)
mapping = {lang * 10 + digit: f"{'EG'[lang]}{digit}" for lang in range(2) for digit in range(10)}


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
        super().__init__(root, train, frame_spec(num_steps, dt, ds), transform, target_transform)


__all__ = [
    "SHD", "mapping",
    # snntorch's pipeline helpers, importable from here as in snntorch (`spikeforge.data.legacy`)
    "Downsample", "Repeat", "ToChannelHeightWidth", "ToCountFrame", "ToTensor", "get_tmad_slice", "hflip",
    "load_shd_hdf5", "one_hot1d", "toOneHot",
]
