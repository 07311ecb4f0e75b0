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


def fill_classes(folder: Path, classes: Sequence[str], write: object, name: str = "filler") -> None:
    """Give every class folder under ``folder`` that has none a one-event sample file, so a layout
    with all classes present is complete (``write(path)`` writes one file)."""
    for c in classes:
        if not (folder / c).is_dir():
            write(folder / c / name)  # type: ignore[operator]


def fill_nmnist(root: Path, split: str = "Train") -> None:
    """One single-event ``.bin`` file in each N-MNIST digit folder of ``split`` that has none."""
    fill_classes(root / "NMNIST" / split, [str(d) for d in range(10)],
                 lambda p: write_nmnist(p.with_suffix(".bin"), [(0, 0, 0, 0)]))


def write_hdf5_audio(path: Path, samples: Sequence[tuple[Sequence[float], Sequence[int], int]],
                     keys: Sequence[str]) -> None:
    """Write an SHD/SSC-format HDF5 file (see `write_shd`) whose ``extra/keys`` are ``keys``."""
    import h5py

    write_shd(path, samples)
    with h5py.File(path, "a") as f:
        del f["extra/keys"]
        f.create_dataset("extra/keys", data=np.asarray([k.encode() for k in keys]))


def write_event_npy(path: Path, rows: Sequence[Sequence[float]]) -> None:
    """Save an ``[N, 4]`` event table (tonic's POKER-DVS rows are ``t, x, y, p``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, np.asarray(rows, dtype=np.int64).reshape(-1, 4))


def aedat4_bytes(events: Sequence[tuple[int, int, int, int]], width: int = 128, height: int = 128) -> bytes:
    """An AEDAT 4 file (iniVation's format, as the flatbuffers schemas describe it) with one
    uncompressed event stream (id 0) holding ``(t, x, y, on)`` events in one packet.

    Layout: ``#!AER-DAT4.0\\r\\n``; a uint32 length and an ``IOHeader`` FlatBuffer (compression 0 =
    none, data table position -1 = none, an XML description naming stream 0 as ``EVTS`` of
    ``width`` x ``height``); then each packet as uint32 stream id, uint32 length and a size-prefixed
    ``EventPacket`` FlatBuffer with file identifier ``EVTS`` and a vector of 16-byte ``Event`` structs
    (int64 t, int16 x, int16 y, bool on, 3 bytes padding).
    """
    xml = ('<dv version="2.0"><node name="outInfo" path="/mainloop/Recorder/outInfo/">'
           '<node name="0" path="/mainloop/Recorder/outInfo/0/">'
           '<attr key="compression" type="string">NONE</attr>'
           '<attr key="typeIdentifier" type="string">EVTS</attr>'
           '<node name="info" path="/mainloop/Recorder/outInfo/0/info/">'
           f'<attr key="sizeX" type="int">{width}</attr><attr key="sizeY" type="int">{height}</attr>'
           '</node></node></node></dv>').encode()
    # IOHeader: root offset, "IOHE", vtable (10 bytes) at 8, pad to 24, table at 24:
    # soffset, int32 compression (+4), int64 data table position (+8), uoffset to the string (+16)
    string_at = 44
    header = struct.pack("<I4s", 24, b"IOHE") + struct.pack("<5H", 10, 20, 4, 8, 16) + bytes(6)
    header += struct.pack("<iiqI", 24 - 8, 0, -1, string_at - 40)
    header += struct.pack("<I", len(xml)) + xml + b"\0"
    header += bytes(-len(header) % 4)
    # EventPacket (size-prefixed): size, root offset (from byte 4), "EVTS", vtable (6 bytes) at 12, pad,
    # table at 20: soffset, uoffset to the vector (+4); vector length at 28, 16-byte structs from 32
    body = struct.pack("<I4s", 20 - 4, b"EVTS") + struct.pack("<3H", 6, 8, 4) + bytes(2)
    body += struct.pack("<iI", 20 - 12, 28 - 24) + struct.pack("<I", len(events))
    for t, x, y, on in events:
        body += struct.pack("<qhh?3x", t, x, y, bool(on))
    packet = struct.pack("<I", len(body)) + body
    out = b"#!AER-DAT4.0\r\n" + struct.pack("<I", len(header)) + header
    return out + struct.pack("<II", 0, len(packet)) + packet
