"""Event data sets read from a local folder in tonic's on-disk layouts: the base class, N-MNIST, SHD
and SSC (the camera data sets are in `spikeforge.data.cameras`).

Nothing is downloaded: when the files are missing, `DatasetNotFoundError` says which files
are expected where and where to get them. Every sample is checked as it is read
(`spikeforge.data.checks`): an event outside the sensor, a bad time or label is a `CorruptDataError`
naming the file and the sample, unless ``drop_out_of_range=True`` drops the out-of-range events (the
count per sample is kept in `EventDataset.dropped`). Each sample becomes frames (see `FrameSpec`),
converted once after the check and cached under ``<root>/.spikeforge_cache/`` (an entry per sample,
keyed by its file's relative path, size and modification time: a file that was deleted, replaced or
edited (new size or mtime) is converted again); batches are time-major with `collate_time_major`.

These classes read the folders tonic's classes make, but not through tonic's classes: those download
when their check fails, and the check wants the downloaded archive beside the extracted files and a
minimum file count (10,000 ``.bin`` files for N-MNIST), which small or partial copies fail. The
samples are read with tonic's readers where tonic reads the format correctly (see
`spikeforge.data.events`).

Layouts under ``root`` (the ``--data-dir``):

* ``NMNIST/Train/<digit>/*.bin`` and ``NMNIST/Test/<digit>/*.bin`` (train.zip / test.zip extracted).
* ``SHD/shd_train.h5`` and ``SHD/shd_test.h5``; ``SSC/ssc_train.h5`` and ``SSC/ssc_test.h5`` (the
  ``.h5.gz`` or ``.h5.zip`` files unpacked).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch.utils.data import Dataset

from .checks import check_events, check_label
from .events import CorruptDataError, DatasetNotFoundError, hdf5_labels, read_orchard_bin, read_shd
from .frames import FrameCache, FrameSpec, events_to_frames, frame_sensor, source_key

#: bumped when a change (such as the checks) makes older cache entries unusable
CACHE_VERSION = 2


class EventDataset(Dataset):
    """Base class: a list of samples read from disk, checked, and turned into cached frames.

    Args:
        root: the data folder (``--data-dir``) holding the data set's folder.
        train: the training split, else the test split.
        frames: how to bin events; None returns the raw (checked) events as a structured array.
        transform: applied to each sample's frames tensor (or events when ``frames`` is None).
        target_transform: applied to each label.
        cache: keep converted frames on disk under ``<root>/.spikeforge_cache/`` (default True).
        drop_out_of_range: drop events outside the sensor instead of raising; `dropped` counts them.

    Items:
        ``(frames, label)``: float32 frames ``[T, P, H, W]`` (cameras) or ``[T, C]`` (cochleas), int label.

    Raises:
        DatasetNotFoundError: when the expected files are absent (the message names them).
        CorruptDataError: when a file cannot be parsed or holds a bad value (when the sample is read).
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
        drop_out_of_range: bool = False,
    ) -> None:
        self.root = Path(root).expanduser()
        self.train = train
        self.frames = frames
        self.transform = transform
        self.target_transform = target_transform
        self.drop_out_of_range = drop_out_of_range
        #: sample index -> number of out-of-range events dropped (only with ``drop_out_of_range``)
        self.dropped: dict[int, int] = {}
        self._samples: list[Any] = self._index()
        if not self._samples:
            raise self.not_found()
        self._cache = None
        if cache and frames is not None:
            split = "train" if train else "test"
            drop = "-drop" if drop_out_of_range else ""
            folder = f"{self.name}-{split}-{frames.key()}-v{CACHE_VERSION}{drop}"
            self._cache = FrameCache(self.root / ".spikeforge_cache" / folder)

    # subclasses: where the files are, how to list and read samples
    def _index(self) -> list[Any]:
        raise NotImplementedError

    def _read(self, sample: Any) -> tuple[np.ndarray, Any]:
        raise NotImplementedError

    def _source(self, sample: Any) -> tuple[Path, str] | None:
        """The file a sample is read from and which part of it (the frame cache's key; None: not cached)."""
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

    def where(self, index: int) -> str:
        """Names sample ``index`` and its file in error messages."""
        source = self._source(self._samples[index])
        return f"{self.name} file {source[0]}, sample {index}" if source else f"{self.name} sample {index}"

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
        return [self._checked_label(i) for i in range(len(self._samples))]

    def _label(self, sample: Any) -> Any:
        return self._read(sample)[1]

    def _checked_label(self, index: int) -> int:
        return check_label(self._label(self._samples[index]), self.num_classes, self.where(index))

    def events(self, index: int) -> tuple[np.ndarray, int]:
        """The checked events and label of sample ``index`` (see `spikeforge.data.checks.check_events`).

        Raises:
            CorruptDataError: an unreadable file, a bad time or label, or (without
                ``drop_out_of_range``) an event outside the sensor; the message names file and sample.
        """
        raw, label = self._read(self._samples[index])
        where = self.where(index)
        events, dropped = check_events(raw, self.sensor_size, where, self.drop_out_of_range)
        if dropped:
            self.dropped[index] = dropped
        return events, check_label(label, self.num_classes, where)

    def __len__(self) -> int:
        return len(self._samples)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        if self.frames is None:
            out, label = self.events(index)
        else:
            source = self._source(self._samples[index]) if self._cache is not None else None
            key = source_key(source[0], self.root, source[1]) if source is not None else ""
            entry = self._cache.get_entry(key) if self._cache is not None and key else None
            if entry is None:
                data, label = self.events(index)
                frames = events_to_frames(data, self.sensor_size, self.frames)
                if self._cache is not None and key:
                    self._cache.put(key, frames, self.dropped.get(index, 0))
            else:
                frames, dropped = entry
                if dropped:
                    self.dropped[index] = dropped
                label = self._checked_label(index)
            out = torch.from_numpy(frames)
        if self.transform is not None:
            out = self.transform(out)
        target: Any = label if self.target_transform is None else self.target_transform(label)
        return out, target


