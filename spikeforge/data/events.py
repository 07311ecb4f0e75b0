"""Readers for the on-disk formats of the neuromorphic data sets (no network access).

Each reader returns a numpy structured array of events with integer fields and timestamps ``t`` in
microseconds, in tonic's field conventions: ``x, y, t, p`` for cameras (N-MNIST, DVS Gesture) and
``t, x, p`` for SHD (``x`` = cochlea channel, ``p`` = 1).

Formats:
    * N-MNIST ``.bin`` (Orchard et al., 2015): 5 bytes per event, ``x`` (8 bit), ``y`` (8 bit), then
      one bit polarity and 23 bits timestamp (big-endian); ``y == 240`` marks a timestamp overflow
      of 2**13 us. Read with `tonic.io.read_mnist_file` after a size check.
    * SHD ``.h5`` (Cramer et al., 2020): ``spikes/times`` (ragged float seconds), ``spikes/units``
      (ragged channel indices 0..699), ``labels``, ``extra/keys``, ``extra/speaker``.
    * DVS Gesture AEDAT 3.1 (Amir et al., 2017; iniVation AEDAT 3.1 spec): ``#`` header lines up to
      ``#!END-HEADER``, then packets of a 28-byte little-endian header (``int16 type, int16 source,
      int32 size, int32 ts_offset, int32 ts_overflow, int32 capacity, int32 number, int32 valid``)
      followed by ``capacity * size`` bytes. Polarity packets (type 1, size 8) hold ``uint32 data,
      int32 timestamp`` per event: bit 0 valid, bit 1 polarity, bits 2..16 ``y``, bits 17..31 ``x``;
      the full timestamp is ``ts_overflow << 31 | timestamp``. Other packet types are skipped.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

CAMERA_DTYPE = np.dtype([("x", np.int64), ("y", np.int64), ("t", np.int64), ("p", np.int64)])
AUDIO_DTYPE = np.dtype([("t", np.int64), ("x", np.int64), ("p", np.int64)])

_AEDAT_HEADER = np.dtype(
    [("type", "<i2"), ("source", "<i2"), ("size", "<i4"), ("ts_offset", "<i4"), ("ts_overflow", "<i4"),
     ("capacity", "<i4"), ("number", "<i4"), ("valid", "<i4")]
)
_POLARITY = np.dtype([("data", "<u4"), ("ts", "<i4")])


class DatasetNotFoundError(FileNotFoundError):
    """The files of a data set are absent (the message says where they belong and how to get them)."""


class CorruptDataError(ValueError):
    """A data file exists but cannot be parsed (truncated, wrong format, bad values)."""


def read_nmnist(path: str | Path) -> np.ndarray:
    """Read one N-MNIST ``.bin`` file.

    Args:
        path: the file, e.g. ``NMNIST/Train/3/00011.bin``.

    Returns:
        Structured array (``CAMERA_DTYPE``) of the change-detection events, ``0 <= x, y < 34``.

    Raises:
        CorruptDataError: if the size is not a multiple of 5 bytes or a coordinate lies off the 34x34 sensor.
    """
    from tonic.io import read_mnist_file

    path = Path(path)
    size = path.stat().st_size
    if size % 5:
        raise CorruptDataError(
            f"{path}: {size} bytes is not a whole number of 5-byte N-MNIST events; re-extract the archive"
        )
    events = read_mnist_file(str(path), dtype=CAMERA_DTYPE)
    if len(events) and (events["x"].max() >= 34 or events["y"].max() >= 34):
        raise CorruptDataError(f"{path}: event coordinates off the 34x34 N-MNIST sensor; not an N-MNIST file")
    return events


def shd_length(path: str | Path) -> int:
    """The number of samples in an SHD ``.h5`` file (raises `CorruptDataError` if unreadable)."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            return int(len(f["labels"]))
    except (OSError, KeyError) as exc:
        raise CorruptDataError(f"{path}: not a readable SHD HDF5 file ({exc}); re-download it") from exc


