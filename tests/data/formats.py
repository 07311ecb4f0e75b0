"""Writers of tiny files in the published on-disk formats (used by the tests only).

Each writer follows the format description (not a reader's code): N-MNIST 5-byte events, SHD HDF5
with ragged ``spikes/times``/``spikes/units``, DVS Gesture AEDAT 3.1 packets plus label CSVs.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def write_nmnist(path: Path, events: Sequence[tuple[int, int, int, int]], overflow_before: int = -1) -> None:
    """Write ``(x, y, p, t)`` events; an overflow marker (y = 240) is inserted before event
    ``overflow_before`` (then that and later events are read with t + 8192)."""
    out = bytearray()
    for i, (x, y, p, t) in enumerate(events):
        if i == overflow_before:
            out += bytes([0, 240, 0, 0, 0])
        out += bytes([x, y, (p << 7) | ((t >> 16) & 0x7F), (t >> 8) & 0xFF, t & 0xFF])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(out))


def write_shd(path: Path, samples: Sequence[tuple[Sequence[float], Sequence[int], int]]) -> None:
    """Write ``(times_s, units, label)`` samples as an SHD HDF5 file."""
    import h5py

    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        times = f.create_dataset("spikes/times", (len(samples),), dtype=h5py.vlen_dtype(np.float32))
        units = f.create_dataset("spikes/units", (len(samples),), dtype=h5py.vlen_dtype(np.uint16))
        for i, (t, u, _) in enumerate(samples):
            times[i] = np.asarray(t, dtype=np.float32)
            units[i] = np.asarray(u, dtype=np.uint16)
        f.create_dataset("labels", data=np.asarray([s[2] for s in samples], dtype=np.uint16))
        f.create_dataset("extra/keys", data=np.asarray([b"zero", b"one"]))
        f.create_dataset("extra/speaker", data=np.zeros(len(samples), dtype=np.uint16))


def aedat31_bytes(packets: Sequence[Sequence[tuple[int, int, int, int]]], overflow: int = 0) -> bytes:
    """AEDAT 3.1 bytes: a header, then one polarity packet per list of ``(x, y, p, t)`` events, and a
    special-event packet (type 0) between packets that readers must skip."""
    out = bytearray(b"#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: DVS128\r\n#!END-HEADER\r\n")
    for k, events in enumerate(packets):
        n = len(events)
        out += struct.pack("<hhiiiiii", 1, 1, 8, 4, overflow, n, n, n)
        for x, y, p, t in events:
            out += struct.pack("<Ii", (x << 17) | (y << 2) | (p << 1) | 1, t)
        if k == 0:
            out += struct.pack("<hhiiiiii", 0, 1, 8, 4, 0, 1, 1, 1) + struct.pack("<Ii", 0xFFFFFFFF, 7)
    return bytes(out)


def write_gesture(
    root: Path, trial: str, train: bool, packets: list, labels: list[tuple[int, int, int]]
) -> None:
    """Write ``DVSGesture/DvsGesture/<trial>.aedat``, its ``_labels.csv`` (1-based classes) and list
    the trial in ``trials_to_train.txt`` or ``trials_to_test.txt``."""
    folder = root / "DVSGesture" / "DvsGesture"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{trial}.aedat").write_bytes(aedat31_bytes(packets))
    rows = "".join(f"{c},{s},{e}\n" for c, s, e in labels)
    (folder / f"{trial}_labels.csv").write_text("class,startTime_usec,endTime_usec\n" + rows)
    lst = folder / f"trials_to_{'train' if train else 'test'}.txt"
    with lst.open("a") as f:
        f.write(f"{trial}.aedat\n")
