"""Events to time-binned frames, the on-disk frame cache, and the time-major collate function.

A frame is the count of events per (time bin, polarity, pixel): ``[T, P, H, W]`` for a camera,
``[T, C]`` for a cochlea (SHD). Denoising and downsampling use tonic's transforms
(`tonic.transforms.Denoise`, `tonic.transforms.Downsample`) on the events first.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor


@dataclass(frozen=True)
class FrameSpec:
    """How events become frames.

    Attributes:
        n_time_bins: number of time bins ``T``. With ``time_window_us`` too, bins are
            ``[k*dt, (k+1)*dt)`` from ``t = 0`` and later events are dropped (snntorch's spikevision
            rule); alone, the sample's span ``[t_min, t_max]`` is cut into ``T`` equal bins (tonic's
            ``ToFrame(n_time_bins=T)``).
        time_window_us: bin width ``dt`` in microseconds; alone, ``T = t_max // dt + 1`` varies per sample.
        denoise_us: drop events with no neighbour event within 1 pixel and this many microseconds
            (tonic ``Denoise(filter_time)``; cameras only). None: no denoising.
        spatial_factor: multiply coordinates by this factor in (0, 1] (tonic ``Downsample``); the sensor
            shrinks to ``floor(size * factor)``.
        crop: keep only events with ``x < crop[0]`` (and ``y < crop[1]`` for cameras), after downsampling.

    Raises:
        ValueError: neither ``n_time_bins`` nor ``time_window_us``, a non-positive value, or a factor
            outside (0, 1].
    """

    n_time_bins: int | None = None
    time_window_us: float | None = None
    denoise_us: float | None = None
    spatial_factor: float = 1.0
    crop: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.n_time_bins is None and self.time_window_us is None:
            raise ValueError("FrameSpec needs n_time_bins or time_window_us (or both)")
        if self.n_time_bins is not None and int(self.n_time_bins) < 1:
            raise ValueError(f"n_time_bins must be >= 1, got {self.n_time_bins}")
        if self.time_window_us is not None and not self.time_window_us > 0:
            raise ValueError(f"time_window_us must be > 0, got {self.time_window_us}")
        if self.denoise_us is not None and not self.denoise_us > 0:
            raise ValueError(f"denoise_us must be > 0, got {self.denoise_us}")
        if not 0 < self.spatial_factor <= 1:
            raise ValueError(f"spatial_factor must be in (0, 1], got {self.spatial_factor}")

    def key(self) -> str:
        """A short stable hash of the spec (names the cache folder)."""
        return hashlib.sha1(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]


def frame_sensor(sensor_size: tuple[int, int, int], spec: FrameSpec) -> tuple[int, int, int]:
    """The ``(W, H, P)`` sensor after downsampling and cropping."""
    w, h, p = sensor_size
    if spec.spatial_factor != 1:
        w = max(1, int(w * spec.spatial_factor))
        h = h if h == 1 else max(1, int(h * spec.spatial_factor))
    if spec.crop is not None:
        w = min(w, spec.crop[0])
        if len(spec.crop) > 1 and h > 1:
            h = min(h, spec.crop[1])
    return w, h, p


def events_to_frames(events: np.ndarray, sensor_size: tuple[int, int, int], spec: FrameSpec) -> np.ndarray:
    """Bin events into count frames.

    Args:
        events: structured array with ``x``, ``t`` (microseconds) and, for cameras, ``y`` and ``p``.
        sensor_size: tonic-style ``(W, H, P)``; ``H == 1`` and ``P == 1`` means a 1-D sensor (SHD).
        spec: the binning (see `FrameSpec`).

    Returns:
        float32 ``[T, P, H, W]`` (cameras) or ``[T, W]`` (1-D sensors) of event counts.
    """
    import tonic.transforms as tt

    camera = "y" in (events.dtype.names or ())
    if camera and spec.denoise_us is not None and len(events):
        events = tt.Denoise(filter_time=spec.denoise_us)(events)
    if spec.spatial_factor != 1 and len(events):
        events = tt.Downsample(spatial_factor=spec.spatial_factor)(events.copy())
    w, h, p = frame_sensor(sensor_size, spec)
    keep = events["x"] < w
    if camera:
        keep &= events["y"] < h
    events = events[keep]
    t = events["t"].astype(np.int64)
    if spec.time_window_us is not None:
        dt = float(spec.time_window_us)
        bins = np.floor(t / dt).astype(np.int64)
        n_bins = int(spec.n_time_bins) if spec.n_time_bins is not None else int(bins.max(initial=0)) + 1
    else:
        n_bins = int(spec.n_time_bins)  # type: ignore[arg-type]
        t0 = int(t.min(initial=0))
        span = int(t.max(initial=0)) - t0 + 1
        bins = (t - t0) * n_bins // span
    in_range = (bins >= 0) & (bins < n_bins)
    if camera:
        frames = np.zeros((n_bins, p, h, w), dtype=np.float32)
        pol = np.clip(events["p"][in_range].astype(np.int64), 0, p - 1)
        np.add.at(frames, (bins[in_range], pol, events["y"][in_range], events["x"][in_range]), 1.0)
        return frames
    frames = np.zeros((n_bins, w), dtype=np.float32)
    np.add.at(frames, (bins[in_range], events["x"][in_range]), 1.0)
    return frames


class FrameCache:
    """Frames stored once per sample under ``folder`` (sparse ``.npz``: flat indices, counts, shape, and
    the number of out-of-range events dropped while reading the sample).

    Entries are named by a key the caller derives from the sample's source (see
    `source_key`), so a changed, moved or deleted source file never serves old frames. Writes
    are atomic (temporary file, then rename), so an interrupted conversion never leaves a
    half-written entry; an unreadable entry is converted again. Callers store only samples that
    passed validation (`spikeforge.data.checks`), so a cached entry stands for a checked sample.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.npz"

    def get_entry(self, key: str) -> tuple[np.ndarray, int] | None:
        """``(frames, dropped)`` stored under ``key``, or None."""
        path = self._path(key)
        if not path.exists():
            return None
        try:
            with np.load(path) as z:
                frames = np.zeros(tuple(z["shape"]), dtype=np.float32)
                frames.reshape(-1)[z["index"]] = z["count"]
                return frames, int(z["dropped"]) if "dropped" in z.files else 0
        except (OSError, ValueError, KeyError):
            return None

    def get(self, key: str) -> np.ndarray | None:
        """The cached frames stored under ``key``, or None."""
        entry = self.get_entry(key)
        return None if entry is None else entry[0]

    def put(self, key: str, frames: np.ndarray, dropped: int = 0) -> None:
        """Store ``frames`` under ``key``, with the number of events dropped while reading them."""
        self.folder.mkdir(parents=True, exist_ok=True)
        flat = frames.reshape(-1)
        nz = np.flatnonzero(flat)
        fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            np.savez(f, index=nz.astype(np.int64), count=flat[nz], shape=np.asarray(frames.shape),
                     dropped=np.int64(dropped))
        os.replace(tmp, self._path(key))


