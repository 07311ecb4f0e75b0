"""Transforms with snntorch's ``spikevision._transforms`` behaviour (no torchvision or pandas needed).

Event arrays ``tmad`` are ``[N, 1 + k]`` rows ``(t, address...)``, e.g. ``(t, p, x, y)``. Frame
transforms take tensors ``[..., H, W]``.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .slices import find_first

__all__ = [
    "Attention", "CropCenter", "CropDims", "Downsample", "ExpFilterEvents", "FilterEvents", "Repeat",
    "Rescale", "ToChannelHeightWidth", "ToCountFrame", "ToEventSum", "ToTensor", "dvs_permute",
    "find_first", "hflip", "rot90", "shuffle_along_axis", "toDtype", "toOneHot",
]


def shuffle_along_axis(a: np.ndarray, axis: int) -> np.ndarray:
    """Shuffle ``a`` independently along ``axis`` (each 1-D slice permuted); draws ``a.shape`` uniform
    numbers from numpy's global generator, so ``np.random.seed`` reproduces snntorch's shuffle."""
    order = np.argsort(np.random.rand(*np.shape(a)), axis=axis)
    return np.take_along_axis(np.asarray(a), order, axis=axis)


class toOneHot:
    """``[N, k]`` class indices -> ``float32`` rows ``[N, num_classes]`` with 1 at each listed index
    (a 1-D ``[N]`` input is read as ``[N, 1]``)."""

    def __init__(self, num_classes: int) -> None:
        self.num_classes = num_classes

    def __call__(self, integers: Any) -> Tensor:
        idx = torch.as_tensor(np.asarray(integers)).long()
        if idx.dim() == 1:
            idx = idx.unsqueeze(1)
        return torch.zeros(idx.shape[0], self.num_classes).scatter_(1, idx, 1)


class toDtype:
    """Convert to a tensor of ``dtype`` (a copy)."""

    def __init__(self, dtype: torch.dtype) -> None:
        self.dtype = dtype

    def __call__(self, integers: Any) -> Tensor:
        if isinstance(integers, Tensor):
            return integers.detach().clone().to(self.dtype)
        return torch.tensor(integers, dtype=self.dtype)


class Downsample:
    """Integer-divide every column of the events (time included) by ``factor`` (an int, or one factor
    per column)."""

    def __init__(self, factor: int | Sequence[int]) -> None:
        if not (isinstance(factor, int) or hasattr(factor, "__iter__")):
            raise TypeError(f"factor must be an int or one int per column, got {factor!r}")
        self.factor = factor

    def __call__(self, tmad: np.ndarray) -> np.ndarray:
        return tmad // (np.asarray(self.factor) if hasattr(self.factor, "__iter__") else self.factor)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(factor={self.factor})"


class CropDims:
    """Keep the events with ``low_crop[i] <= tmad[:, dims[i]] < high_crop[i]`` for each listed column,
    and shift those columns to start at 0."""

    def __init__(self, low_crop: Sequence[int], high_crop: Sequence[int], dims: Sequence[int]) -> None:
        self.low_crop = low_crop
        self.high_crop = high_crop
        self.dims = dims

    def __call__(self, tmad: np.ndarray) -> np.ndarray:
        out = np.array(tmad, copy=True)
        for low, high, d in zip(self.low_crop, self.high_crop, self.dims):
            out = out[out[:, d] < high]
            out = out[out[:, d] >= low]
            out[:, d] = out[:, d] - low
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class CropCenter:
    """Crop ``(t, p, x, y)`` events to a ``size[1:]`` window centred on ``center``, shifting ``(x, y)``
    to the window's corner (the input array is not modified; snntorch shifts it in place)."""

    def __init__(self, center: Sequence[int], size: Sequence[int]) -> None:
        self.center = np.array(center, dtype=np.uint32)
        self.att_shape = np.array(size[1:], dtype=np.uint32)
        self.translation = (np.asarray(center) - self.att_shape // 2).astype(np.uint32)

    def __call__(self, tmad: np.ndarray) -> np.ndarray:
        out = np.array(tmad, copy=True)
        out[:, 2:] -= self.translation.astype(out.dtype)
        out = out[~np.any(out[:, 2:] >= self.att_shape, axis=1)]
        return out[~np.any(out[:, 2:] < 0, axis=1)]

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Attention:
    """Crop ``(t, p, x, y)`` events around the running median position of the last
    ``n_attention_events`` events (a ``size[1:]`` window), dropping those that fall outside."""

    def __init__(self, n_attention_events: int, size: Sequence[int]) -> None:
        self.att_shape = np.array(size[1:], dtype=np.int64)
        self.n_att_events = n_attention_events

    def __call__(self, tmad: np.ndarray) -> np.ndarray:
        out = np.array(tmad, dtype=np.result_type(np.asarray(tmad).dtype, np.int64), copy=True)
        xy = out[:, 2:4].astype(float)
        padded = np.concatenate([np.full((self.n_att_events - 1, 2), np.nan), xy])
        windows = np.lib.stride_tricks.sliding_window_view(padded, self.n_att_events, axis=0)
        centroid = np.nanmedian(windows, axis=-1).astype(int)
        out[:, 2:4] -= centroid - self.att_shape // 2
        x, y = out[:, 2], out[:, 3]
        return out[(x >= 0) & (x < self.att_shape[1]) & (y >= 0) & (y < self.att_shape[0])]

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ToChannelHeightWidth:
    """Pad ``(t, x)`` events to ``(t, x, 0, 0)``; ``[N, 4]`` events pass unchanged.

    Raises:
        TypeError: other column counts.
    """

    def __call__(self, tmad: np.ndarray) -> np.ndarray:
        n = tmad.shape[1]
        if n == 2:
            zero = np.zeros(tmad.shape[0], dtype=tmad.dtype)
            return np.column_stack([tmad, zero, zero])
        if n == 4:
            return tmad
        raise TypeError(f"Wrong number of dimensions. Found {n - 1}, expected 1 or 3")

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _count_frames(tmad: np.ndarray, size: Sequence[int], edges: Sequence[int]) -> np.ndarray:
    """``int8`` counts ``[len(edges), *size]``: frame ``i`` holds the events from the end of frame
    ``i - 1`` up to (excluding) time ``edges[i]``, indexed by the address columns."""
    times, addrs = tmad[:, 0], tmad[:, 1:]
    counts = np.zeros([len(edges), *size], dtype=np.int64)
    start = 0
    for i, edge in enumerate(edges):
        end = bisect.bisect_left(times, edge, lo=start)
        if end > start:
            ee = addrs[start:end]
            np.add.at(counts, (i, *(ee[:, j].astype(int) for j in range(len(size)))), 1)
        start = end
    return np.minimum(counts, 127).astype(np.int8)


class ToCountFrame:
    """Count ``(t, address...)`` events with integer times into ``T`` frames ``[T, *size]`` (``int8``,
    saturated at 127): frame ``i`` holds the events with ``i <= t < i + 1`` (frame 0 also earlier ones)."""

    def __init__(self, T: int = 500, size: Sequence[int] = (2, 32, 32)) -> None:
        self.T = T
        self.size = list(size)
        self.ndim = len(size)

    def __call__(self, tmad: np.ndarray) -> np.ndarray:
        return _count_frames(np.asarray(tmad), self.size, range(1, self.T + 1))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(T={self.T})"


class ToEventSum:
    """Sum of the per-step counts of the events with ``t < T - 1`` (snntorch's frame edges
    ``0..T-1``): ``[1, *size]`` (``int64``)."""

    def __init__(self, T: int = 500, size: Sequence[int] = (2, 32, 32)) -> None:
        self.T = T
        self.size = list(size)
        self.ndim = len(size)

    def __call__(self, tmad: np.ndarray) -> np.ndarray:
        return _count_frames(np.asarray(tmad), self.size, range(self.T)).sum(axis=0, keepdims=True)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class FilterEvents:
    """Filter frames in time with a ``conv3d`` kernel ``[C, C/groups, K, 1, 1]``: ``[T, C, H, W]`` or
    ``[B, T, C, H, W]`` frames, zero-padded by ``tpad`` (default ``K // 2``) steps on each side."""

    def __init__(self, kernel: Tensor, groups: int = 1, tpad: int | None = None) -> None:
        self.kernel = kernel
        self.groups = groups
        self.tpad = self.kernel.shape[2] // 2 if tpad is None else tpad

    def __call__(self, chunks: Tensor) -> Tensor:
        chunks = chunks.to(self.kernel.device)
        single = chunks.dim() == 4
        data = chunks.permute(1, 0, 2, 3).unsqueeze(0) if single else chunks.permute(0, 2, 1, 3, 4)
        y = torch.nn.functional.conv3d(data, self.kernel, groups=self.groups, padding=[self.tpad, 0, 0])
        y = y.transpose(1, 2)
        return y[0] if single else y


class ExpFilterEvents(FilterEvents):
    """`FilterEvents` with a normalised causal exponential kernel ``exp(-t / tau)`` of ``length`` steps
    per channel (two groups, as in snntorch)."""

    def __init__(
        self, length: int, tau: float = 200, channels: int = 2, tpad: int | None = None,
        device: str | torch.device = "cpu",
    ) -> None:
        t = torch.arange(0.0, length, 1.0)
        decay = torch.exp(-t / tau)
        decay = torch.flip(decay / decay.sum(), [0])  # conv3d correlates, so the kernel is reversed
        kernel = decay.reshape(1, 1, -1, 1, 1).repeat(channels, 1, 1, 1, 1)
        super().__init__(kernel.to(device), 2, tpad)


class Rescale:
    """Multiply by ``factor``."""

    def __init__(self, factor: float) -> None:
        self.factor = factor

    def __call__(self, chunks: Any) -> Any:
        return chunks * self.factor

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.factor})"


