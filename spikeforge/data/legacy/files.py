"""File helpers with snntorch's ``spikevision`` signatures and return values: checksums, the readers
that return its tuples and arrays, the frame plot, and the data set transform wrapper.

The readers parse the published files themselves (N-MNIST ``.bin``, jAER AEDAT 2 / ``.dat``, DVS
Gesture AEDAT 3.1 through `spikeforge.data.read_aedat31`, SHD HDF5 through h5py).
"""

from __future__ import annotations

import glob
import hashlib
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..events import CorruptDataError, read_aedat31

__all__ = [
    "StandardTransform", "aedat_to_events", "calculate_md5", "check_integrity", "check_md5", "identity",
    "load_ATIS_bin", "load_jaer", "load_shd_hdf5", "nmnist_get_file_names", "nmnist_load_events_from_bin",
    "one_hot1d", "plot_frames_imshow",
]


def identity(x: Any) -> Any:
    """Return ``x`` unchanged (the default transform)."""
    return x


class StandardTransform:
    """Apply ``transform`` to the input and ``target_transform`` to the target (each when given)."""

    def __init__(self, transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[Any], Any] | None = None) -> None:
        self.transform = transform
        self.target_transform = target_transform

    def __call__(self, input: Any, target: Any) -> tuple[Any, Any]:  # noqa: A002 - snntorch's name
        if self.transform is not None:
            input = self.transform(input)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return input, target

    def __repr__(self) -> str:
        lines = [type(self).__name__]
        for head, fn in (("Transform: ", self.transform), ("Target transform: ", self.target_transform)):
            if fn is not None:
                body = repr(fn).splitlines()
                lines += [head + body[0]] + [" " * len(head) + line for line in body[1:]]
        return "\n".join(lines)


def calculate_md5(fpath: str | Path, chunk_size: int = 1024 * 1024) -> str:
    """Hex MD5 digest of a file, read in ``chunk_size`` blocks."""
    digest = hashlib.md5()
    with open(fpath, "rb") as f:
        for block in iter(lambda: f.read(chunk_size), b""):
            digest.update(block)
    return digest.hexdigest()


def check_md5(fpath: str | Path, md5: str, **kwargs: Any) -> bool:
    """Whether the file's MD5 digest is ``md5`` (``kwargs`` go to `calculate_md5`)."""
    return md5 == calculate_md5(fpath, **kwargs)


def check_integrity(fpath: str | Path, md5: str | None = None) -> bool:
    """Whether ``fpath`` is a file and, when ``md5`` is given, has that digest."""
    if not os.path.isfile(fpath):
        return False
    return True if md5 is None else check_md5(fpath, md5)


