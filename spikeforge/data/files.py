"""One event file read on its own (``spikeforge predict``), with the readers the data sets use: which
files each data set takes (`FILE_FORMATS`) and the raw events of every sample in a file, with its label
where the file holds one. The caller checks the events against the sensor with
`spikeforge.data.checks`, as the data sets check theirs.

A ``tonic:NAME`` data set whose class reads the files of a named data set (``tonic:POKERDVS``,
``tonic:SHD``, ...) takes that data set's files; any other has no reader of single files here (tonic
reads only whole data sets), which `read_event_file` says.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from .cameras import POKERDVS, DVSGesture, gesture_part, read_ncaltech101
from .events import (
    hdf5_labels,
    read_aedat4,
    read_aedat31,
    read_event_npy,
    read_gesture_labels,
    read_orchard_bin,
    read_shd,
)
from .tonic_sets import TONIC_PREFIX

#: one sample of a file: ``(name, raw events, label or None)``; the name is the path, or ``path#i``
#: for the ``i``-th sample of a file holding several
FileSample = tuple[str, np.ndarray, int | None]

#: the files each named data set takes, in words
FILE_FORMATS = {
    "nmnist": "N-MNIST .bin files",
    "shd": "SHD .h5 files (every sample in a file)",
    "ssc": "SSC .h5 files (every sample in a file)",
    "dvsgesture": "DVS Gesture .aedat recordings (each labelled gesture of the *_labels.csv beside one, "
                  "else the whole recording) or tonic's .npy tables (rows x, y, p, t in ms)",
    "pokerdvs": "POKER-DVS .npy tables (tonic's rows t, x, y, p)",
    "cifar10dvs": "CIFAR10-DVS .aedat4 files",
    "ncaltech101": "N-Caltech101 .bin files",
}


def _whole(read: Callable[[Path], np.ndarray]) -> Callable[[Path], list[FileSample]]:
    """A reader of files that hold one unlabelled sample."""
    return lambda path: [(str(path), read(path), None)]


def _hdf5(name: str) -> Callable[[Path], list[FileSample]]:
    """Every sample of an SHD or SSC ``.h5`` file, with its label."""

    def read(path: Path) -> list[FileSample]:
        count = len(hdf5_labels(path, name))
        return [(f"{path}#{i}", *read_shd(path, i, name)) for i in range(count)]

    return read


def _gesture_aedat(path: Path) -> list[FileSample]:
    """Each labelled gesture of a DVS Gesture recording, or the whole recording without a label file."""
    events = read_aedat31(path)
    labels = path.with_name(path.stem + "_labels.csv")
    if not labels.is_file():
        return [(str(path), events, None)]
    return [(f"{path}#{k}", gesture_part(events, start, end), cls)
            for k, (cls, start, end) in enumerate(read_gesture_labels(labels))]


_READERS: dict[str, dict[str, Callable[[Path], list[FileSample]]]] = {
    "nmnist": {".bin": _whole(read_orchard_bin)},
    "shd": {".h5": _hdf5("SHD")},
    "ssc": {".h5": _hdf5("SSC")},
    "dvsgesture": {".aedat": _gesture_aedat,
                   ".npy": _whole(lambda p: read_event_npy(p, DVSGesture.npy_columns, ms=True))},
    "pokerdvs": {".npy": _whole(lambda p: read_event_npy(p, POKERDVS.npy_columns))},
    "cifar10dvs": {".aedat4": _whole(read_aedat4)},
    "ncaltech101": {".bin": _whole(read_ncaltech101)},
}


def file_format(dataset: str) -> str | None:
    """The named data set whose files ``dataset`` takes: itself, or for ``tonic:NAME`` the named data set
    of the same name; None when there is no reader of its single files."""
    key = dataset.lower()
    if key.startswith(TONIC_PREFIX):
        key = key[len(TONIC_PREFIX):].replace("-", "").replace("_", "")
    return key if key in _READERS else None


def read_event_file(dataset: str, path: str | Path) -> list[FileSample]:
    """The raw events (not yet checked) of every sample in ``path``, a file of ``dataset``'s format.

    Raises:
        ValueError: ``dataset`` has no reader of single files, or ``path`` is not one of its formats.
        FileNotFoundError: no such file. CorruptDataError: a file the reader cannot parse.
    """
    key = file_format(dataset)
    if key is None:
        raise ValueError(f"{dataset} has no reader of single files in spikeforge (tonic reads only whole "
                         "data sets); predict every sample of a split of the run's data with --split "
                         "test|train|val")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"input file {path} not found")
    reader = _READERS[key].get(path.suffix.lower())
    if reader is None:
        raise ValueError(f"{path}: a {dataset} run predicts {FILE_FORMATS[key]}")
    return reader(path)