def source_key(path: Path, root: Path, part: str = "") -> str:
    """A cache key for the sample ``part`` of the file ``path``: a hash of its path relative to
    ``root``, its size and its modification time (ns), so a replaced or edited file gets a new key.

    Raises:
        FileNotFoundError: ``path`` no longer exists.
    """
    stat = path.stat()
    rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    text = json.dumps([rel, stat.st_size, stat.st_mtime_ns, part])
    return hashlib.sha1(text.encode()).hexdigest()[:20]


def collate_time_major(batch: list[tuple[Tensor, int]]) -> tuple[Tensor, Tensor]:
    """Stack ``(x[T_i, ...], label)`` samples into ``x[T, B, ...]`` and ``y[B]`` (int64).

    Shorter sequences are padded with zeros at the end to the longest ``T`` of the batch.

    Raises:
        ValueError: if the samples' per-step shapes differ.
    """
    xs = [torch.as_tensor(x) for x, _ in batch]
    shapes = {tuple(x.shape[1:]) for x in xs}
    if len(shapes) != 1:
        raise ValueError(f"cannot batch samples of different per-step shapes {sorted(shapes)}")
    steps = max(x.shape[0] for x in xs)
    out = xs[0].new_zeros((steps, len(xs), *xs[0].shape[1:]))
    for i, x in enumerate(xs):
        out[: x.shape[0], i] = x
    return out, torch.as_tensor([int(y) for _, y in batch], dtype=torch.int64)