def read_shd(path: str | Path, index: int) -> tuple[np.ndarray, int]:
    """Read sample ``index`` of an SHD ``.h5`` file.

    Returns:
        ``(events, label)``: ``AUDIO_DTYPE`` events with ``t`` in microseconds (rounded) and ``x`` the
        channel, and the class index 0..19.

    Raises:
        CorruptDataError: unreadable file, missing groups, or unequal ``times``/``units`` lengths.
    """
    import h5py

    try:
        with h5py.File(path, "r") as f:
            times = np.asarray(f["spikes/times"][index], dtype=np.float64)
            units = np.asarray(f["spikes/units"][index], dtype=np.int64)
            label = int(f["labels"][index])
    except (OSError, KeyError) as exc:
        raise CorruptDataError(f"{path}: not a readable SHD HDF5 file ({exc}); re-download it") from exc
    if times.shape != units.shape:
        raise CorruptDataError(f"{path}: sample {index} has {times.size} times but {units.size} units")
    events = np.empty(times.size, dtype=AUDIO_DTYPE)
    events["t"] = np.round(times * 1e6).astype(np.int64)
    events["x"] = units
    events["p"] = 1
    return events, label


def read_aedat31(path: str | Path) -> np.ndarray:
    """Read the valid polarity events of an AEDAT 3.1 file (DVS Gesture's ``userNN_<light>.aedat``).

    Returns:
        ``CAMERA_DTYPE`` events with ``t`` in microseconds as recorded.

    Raises:
        CorruptDataError: no ``#!AER-DAT3`` header, or a packet longer than the rest of the file.
    """
    path = Path(path)
    raw = path.read_bytes()
    if not raw.startswith(b"#!AER-DAT3"):
        raise CorruptDataError(f"{path}: missing '#!AER-DAT3.1' header; not an AEDAT 3.1 file")
    end = raw.find(b"#!END-HEADER")
    if end < 0:
        raise CorruptDataError(f"{path}: no '#!END-HEADER' line; the file is truncated or not AEDAT 3.1")
    pos = raw.index(b"\n", end) + 1
    chunks: list[np.ndarray] = []
    while pos < len(raw):
        if pos + _AEDAT_HEADER.itemsize > len(raw):
            raise CorruptDataError(f"{path}: truncated packet header at byte {pos}; re-extract the archive")
        head = np.frombuffer(raw, _AEDAT_HEADER, count=1, offset=pos)[0]
        pos += _AEDAT_HEADER.itemsize
        nbytes = int(head["capacity"]) * int(head["size"])
        if nbytes < 0 or pos + nbytes > len(raw):
            raise CorruptDataError(f"{path}: truncated packet at byte {pos}; re-extract the archive")
        if int(head["type"]) == 1:
            if int(head["size"]) != _POLARITY.itemsize:
                raise CorruptDataError(f"{path}: polarity events of {int(head['size'])} bytes (expected 8)")
            ev = np.frombuffer(raw, _POLARITY, count=int(head["number"]), offset=pos)
            ev = ev[(ev["data"] & 1) == 1]
            out = np.empty(len(ev), dtype=CAMERA_DTYPE)
            out["x"] = (ev["data"] >> 17) & 0x7FFF
            out["y"] = (ev["data"] >> 2) & 0x7FFF
            out["p"] = (ev["data"] >> 1) & 1
            out["t"] = (np.int64(head["ts_overflow"]) << 31) | ev["ts"].astype(np.int64)
            chunks.append(out)
        pos += nbytes
    return np.concatenate(chunks) if chunks else np.empty(0, dtype=CAMERA_DTYPE)


def read_gesture_labels(path: str | Path) -> list[tuple[int, int, int]]:
    """Read a DVS Gesture ``*_labels.csv`` (``class,startTime_usec,endTime_usec``, classes 1..11).

    Returns:
        ``[(class_index 0..10, start_us, end_us), ...]``.

    Raises:
        CorruptDataError: a row that is not three integers, or a class outside 1..11.
    """
    rows: list[tuple[int, int, int]] = []
    with open(path, newline="") as f:
        for i, row in enumerate(csv.reader(f)):
            if not row or (i == 0 and not row[0].strip().isdigit()):
                continue
            try:
                cls, start, end = (int(v) for v in row[:3])
            except ValueError as exc:
                raise CorruptDataError(f"{path}: line {i + 1} is not 'class,start_us,end_us': {row}") from exc
            if not 1 <= cls <= 11:
                raise CorruptDataError(f"{path}: line {i + 1} has class {cls}; DVS Gesture classes are 1..11")
            rows.append((cls - 1, start, end))
    return rows
