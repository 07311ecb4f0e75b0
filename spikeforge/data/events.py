"""Readers for the on-disk formats of the neuromorphic data sets (no network access).

Each reader returns a numpy structured array of events with timestamps ``t`` in microseconds, in
tonic's field conventions: ``x, y, t, p`` for cameras and ``t, x, p`` for cochleas (SHD, SSC: ``x`` =
channel, ``p`` = 1). Readers check the format only; the values (inside the sensor, times, labels) are
checked by `spikeforge.data.checks` when a data set reads a sample. tonic's readers are used where
they read the format correctly; each reader of our own says why.

Formats:
    * N-MNIST and N-Caltech101 ``.bin`` (Orchard et al., 2015): 5 bytes per event, ``x`` (8 bit),
      ``y`` (8 bit), then one bit polarity and 23 bits timestamp (big-endian); ``y == 240`` marks a
      timestamp overflow of 2**13 us. Read with `tonic.io.read_mnist_file` after a size check.
    * SHD / SSC ``.h5`` (Cramer et al., 2020): ``spikes/times`` (ragged float seconds), ``spikes/units``
      (ragged channel indices 0..699), ``labels``, ``extra/keys``, ``extra/speaker``.
    * DVS Gesture AEDAT 3.1 (Amir et al., 2017; iniVation AEDAT 3.1 spec): ``#`` header lines up to
      ``#!END-HEADER``, then packets of a 28-byte little-endian header (``int16 type, int16 source,
      int32 size, int32 ts_offset, int32 ts_overflow, int32 capacity, int32 number, int32 valid``)
      followed by ``capacity * size`` bytes. Polarity packets (type 1, size 8) hold ``uint32 data,
      int32 timestamp`` per event: bit 0 valid, bit 1 polarity, bits 2..16 ``y``, bits 17..31 ``x``;
      the full timestamp is ``ts_overflow << 31 | timestamp``. Other packet types are skipped.
    * AEDAT 4 (iniVation; CIFAR10-DVS as tonic publishes it): read with `tonic.io.read_aedat4` (the
      ``aedat`` package).
    * ``.npy`` event tables (tonic's POKER-DVS ``t, x, y, p`` rows; tonic's DVS Gesture ``x, y, p, t``
      rows with ``t`` in milliseconds).
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


def read_orchard_bin(path: str | Path) -> np.ndarray:
    """Read one N-MNIST or N-Caltech101 ``.bin`` file (no range check; see `read_nmnist`).

    Returns:
        Structured array (``CAMERA_DTYPE``) of the change-detection events as recorded.

    Raises:
        CorruptDataError: if the size is not a multiple of 5 bytes.
    """
    from tonic.io import read_mnist_file

    path = Path(path)
    size = path.stat().st_size
    if size % 5:
        raise CorruptDataError(
            f"{path}: {size} bytes is not a whole number of 5-byte events; the file is truncated, "
            "re-extract the archive"
        )
    return read_mnist_file(str(path), dtype=CAMERA_DTYPE)


def read_nmnist(path: str | Path) -> np.ndarray:
    """Read one N-MNIST ``.bin`` file.

    Args:
        path: the file, e.g. ``NMNIST/Train/3/00011.bin``.

    Returns:
        Structured array (``CAMERA_DTYPE``) of the change-detection events, ``0 <= x, y < 34``.

    Raises:
        CorruptDataError: if the size is not a multiple of 5 bytes or an event lies off the 34x34 sensor.
    """
    from .checks import check_events

    return check_events(read_orchard_bin(path), (34, 34, 2), f"N-MNIST file {path}")[0]


def hdf5_labels(path: str | Path, name: str = "SHD") -> np.ndarray:
    """The labels of an SHD or SSC ``.h5`` file, after checking that ``spikes/times``,
    ``spikes/units`` and ``labels`` hold one entry per sample.

    Raises:
        CorruptDataError: unreadable file, a missing group, or lengths that differ (naming all three).
    """
    import h5py

    try:
        with h5py.File(path, "r") as f:
            sizes = {key: len(f[key]) for key in ("spikes/times", "spikes/units", "labels")}
            labels = np.asarray(f["labels"][:])
    except (OSError, KeyError) as exc:
        raise CorruptDataError(f"{name} file {path}: not a readable {name} HDF5 file ({exc}); re-download "
                               "it") from exc
    if len(set(sizes.values())) != 1:
        found = ", ".join(f"{n} in {key}" for key, n in sizes.items())
        raise CorruptDataError(f"{name} file {path}: {found}; every sample needs its times, units and one "
                               "label: the file is damaged or truncated, re-download it")
    return labels


def read_shd(path: str | Path, index: int, name: str = "SHD") -> tuple[np.ndarray, int]:
    """Read sample ``index`` of an SHD or SSC ``.h5`` file.

    Our own reader: tonic has no HDF5 reader in `tonic.io`, and its data set class truncates the
    float32 seconds to microseconds (0.0016 s reads as 1599 us); here they are rounded.

    Returns:
        ``(events, label)``: ``AUDIO_DTYPE`` events with ``t`` in microseconds (rounded) and ``x`` the
        channel (not yet checked against the 700 channels), and the label as stored.

    Raises:
        CorruptDataError: unreadable file or group, unequal ``times``/``units`` lengths, a time that is
            NaN, infinite or negative, or a unit that is not a whole number.
    """
    import h5py

    from .checks import check_times

    where = f"{name} file {path}, sample {index}"
    try:
        with h5py.File(path, "r") as f:
            times = np.asarray(f["spikes/times"][index], dtype=np.float64)
            units = np.asarray(f["spikes/units"][index])
            label = f["labels"][index]
    except (OSError, KeyError) as exc:
        raise CorruptDataError(f"{name} file {path}: not a readable {name} HDF5 file ({exc}); re-download "
                               "it") from exc
    if times.shape != units.shape:
        raise CorruptDataError(f"{where}: {times.size} spike times but {units.size} unit ids; each spike "
                               "needs both: the file is damaged, re-download it")
    check_times(times, where, unit="s")
    if not np.issubdtype(units.dtype, np.integer):
        raise CorruptDataError(f"{where}: unit ids of type {units.dtype}; units must be integers 0..699")
    events = np.empty(times.size, dtype=AUDIO_DTYPE)
    events["t"] = np.round(times * 1e6).astype(np.int64)
    events["x"] = units.astype(np.int64)
    events["p"] = 1
    return events, label


def read_aedat31(path: str | Path) -> np.ndarray:
    """Read the valid polarity events of an AEDAT 3.1 file (DVS Gesture's ``userNN_<light>.aedat``).

    Our own reader: tonic's `tonic.io.read_dvs_ibm` fails on every file (it unpacks two values from
    a header function that returns three), and the functions under it read every packet as polarity
    events (a special-event packet becomes an event at x = 8191), keep invalid events and drop the
    timestamp overflow.

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


