"""Data sets: the bundled digits (default, no download) and event data sets read from a local folder.

``get_event_dataset(name, ...)`` builds a train or test split by name: a named data set (`EVENT_DATASETS`)
or ``tonic:NAME`` for any `tonic.datasets` class; event data sets yield frames ``[T, ...]`` that
`collate_time_major` batches into ``[T, B, ...]``.
"""

from __future__ import annotations

from pathlib import Path

from .cameras import CIFAR10DVS, FIXED_TEST_FRACTION, NCALTECH101, POKERDVS, DVSGesture, fixed_class_split
from .checks import check_events, check_label, check_times
from .digits import DIGITS_CLASSES, DIGITS_FEATURES, DIGITS_SPLIT_SEED, digits_arrays, digits_dataset
from .events import (
    CorruptDataError,
    DatasetNotFoundError,
    read_aedat4,
    read_aedat31,
    read_event_npy,
    read_gesture_labels,
    read_nmnist,
    read_orchard_bin,
    read_shd,
)
from .files import FILE_FORMATS, file_format, read_event_file
from .frames import FrameCache, FrameSpec, collate_time_major, events_to_frames
from .neuromorphic import NMNIST, SHD, SSC, EventDataset
from .tonic_sets import TONIC_PREFIX, TonicDataset, tonic_class

#: the named event data sets by their command-line name
EVENT_DATASETS: dict[str, type[EventDataset]] = {
    "nmnist": NMNIST, "shd": SHD, "ssc": SSC, "dvsgesture": DVSGesture, "pokerdvs": POKERDVS,
    "cifar10dvs": CIFAR10DVS, "ncaltech101": NCALTECH101,
}
#: every named data set the command accepts (besides ``tonic:NAME``)
DATASET_NAMES = ("digits", *EVENT_DATASETS)


def check_dataset_name(name: str) -> None:
    """Raise unless ``name`` is a data set the command accepts: one of `DATASET_NAMES`, or ``tonic:NAME``
    with ``NAME`` a `tonic.datasets` class.

    Raises:
        ValueError: naming the choices.
    """
    if name.lower().startswith(TONIC_PREFIX):
        tonic_class(name[len(TONIC_PREFIX):])
    elif name not in DATASET_NAMES:
        raise ValueError(f"unknown data set {name!r}; choose --dataset from {', '.join(DATASET_NAMES)}, "
                         "or tonic:NAME for any tonic.datasets class (e.g. tonic:POKERDVS)")


def get_event_dataset(
    name: str, root: str | Path, train: bool, frames: FrameSpec, cache: bool = True,
    drop_out_of_range: bool = False,
) -> EventDataset:
    """An event data set by name (`EVENT_DATASETS`, e.g. ``nmnist``, ``ssc``), or ``tonic:NAME``.

    Raises:
        ValueError: unknown name. DatasetNotFoundError: files absent (the message says where and how).
    """
    if name.lower().startswith(TONIC_PREFIX):
        return TonicDataset(name[len(TONIC_PREFIX):], root, train, frames, cache=cache,
                            drop_out_of_range=drop_out_of_range)
    key = name.lower().replace("-", "").replace("_", "")
    if key not in EVENT_DATASETS:
        check_dataset_name(name)  # raises with the choices
        raise ValueError(f"{name!r} is not an event data set")
    return EVENT_DATASETS[key](root, train=train, frames=frames, cache=cache,
                               drop_out_of_range=drop_out_of_range)


__all__ = [
    "DIGITS_CLASSES", "DIGITS_FEATURES", "DIGITS_SPLIT_SEED", "digits_arrays", "digits_dataset",
    "CorruptDataError", "DatasetNotFoundError", "read_aedat4", "read_aedat31", "read_event_npy",
    "read_gesture_labels", "read_nmnist", "read_orchard_bin", "read_shd", "check_events", "check_label",
    "check_times", "FrameCache", "FrameSpec", "collate_time_major", "events_to_frames", "EventDataset",
    "NMNIST", "SHD", "SSC", "DVSGesture", "POKERDVS", "CIFAR10DVS", "NCALTECH101", "FIXED_TEST_FRACTION",
    "fixed_class_split", "TONIC_PREFIX", "TonicDataset", "tonic_class", "EVENT_DATASETS", "DATASET_NAMES",
    "check_dataset_name", "get_event_dataset", "FILE_FORMATS", "file_format", "read_event_file",
]
