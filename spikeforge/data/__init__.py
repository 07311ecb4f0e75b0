"""Data sets: the bundled digits (default, no download) and event data sets read from a local folder.

``get_dataset(name, ...)`` builds a train or test split by name; event data sets yield frames
``[T, ...]`` that `collate_time_major` batches into ``[T, B, ...]``.
"""

from __future__ import annotations

from pathlib import Path

from .digits import DIGITS_CLASSES, DIGITS_FEATURES, DIGITS_SPLIT_SEED, digits_arrays, digits_dataset
from .events import (
    CorruptDataError,
    DatasetNotFoundError,
    read_aedat31,
    read_gesture_labels,
    read_nmnist,
    read_shd,
)
from .frames import FrameCache, FrameSpec, collate_time_major, events_to_frames
from .neuromorphic import NMNIST, SHD, DVSGesture, EventDataset

#: the event data sets by their command-line name
EVENT_DATASETS: dict[str, type[EventDataset]] = {"nmnist": NMNIST, "shd": SHD, "dvsgesture": DVSGesture}
#: every data set name the command accepts
DATASET_NAMES = ("digits", *EVENT_DATASETS)


def get_event_dataset(
    name: str, root: str | Path, train: bool, frames: FrameSpec, cache: bool = True
) -> EventDataset:
    """An event data set by name (``nmnist``, ``shd``, ``dvsgesture``).

    Raises:
        ValueError: unknown name. DatasetNotFoundError: files absent (the message says where and how).
    """
    key = name.lower().replace("-", "").replace("_", "")
    if key not in EVENT_DATASETS:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(DATASET_NAMES)}")
    return EVENT_DATASETS[key](root, train=train, frames=frames, cache=cache)


__all__ = [
    "DIGITS_CLASSES", "DIGITS_FEATURES", "DIGITS_SPLIT_SEED", "digits_arrays", "digits_dataset",
    "CorruptDataError", "DatasetNotFoundError", "read_aedat31", "read_gesture_labels", "read_nmnist",
    "read_shd", "FrameCache", "FrameSpec", "collate_time_major", "events_to_frames", "EventDataset",
    "NMNIST", "SHD", "DVSGesture", "EVENT_DATASETS", "DATASET_NAMES", "get_event_dataset",
]