def read_aedat4(path: str | Path) -> np.ndarray:
    """Read the polarity events of an AEDAT 4 file with `tonic.io.read_aedat4` (CIFAR10-DVS).

    Returns:
        Structured array with fields ``t, x, y, p`` (``t`` in microseconds, ``p`` boolean).

    Raises:
        CorruptDataError: not an AEDAT 4 file, truncated, or without an event stream.
        ImportError: the ``aedat`` package (a spikeforge dependency) is missing.
    """
    from tonic.io import read_aedat4 as tonic_read_aedat4

    try:
        import aedat  # noqa: F401  (tonic imports it inside the reader)
    except ImportError as exc:
        raise ImportError("reading AEDAT 4 files needs the 'aedat' package: pip install aedat") from exc
    try:
        events = tonic_read_aedat4(str(path))
    except Exception as exc:  # the Rust decoder raises plain exceptions for any malformed input
        raise CorruptDataError(f"{path}: not a readable AEDAT 4 event file ({exc}); re-extract the "
                               "archive") from exc
    events.dtype.names = ("t", "x", "y", "p")
    return events


def read_event_npy(path: str | Path, columns: tuple[str, ...], ms: bool = False) -> np.ndarray:
    """Read an ``[N, len(columns)]`` table of events saved with numpy (tonic's preprocessed layouts).

    Our own reader: `tonic.io` has none for these tables (tonic's classes call `numpy.load` and convert
    inline, with no check of the table's shape).

    Args:
        path: the ``.npy`` file. columns: the field of each column, e.g. ``("t", "x", "y", "p")``.
        ms: ``t`` is in milliseconds (tonic's DVS Gesture); it is converted to microseconds (rounded).

    Returns:
        Structured array with one float64 field per column (checked and converted to int later).

    Raises:
        CorruptDataError: not a readable ``.npy`` file, or not a 2-D table with that many columns.
    """
    try:
        rows = np.load(path)
    except (OSError, ValueError, EOFError) as exc:
        raise CorruptDataError(f"{path}: not a readable .npy event table ({exc}); re-extract the archive") \
            from exc
    if rows.ndim != 2 or rows.shape[1] != len(columns):
        raise CorruptDataError(f"{path}: expected [N, {len(columns)}] rows of {', '.join(columns)}, got an "
                               f"array of shape {rows.shape}")
    events = np.empty(len(rows), dtype=[(c, np.float64) for c in columns])
    for i, c in enumerate(columns):
        events[c] = rows[:, i]
    if ms:
        events["t"] = np.round(events["t"] * 1000)
    return events