class ClassFolders(EventDataset):
    """A data set stored as ``<folder>/<class>/<sample file>``: every class folder must exist and hold at
    least one file (a missing one means an archive that was not fully extracted)."""

    #: the class folders in label order (empty: every folder found, sorted by name)
    classes: ClassVar[tuple[str, ...]] = ()
    #: the suffix of the sample files
    suffix: ClassVar[str]

    def _folder(self) -> Path:
        raise NotImplementedError

    def _class_names(self, folder: Path) -> tuple[str, ...]:
        return self.classes or tuple(sorted(p.name for p in folder.iterdir() if p.is_dir()))

    def _index(self) -> list[Any]:
        folder = self._folder()
        if not folder.is_dir():
            return []
        names = self._class_names(folder)
        files = {c: sorted((folder / c).rglob(f"*{self.suffix}")) for c in names}
        missing = [c for c in names if not (folder / c).is_dir()]
        empty = [c for c in names if c not in missing and not files[c]]
        if missing or empty:
            problem = (f"class folder(s) {', '.join(missing)} missing" if missing else
                       f"class folder(s) {', '.join(empty)} hold no {self.suffix} file")
            raise DatasetNotFoundError(
                f"{self.name}: under {folder}, {problem}; every class needs its folder with its files "
                f"(classes {', '.join(names)}): the archive was not fully extracted, extract it again"
            )
        samples = [(path, label) for label, c in enumerate(names) for path in files[c]]
        return self._split(samples)

    def _split(self, samples: list[tuple[Path, int]]) -> list[tuple[Path, int]]:
        """This split's samples (data sets with train and test folders keep them all)."""
        return samples

    def _label(self, sample: Any) -> int:
        return int(sample[1])

    def _source(self, sample: Any) -> tuple[Path, str]:
        return sample[0], ""


class NMNIST(ClassFolders):
    """N-MNIST (Orchard et al., 2015): saccade recordings of MNIST digits, 34x34 pixels, 2 polarities,
    10 classes; 60,000 training and 10,000 test files. The label is the folder name."""

    name = "NMNIST"
    sensor_size = (34, 34, 2)
    num_classes = 10
    classes = tuple(str(d) for d in range(10))
    suffix = ".bin"

    def _folder(self) -> Path:
        return self.root / "NMNIST" / ("Train" if self.train else "Test")

    def expected(self) -> str:
        return (
            f"{self._folder()}/<digit 0-9>/*.bin (extract train.zip and test.zip of N-MNIST, "
            f"https://www.garrickorchard.com/datasets/n-mnist, into {self.root / 'NMNIST'})"
        )

    def _read(self, sample: Any) -> tuple[np.ndarray, int]:
        return read_orchard_bin(sample[0]), int(sample[1])


class SHD(EventDataset):
    """Spiking Heidelberg Digits (Cramer et al., 2020): spoken digits 0-9 in English and German through
    a 700-channel cochlea model, 20 classes; 8,156 training and 2,264 test samples."""

    name = "SHD"
    sensor_size = (700, 1, 1)
    num_classes = 20
    #: where the archives are published
    url = "https://zenkelab.org/datasets/"

    def _file(self) -> Path:
        return self.root / self.name / f"{self.name.lower()}_{'train' if self.train else 'test'}.h5"

    def expected(self) -> str:
        prefix = self.name.lower()
        return (
            f"{self._file()} (gunzip {prefix}_train.h5.gz / {prefix}_test.h5.gz from "
            f"{self.url} into {self.root / self.name})"
        )

    def _index(self) -> list[Any]:
        path = self._file()
        if not path.is_file():
            return []
        labels = hdf5_labels(path, self.name)
        if not np.issubdtype(labels.dtype, np.integer) and len(labels):
            raise CorruptDataError(f"{self.name} file {path}: labels of type {labels.dtype}; labels must be "
                                   f"integers 0..{self.num_classes - 1}")
        bad = np.flatnonzero((labels < 0) | (labels >= self.num_classes))
        if bad.size:
            k = int(bad[0])
            raise CorruptDataError(f"{self.name} file {path}, sample {k}: label {int(labels[k])} is out of "
                                   f"range; labels must be 0..{self.num_classes - 1}")
        self._labels = labels.astype(np.int64)
        return list(range(len(labels)))

    def _label(self, sample: Any) -> int:
        return int(self._labels[sample])

    def _read(self, sample: Any) -> tuple[np.ndarray, int]:
        return read_shd(self._file(), int(sample), self.name)

    def _source(self, sample: Any) -> tuple[Path, str]:
        return self._file(), str(int(sample))


class SSC(SHD):
    """Spiking Speech Commands (Cramer et al., 2020): 35 spoken command words through the same
    700-channel cochlea model as SHD; 75,466 training and 20,382 test samples (the validation file
    ``ssc_valid.h5`` is not used: ``spikeforge train`` holds out ``--val-fraction`` of the training split)."""

    name = "SSC"
    num_classes = 35