def load_ATIS_bin(filename: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # noqa: N802
    """Read an N-MNIST / N-Caltech101 ``.bin`` file (5 bytes per event: x, y, polarity bit and a
    23-bit microsecond time; a ``y == 240`` record adds 2**13 us to every later time).

    Returns:
        ``(ts, x, y, p)``, each ``uint32 [N]``.

    Raises:
        CorruptDataError: a size that is not a whole number of 5-byte events.
    """
    raw = np.fromfile(filename, dtype=np.uint8)
    if raw.size % 5:
        raise CorruptDataError(f"{filename}: {raw.size} bytes is not a whole number of 5-byte events")
    rec = raw.reshape(-1, 5).astype(np.uint32)
    x, y = rec[:, 0], rec[:, 1]
    p = (rec[:, 2] & 128) >> 7
    ts = ((rec[:, 2] & 127) << 16) | (rec[:, 3] << 8) | rec[:, 4]
    ts = ts + np.uint32(2**13) * np.cumsum(y == 240).astype(np.uint32)
    return ts, x, y, p


_JAER_CAMERAS = {  # x mask, x shift, y mask, y shift, polarity mask, polarity shift
    "DVS128": (0x00FE, 1, 0x7F00, 8, 0x1, 0),
    "DAVIS240": (0x003FF000, 12, 0x7FC00000, 22, 0x800, 11),
}


def load_jaer(
    datafile: str | Path = "/tmp/aerout.dat", length: int = 0, version: str = "aedat", debug: int = 1,
    camera: str = "DVS128",
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Read a jAER recording: AEDAT 2 (``version="aedat"``: big-endian uint32 address and uint32
    microsecond time per event) or the older ``.dat`` (``"dat"``: uint16 address, uint32 time).

    Header lines starting with ``#`` are skipped, then every whole event up to byte ``length`` (0: the
    whole file) is read; for ``"DAVIS240"`` only DVS events (address bit 31 clear) are kept.
    ``debug > 0`` prints a summary.

    Returns:
        ``(timestamps, x, y, polarity)``, each ``int64 [N]``.

    Raises:
        ValueError: an unsupported ``camera``.
    """
    if camera not in _JAER_CAMERAS:
        raise ValueError(f"Unsupported camera: {camera}")
    xmask, xshift, ymask, yshift, pmask, pshift = _JAER_CAMERAS[camera]
    record = np.dtype([("addr", ">u2" if version == "dat" else ">u4"), ("ts", ">u4")])
    if version == "dat":
        print("using the old .dat format")
    raw = Path(datafile).read_bytes()
    start = 0
    while raw.startswith(b"#", start):
        newline = raw.find(b"\n", start)
        start = len(raw) if newline < 0 else newline + 1
    stop = len(raw) if length == 0 else min(length, len(raw))
    count = max(stop - start, 0) // record.itemsize
    ev = np.frombuffer(raw, record, count=count, offset=start)
    addr = ev["addr"].astype(np.int64)
    if camera == "DAVIS240":
        keep = (addr >> 31) == 0
        addr, ev = addr[keep], ev[keep]
    ts = ev["ts"].astype(np.int64)
    x, y, p = (addr & xmask) >> xshift, (addr & ymask) >> yshift, (addr & pmask) >> pshift
    if debug > 0:
        duration = (ts[-1] - ts[0]) * 1e-6 if len(ts) else 0.0
        print(f"read {len(ts)} (~ {len(ts) / 1e6:.2f}M) AE events, duration= {duration:.2f}s")
        print(f"showing first 5:\ntimestamps: {ts[:5].tolist()} \nX-addr: {x[:5].tolist()}\n"
              f"Y-addr: {y[:5].tolist()}\npolarity: {p[:5].tolist()}")
    return ts, x, y, p


def aedat_to_events(filename: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a DVS Gesture AEDAT 3.1 recording and its ``<name>_labels.csv``, keeping the events inside
    the labelled gestures.

    Returns:
        ``(events, labels)``: ``uint32 [N, 4]`` rows ``(t, x, y, p)`` of the events in each label's
        ``[start, end)`` window, in label order, and the ``uint32 [L, 3]`` label rows
        ``(class, start_us, end_us)`` (classes 1..11, as in the file).
    """
    name = str(filename)
    labels = np.loadtxt(name[:-6] + "_labels.csv", skiprows=1, delimiter=",", dtype="uint32", ndmin=2)
    ev = read_aedat31(filename)
    events = np.stack([ev["t"], ev["x"], ev["y"], ev["p"]], axis=1).astype(np.uint32)
    parts = [
        events[np.searchsorted(events[:, 0], lo):np.searchsorted(events[:, 0], hi)] for _, lo, hi in labels
    ]
    return (np.concatenate(parts) if parts else np.zeros((0, 4), np.uint32)), labels


def plot_frames_imshow(
    images: np.ndarray, labels: np.ndarray | None = None, nim: int = 11, avg: int = 50, interval: int = 1,
    do1h: bool = True, transpose: bool = False, label_mapping: Mapping[int, str] | None = None,
) -> Any:
    """Plot ``nim`` samples of ``[N, T, 2, H, W]`` frames as a grid (one column per sample, one row per
    block of ``avg`` steps): mean ON minus mean OFF activity, red (OFF) to green (ON).

    Labels (one-hot with ``do1h``, else class indices) title the first row through ``label_mapping``.

    Returns:
        The matplotlib figure (snntorch returns None).
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import LinearSegmentedColormap, Normalize

    images = np.asarray(images)
    avg = min(avg, images.shape[1])
    blocks = range(0, max(images.shape[1] // avg, 1), interval)
    cmap = LinearSegmentedColormap.from_list("on_off", ["red", "black", "green"])
    fig = plt.figure(figsize=[nim + 2, 16])
    grid = fig.add_gridspec(nim, len(blocks)) if transpose else fig.add_gridspec(len(blocks), nim)
    fig.subplots_adjust(left=0, bottom=0, right=1, top=0.95, wspace=0.0, hspace=0.04)
    if labels is None:
        categories: Sequence[Any] = range(len(images))
    else:
        categories = np.asarray(labels).argmax(axis=1) if do1h else np.asarray(labels)
    for j in range(nim):
        for row, i in enumerate(blocks):
            ax = fig.add_subplot(grid[j, row] if transpose else grid[row, j])
            window = images[j, i * avg:i * avg + avg]
            ax.imshow(window[:, 0].mean(axis=0).T - window[:, 1].mean(axis=0).T, cmap=cmap,
                      norm=Normalize(-0.1, 0.1))
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0 and label_mapping is not None:
                ax.set_title(label_mapping[int(categories[j])], fontsize=10)
    return fig


def one_hot1d(mbt: Any, num_classes: int) -> np.ndarray:
    """``float32 [num_classes]`` with a 1 at class ``int(mbt)``."""
    out = np.zeros([num_classes], dtype=np.float32)
    out[int(mbt)] = 1
    return out


def nmnist_load_events_from_bin(file_path: str | Path, max_duration: Any = None) -> np.ndarray:
    """N-MNIST ``.bin`` events as ``uint32 [N, 4]`` rows ``(t, p, x, y)`` (``max_duration`` is
    ignored, as in snntorch)."""
    ts, x, y, p = load_ATIS_bin(file_path)
    return np.column_stack([ts, p, x, y]).astype(np.uint32)


def nmnist_get_file_names(dataset_path: str | Path) -> tuple[list[list[str]], list[list[str]]]:
    """The N-MNIST ``Train/<digit>/*.bin`` and ``Test/<digit>/*.bin`` files of each digit (sorted), cut
    to the same number per digit (the smallest), as 10 lists each.

    Raises:
        FileNotFoundError: ``dataset_path`` is not a folder.
    """
    if not os.path.isdir(dataset_path):
        raise FileNotFoundError(f"N-MNIST Dataset not found, looked at: {dataset_path}")
    files = {
        part: [sorted(glob.glob(os.path.join(dataset_path, f"{part}/{d}/*.bin"))) for d in range(10)]
        for part in ("Train", "Test")
    }
    n = {part: min(len(f) for f in lists) for part, lists in files.items()}
    print(f"\nN-MNIST: {n['Train'] * 10} train samples and {n['Test'] * 10} test samples")
    return [f[:n["Train"]] for f in files["Train"]], [f[:n["Test"]] for f in files["Test"]]


def load_shd_hdf5(filename: str | Path, train: bool = True) -> tuple[list[np.ndarray], list[int]]:
    """All samples of an SHD ``.h5`` file: ``int32 [n, 2]`` rows ``(time_us, unit)`` per sample (times
    rounded to microseconds; snntorch truncates, so 0.0016 s read as 1599) and the labels as ints
    (``train`` is ignored, as in snntorch)."""
    import h5py

    events, labels = [], []
    with h5py.File(filename, "r") as f:
        for i, label in enumerate(f["labels"]):
            labels.append(int(label))
            times = np.round(np.asarray(f["spikes"]["times"][i], dtype=np.float64) * 1e6).astype(np.int32)
            events.append(np.column_stack([times, np.asarray(f["spikes"]["units"][i]).astype(np.int32)]))
    return events, labels
