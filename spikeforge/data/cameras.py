"""Event-camera data sets read from a local folder in tonic's layouts: DVS Gesture, POKER-DVS,
CIFAR10-DVS and N-Caltech101 (see `spikeforge.data.neuromorphic` for the base class and why tonic's
classes are not used to list the files).

Layouts under ``root`` (the ``--data-dir``):

* ``DVSGesture/DvsGesture/`` with ``trials_to_train.txt``, ``trials_to_test.txt``,
  ``userNN_<lighting>.aedat`` and ``userNN_<lighting>_labels.csv`` (IBM's DvsGesture.tar.gz extracted),
  or tonic's preprocessed ``DVSGesture/ibmGestureTrain|ibmGestureTest/userNN_<lighting>/<class>.npy``.
* ``POKERDVS/pips_train/<cl|he|di|sp>/*.npy`` and ``POKERDVS/pips_test/...`` (tonic's pips_*.tar.gz
  extracted; rows ``t, x, y, p``).
* ``CIFAR10DVS/<airplane|automobile|...|truck>/*.aedat4`` (tonic's CIFAR10DVS.zip and the class zips
  inside it extracted).
* ``NCALTECH101/Caltech101/<category>/*.bin`` (the N-Caltech101 archive and Caltech101.zip extracted).

CIFAR10-DVS and N-Caltech101 have no published train/test split: the test split is a fixed
`FIXED_TEST_FRACTION` of every class (`fixed_class_split`), the same for every run and seed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .events import (
    CAMERA_DTYPE,
    CorruptDataError,
    DatasetNotFoundError,
    read_aedat4,
    read_aedat31,
    read_event_npy,
    read_gesture_labels,
    read_orchard_bin,
)
from .neuromorphic import ClassFolders, EventDataset

#: the part of each class held out as the test split of data sets without a published split
FIXED_TEST_FRACTION = 0.1


def fixed_class_split(labels: list[int], train: bool, fraction: float = FIXED_TEST_FRACTION) -> list[int]:
    """The indices of one split of a data set without a published split: in every class, a fixed random
    ``round(fraction * n)`` of its ``n`` samples (at least one when ``n >= 2``) is the test split.

    The choice depends only on the labels (numpy generator seeded with 0), never on the training seed.
    Returns the indices in increasing order.
    """
    chosen: list[int] = []
    by_class: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        by_class.setdefault(label, []).append(i)
    for label in sorted(by_class):
        members = by_class[label]
        n_test = max(1, round(fraction * len(members))) if len(members) >= 2 else 0
        order = np.random.default_rng([0, label]).permutation(len(members))
        test = {members[k] for k in order[:n_test]}
        chosen += [i for i in members if (i in test) != train]
    return sorted(chosen)


def gesture_part(events: np.ndarray, start: int, end: int) -> np.ndarray:
    """The events of one labelled gesture of a DVS Gesture recording: ``start <= t < end`` (microseconds),
    times relative to ``start``."""
    part = events[(events["t"] >= start) & (events["t"] < end)].copy()
    part["t"] -= start
    return part


def read_ncaltech101(path: str | Path) -> np.ndarray:
    """One N-Caltech101 ``.bin`` recording, shifted (as tonic does) so its smallest ``x`` and ``y`` are 0."""
    events = read_orchard_bin(path)
    if len(events):
        events["x"] -= events["x"].min()
        events["y"] -= events["y"].min()
    return events


class DVSGesture(EventDataset):
    """IBM DVS Gesture (Amir et al., 2017): 11 hand and arm gestures by 29 people under 5 lighting
    conditions, 128x128 pixels, 2 polarities. From the original AEDAT 3.1 recordings, each labelled
    interval of a ``*_labels.csv`` is one sample (times relative to its start); tonic's preprocessed
    ``.npy`` layout (``x, y, p, t`` in ms per row) is read too."""

    name = "DVSGesture"
    sensor_size = (128, 128, 2)
    num_classes = 11
    #: the columns of tonic's preprocessed ``.npy`` tables (``t`` in milliseconds)
    npy_columns: ClassVar[tuple[str, ...]] = ("x", "y", "p", "t")

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
            return read_event_npy(path, self.npy_columns, ms=True), int(cls)
        if self._loaded[0] != path:
            self._loaded = (path, read_aedat31(path))
        return gesture_part(self._loaded[1], start, end), int(cls)


class POKERDVS(ClassFolders):
    """POKER-DVS (Serrano-Gotarredona and Linares-Barranco, 2015): the four card suits (clubs, hearts,
    diamonds, spades) flipped past a DVS, 35x35 pixels, 2 polarities, in tonic's preprocessed layout."""

    name = "POKERDVS"
    sensor_size = (35, 35, 2)
    num_classes = 4
    classes = ("cl", "he", "di", "sp")
    suffix = ".npy"
    #: the columns of tonic's ``.npy`` tables
    npy_columns: ClassVar[tuple[str, ...]] = ("t", "x", "y", "p")

    def _folder(self) -> Path:
        return self.root / "POKERDVS" / ("pips_train" if self.train else "pips_test")

    def expected(self) -> str:
        return (f"{self._folder()}/<cl|he|di|sp>/*.npy (extract tonic's pips_train.tar.gz and "
                f"pips_test.tar.gz into {self.root / 'POKERDVS'})")

    def _read(self, sample: Any) -> tuple[np.ndarray, int]:
        return read_event_npy(sample[0], self.npy_columns), int(sample[1])


