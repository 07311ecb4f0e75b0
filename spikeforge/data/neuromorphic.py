"""N-MNIST, SHD and DVS Gesture read from a local folder in their published on-disk layouts.

Nothing is downloaded: when the files are missing, `DatasetNotFoundError` says which files
are expected where and where to get them. Each sample becomes frames (see `FrameSpec`),
converted once and cached under ``<root>/.spikeforge_cache/`` (an entry per sample, keyed by its
file's relative path, size and modification time: a file that was deleted, replaced or edited (new
size or mtime) is converted again); batches are time-major with `collate_time_major`.

Layouts under ``root`` (the ``--data-dir``), the same folders tonic uses:

* ``NMNIST/Train/<digit>/*.bin`` and ``NMNIST/Test/<digit>/*.bin`` (train.zip / test.zip extracted).
* ``SHD/shd_train.h5`` and ``SHD/shd_test.h5`` (the ``.h5.gz`` files gunzipped).
* ``DVSGesture/DvsGesture/`` with ``trials_to_train.txt``, ``trials_to_test.txt``,
  ``userNN_<lighting>.aedat`` and ``userNN_<lighting>_labels.csv`` (IBM's DvsGesture.tar.gz extracted),
  or tonic's preprocessed ``DVSGesture/ibmGestureTrain|ibmGestureTest/userNN_<lighting>/<class>.npy``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch.utils.data import Dataset

from .events import (
    CAMERA_DTYPE,
    CorruptDataError,
    DatasetNotFoundError,
    read_aedat31,
    read_gesture_labels,
    read_nmnist,
    read_shd,
    shd_length,
)
from .frames import FrameCache, FrameSpec, events_to_frames, frame_sensor, source_key


class EventDataset(Dataset):
    """Base class: a list of samples read from disk, turned into cached frames.

    Args:
        root: the data folder (``--data-dir``) holding the data set's folder.
        train: the training split, else the test split.
        frames: how to bin events; None returns the raw events (structured array) instead of frames.
        transform: applied to each sample's frames tensor (or events when ``frames`` is None).
        target_transform: applied to each label.
        cache: keep converted frames on disk under ``<root>/.spikeforge_cache/`` (default True).

    Items:
        ``(frames, label)``: float32 frames ``[T, P, H, W]`` (cameras) or ``[T, C]`` (SHD), int label.

    Raises:
        DatasetNotFoundError: when the expected files are absent (the message names them).
        CorruptDataError: when a file cannot be parsed (raised when the sample is read).
    """

    name: ClassVar[str]
    sensor_size: ClassVar[tuple[int, int, int]]
    num_classes: ClassVar[int]

    def __init__(
        self,
        root: str | Path,
        train: bool = True,
        frames: FrameSpec | None = None,
        transform: Callable[[Any], Any] | None = None,
        target_transform: Callable[[Any], Any] | None = None,
        cache: bool = True,
    ) -> None:
        self.root = Path(root).expanduser()
        self.train = train
        self.frames = frames
        self.transform = transform
        self.target_transform = target_transform
        self._samples: list[Any] = self._index()
        if not self._samples:
            raise self.not_found()
        self._cache = None
        if cache and frames is not None:
            split = "train" if train else "test"
            self._cache = FrameCache(self.root / ".spikeforge_cache" / f"{self.name}-{split}-{frames.key()}")

    # subclasses: where the files are, how to list and read samples
    def _index(self) -> list[Any]:
        raise NotImplementedError

    def _read(self, sample: Any) -> tuple[np.ndarray, int]:
        raise NotImplementedError

    def _source(self, sample: Any) -> tuple[Path, str]:
        """The file a sample is read from and which part of it (the frame cache's key)."""
        raise NotImplementedError

    def expected(self) -> str:
        """Which files are expected where, and how to obtain them (one sentence)."""
        raise NotImplementedError

    def not_found(self) -> DatasetNotFoundError:
        """The error raised when the files are absent."""
        return DatasetNotFoundError(
            f"{self.name} data not found: expected {self.expected()}; this machine cannot download, "
            f"so place the files there and pass --data-dir {self.root}"
        )

    @property
    def frame_shape(self) -> tuple[int, ...]:
        """The per-step shape of a frame: ``(P, H, W)`` or ``(C,)``."""
        if self.frames is None:
            raise ValueError("frame_shape needs a FrameSpec (frames=None returns raw events)")
        w, h, p = frame_sensor(self.sensor_size, self.frames)
        return (w,) if h == 1 and p == 1 else (p, h, w)

    @property
    def targets(self) -> list[int]:
        """The label of every sample (read from the index, not the event files, where possible)."""
        return [self._label(s) for s in self._samples]

    def _label(self, sample: Any) -> int:
        return self._read(sample)[1]

    def events(self, index: int) -> tuple[np.ndarray, int]:
        """The raw events and label of sample ``index``."""
        return self._read(self._samples[index])

    def _cache_source(self, index: int) -> tuple[Path, Path, str]:
        path, part = self._source(self._samples[index])
        return path, self.root, part

    def __len__(self) -> int:
        return len(self._samples)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        if self.frames is None:
            data, label = self.events(index)
            out: Any = data
        else:
            key = source_key(*self._cache_source(index)) if self._cache is not None else ""
            cached = self._cache.get(key) if self._cache is not None else None
            if cached is None:
                data, label = self.events(index)
                cached = events_to_frames(data, self.sensor_size, self.frames)
                if self._cache is not None:
                    self._cache.put(key, cached)
            else:
                label = self._label(self._samples[index])
            out = torch.from_numpy(cached)
        if self.transform is not None:
            out = self.transform(out)
        target: Any = label if self.target_transform is None else self.target_transform(label)
        return out, target


class NMNIST(EventDataset):
    """N-MNIST (Orchard et al., 2015): saccade recordings of MNIST digits, 34x34 pixels, 2 polarities,
    10 classes; 60,000 training and 10,000 test files. The label is the folder name."""

    name = "NMNIST"
    sensor_size = (34, 34, 2)
    num_classes = 10

    def _folder(self) -> Path:
        return self.root / "NMNIST" / ("Train" if self.train else "Test")

    def expected(self) -> str:
        return (
            f"{self._folder()}/<digit 0-9>/*.bin (extract train.zip and test.zip of N-MNIST, "
            f"https://www.garrickorchard.com/datasets/n-mnist, into {self.root / 'NMNIST'})"
        )

    def _index(self) -> list[Any]:
        folder = self._folder()
        digits = sorted(folder.glob("[0-9]"))
        return [(p, int(p.parent.name)) for d in digits for p in sorted(d.glob("*.bin"))]

    def _label(self, sample: Any) -> int:
        return int(sample[1])

    def _read(self, sample: Any) -> tuple[np.ndarray, int]:
        return read_nmnist(sample[0]), int(sample[1])

    def _source(self, sample: Any) -> tuple[Path, str]:
        return sample[0], ""


class SHD(EventDataset):
    """Spiking Heidelberg Digits (Cramer et al., 2020): spoken digits 0-9 in English and German through
    a 700-channel cochlea model, 20 classes; 8,156 training and 2,264 test samples."""

    name = "SHD"
    sensor_size = (700, 1, 1)
    num_classes = 20

    def _file(self) -> Path:
        return self.root / "SHD" / ("shd_train.h5" if self.train else "shd_test.h5")

    def expected(self) -> str:
        return (
            f"{self._file()} (gunzip shd_train.h5.gz / shd_test.h5.gz from "
            f"https://zenkelab.org/datasets/ into {self.root / 'SHD'})"
        )

    def _index(self) -> list[Any]:
        path = self._file()
        if not path.is_file():
            return []
        import h5py

        n = shd_length(path)
        try:
            with h5py.File(path, "r") as f:
                self._labels = np.asarray(f["labels"][:], dtype=np.int64)
        except (OSError, KeyError) as exc:
            raise CorruptDataError(f"{path}: cannot read labels ({exc}); re-download and gunzip it") from exc
        return list(range(n))

    def _label(self, sample: Any) -> int:
        return int(self._labels[sample])

    def _read(self, sample: Any) -> tuple[np.ndarray, int]:
        return read_shd(self._file(), int(sample))

    def _source(self, sample: Any) -> tuple[Path, str]:
        return self._file(), str(int(sample))


class DVSGesture(EventDataset):
    """IBM DVS Gesture (Amir et al., 2017): 11 hand and arm gestures by 29 people under 5 lighting
    conditions, 128x128 pixels, 2 polarities. From the original AEDAT 3.1 recordings, each labelled
    interval of a ``*_labels.csv`` is one sample (times relative to its start); tonic's preprocessed
    ``.npy`` layout (``x, y, p, t`` in ms per row) is read too."""

    name = "DVSGesture"
    sensor_size = (128, 128, 2)
    num_classes = 11

    def _folder(self) -> Path:
        return self.root / "DVSGesture"

    def expected(self) -> str:
        split = "train" if self.train else "test"
        return (
            f"{self._folder() / 'DvsGesture'}/trials_to_{split}.txt with the listed userNN_<light>.aedat "
            f"and userNN_<light>_labels.csv files (extract IBM's DvsGesture.tar.gz, "
            f"https://research.ibm.com/dvsgesture/, into {self._folder()})"
        )

    def _index(self) -> list[Any]:
        self._loaded: tuple[Path | None, np.ndarray] = (None, np.empty(0, dtype=CAMERA_DTYPE))
        original = self._folder() / "DvsGesture"
        trials = original / f"trials_to_{'train' if self.train else 'test'}.txt"
        if trials.is_file():
            listed = trials.read_text().split()
            if not listed:  # present but empty: "not found" would send the user looking for the file
                raise CorruptDataError(f"{trials} lists no recordings (it is empty); re-extract "
                                       "DvsGesture.tar.gz")
            samples: list[Any] = []
            for line in listed:
                aedat = original / line.strip()
                labels = aedat.with_name(aedat.stem + "_labels.csv")
                if not aedat.is_file() or not labels.is_file():
                    raise DatasetNotFoundError(
                        f"{trials} lists {line} but {aedat} or {labels} is missing; "
                        "re-extract DvsGesture.tar.gz"
                    )
                rows = read_gesture_labels(labels)
                if not rows:
                    raise CorruptDataError(
                        f"{labels}: no labelled gesture (expected rows 'class,start_us,end_us'); "
                        "re-extract DvsGesture.tar.gz"
                    )
                samples += [(aedat, cls, start, end) for cls, start, end in rows]
            return samples
        pre = self._folder() / ("ibmGestureTrain" if self.train else "ibmGestureTest")
        return [(p, int(p.stem), None, None) for p in sorted(pre.glob("user*/*.npy"))]

    def _label(self, sample: Any) -> int:
        return int(sample[1])

    def _source(self, sample: Any) -> tuple[Path, str]:
        path, cls, start, end = sample
        return path, f"{cls}:{start}:{end}"

    def meta(self, index: int) -> tuple[str, int]:
        """``(lighting, user)`` of sample ``index``, from its ``userNN_<lighting>`` name."""
        path = self._samples[index][0]
        name = path.stem if path.suffix == ".aedat" else path.parent.name
        user, lighting = name.split("_", 1)
        return lighting, int(user[4:])

    def _read(self, sample: Any) -> tuple[np.ndarray, int]:
        path, cls, start, end = sample
        if start is None:
            try:
                rows = np.load(path)
            except (OSError, ValueError) as exc:
                raise CorruptDataError(f"{path}: not a readable .npy event array ({exc})") from exc
            if rows.ndim != 2 or rows.shape[1] != 4:
                raise CorruptDataError(f"{path}: expected [N, 4] rows of x, y, p, t(ms), got {rows.shape}")
            ev = np.empty(len(rows), dtype=CAMERA_DTYPE)
            ev["x"], ev["y"], ev["p"] = rows[:, 0], rows[:, 1], rows[:, 2]
            ev["t"] = np.round(rows[:, 3].astype(np.float64) * 1000).astype(np.int64)
            return ev, int(cls)
        if self._loaded[0] != path:
            self._loaded = (path, read_aedat31(path))
        events = self._loaded[1]
        sel = events[(events["t"] >= start) & (events["t"] < end)].copy()
        sel["t"] -= start
        return sel, int(cls)