def _flip(target: Any, dims: list[int]) -> Any:
    return target.flip(dims) if isinstance(target, Tensor) else np.flip(target, dims)


def _rot90(target: Any, dims: list[int]) -> Any:
    return target.rot90(1, dims) if isinstance(target, Tensor) else np.rot90(target, 1, dims)


class hflip:
    """Flip ``[..., H, W]`` frames left-right (tensor or numpy array)."""

    def __call__(self, target: Any) -> Any:
        return _flip(target, [-1])

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class rot90:
    """Rotate ``[..., H, W]`` frames by 90 degrees from the ``H`` axis towards the ``W`` axis."""

    def __call__(self, target: Any) -> Any:
        return _rot90(target, [-2, -1])

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class dvs_permute:
    """Flip ``[..., H, W]`` frames top-bottom, then rotate by 90 degrees from ``W`` towards ``H``."""

    def __call__(self, target: Any) -> Any:
        return _rot90(_flip(target, [-2]), [-1, -2])

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Repeat:
    """Stack ``n_repeat`` copies of a label vector ``[C]`` into ``[n_repeat, C]``
    (``np.tile(target[None], [n_repeat, 1])``)."""

    def __init__(self, n_repeat: int) -> None:
        self.n_repeat = n_repeat

    def __call__(self, target: Any) -> np.ndarray:
        return np.tile(np.expand_dims(target, 0), [self.n_repeat, 1])

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ToTensor:
    """A ``float32`` tensor copy of an array, on ``device``."""

    def __init__(self, device: str | torch.device = "cpu") -> None:
        self.device = device

    def __call__(self, frame: Any) -> Tensor:
        return torch.tensor(np.asarray(frame), dtype=torch.float32).to(self.device)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(device:{self.device})"