class CIFAR10DVS(ClassFolders):
    """CIFAR10-DVS (Li et al., 2017): 10,000 CIFAR-10 images shown to a DVS, 128x128 pixels, 2
    polarities, 10 classes, as the AEDAT 4 files tonic publishes; a fixed 10 % of each class is the
    test split."""

    name = "CIFAR10DVS"
    sensor_size = (128, 128, 2)
    num_classes = 10
    classes = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
    suffix = ".aedat4"

    def _folder(self) -> Path:
        return self.root / "CIFAR10DVS"

    def expected(self) -> str:
        return (f"{self._folder()}/<airplane|automobile|...|truck>/*.aedat4 (extract tonic's CIFAR10DVS.zip, "
                f"https://figshare.com/ndownloader/files/38023437, and the class zips in it into "
                f"{self._folder()})")

    def _split(self, samples: list[tuple[Path, int]]) -> list[tuple[Path, int]]:
        return [samples[i] for i in fixed_class_split([s[1] for s in samples], self.train)]

    def _read(self, sample: Any) -> tuple[np.ndarray, int]:
        return read_aedat4(sample[0]), int(sample[1])


class NCALTECH101(ClassFolders):
    """N-Caltech101 (Orchard et al., 2015): Caltech-101 images recorded with saccades of an ATIS
    sensor; one class per folder of ``Caltech101/`` (sorted by name). Recordings differ in size: as
    tonic does, each sample is shifted so its smallest ``x`` and ``y`` are 0, within a 240x180 sensor;
    a fixed 10 % of each class is the test split."""

    name = "NCALTECH101"
    sensor_size = (240, 180, 2)
    num_classes = 0  # set from the folders found
    suffix = ".bin"

    def _folder(self) -> Path:
        return self.root / "NCALTECH101" / "Caltech101"

    def _index(self) -> list[Any]:
        folder = self._folder()
        self.classes = self._class_names(folder) if folder.is_dir() else ()  # type: ignore[misc]
        self.num_classes = len(self.classes)  # type: ignore[misc]
        return super()._index()

    def expected(self) -> str:
        return (f"{self._folder()}/<category>/*.bin (extract N-Caltech101's archive and the Caltech101.zip "
                f"in it, https://www.garrickorchard.com/datasets/n-caltech101, into "
                f"{self.root / 'NCALTECH101'})")

    def _split(self, samples: list[tuple[Path, int]]) -> list[tuple[Path, int]]:
        return [samples[i] for i in fixed_class_split([s[1] for s in samples], self.train)]

    def _read(self, sample: Any) -> tuple[np.ndarray, int]:
        return read_ncaltech101(sample[0]), int(sample[1])
