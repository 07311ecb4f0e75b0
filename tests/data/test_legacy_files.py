"""snntorch's spikevision file helpers (`spikeforge.data.legacy.files`, also at the spikevision paths):
checksums, readers returning snntorch's tuples (on files written from the format descriptions in
``formats.py``), the frame plot, the transform wrapper."""

from __future__ import annotations

import struct
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from spikeforge.data import CorruptDataError
from spikeforge.data.legacy import files as F

from .formats import aedat31_bytes, write_nmnist, write_shd

matplotlib.use("Agg")

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from spikeforge.spikevision import _utils, neuromorphic_dataset
    from spikeforge.spikevision.spikedata import nmnist, shd


def test_the_snntorch_paths_hold_the_same_functions() -> None:
    assert _utils.load_ATIS_bin is F.load_ATIS_bin is nmnist.load_ATIS_bin
    assert neuromorphic_dataset.check_integrity is F.check_integrity
    assert shd.one_hot1d is F.one_hot1d


def test_identity_and_standard_transform() -> None:
    assert F.identity(obj := object()) is obj
    both = F.StandardTransform(lambda x: x + 1, lambda y: y * 10)
    assert both(1, 2) == (2, 20)
    assert F.StandardTransform(None, None)(1, 2) == (1, 2)

    class Named:
        def __repr__(self) -> str:
            return "Named(\n  a)"

    assert repr(F.StandardTransform(Named())) == "StandardTransform\nTransform: Named(\n             a)"


def test_md5_helpers_on_a_real_file(tmp_path: Path) -> None:
    path = tmp_path / "abc.bin"
    path.write_bytes(b"abc")
    digest = "900150983cd24fb0d6963f7d28e17f72"  # MD5("abc"), RFC 1321 test suite
    assert F.calculate_md5(path) == digest
    assert F.calculate_md5(path, chunk_size=1) == digest
    assert F.check_md5(path, digest) and not F.check_md5(path, "0" * 32)
    assert F.check_integrity(path) and F.check_integrity(path, digest)
    assert not F.check_integrity(path, "0" * 32)
    assert not F.check_integrity(tmp_path / "missing.bin")


def test_load_atis_bin_with_an_overflow_marker(tmp_path: Path) -> None:
    path = tmp_path / "s.bin"
    write_nmnist(path, [(3, 4, 1, 0x12345), (1, 2, 0, 5)], overflow_before=1)
    ts, x, y, p = F.load_ATIS_bin(path)
    assert all(a.dtype == np.uint32 for a in (ts, x, y, p))
    # the marker itself is a record (x 0, y 240) read with the added 8192 us, as in snntorch
    assert ts.tolist() == [0x12345, 8192, 8197]
    assert x.tolist() == [3, 0, 1] and y.tolist() == [4, 240, 2] and p.tolist() == [1, 0, 0]
    rows = F.nmnist_load_events_from_bin(path)
    assert rows.dtype == np.uint32 and rows[2].tolist() == [8197, 0, 1, 2]  # t, p, x, y
    path.write_bytes(b"\x00" * 7)
    with pytest.raises(CorruptDataError, match="5-byte"):
        F.load_ATIS_bin(path)


JAER_HEADER = b"#!AER-DAT2.0\r\n# made in a test\r\n"


def _jaer(path: Path, events: list[tuple[int, int]]) -> None:
    path.write_bytes(JAER_HEADER + b"".join(struct.pack(">II", a, t) for a, t in events))


def test_load_jaer_dvs128_skips_the_header_and_reads_every_event(tmp_path: Path) -> None:
    path = tmp_path / "rec.aedat"
    # DVS128 address: x in bits 1-7, y in bits 8-14, polarity bit 0
    _jaer(path, [((5 << 1) | (7 << 8) | 1, 100), ((0 << 1) | (1 << 8), 250)])
    ts, x, y, p = F.load_jaer(str(path), debug=0)
    assert ts.tolist() == [100, 250] and x.tolist() == [5, 0] and y.tolist() == [7, 1]
    assert p.tolist() == [1, 0]
    assert F.load_jaer(str(path), length=len(JAER_HEADER) + 8, debug=0)[0].tolist() == [100]


def test_load_jaer_davis240_keeps_dvs_events_and_the_dat_format(tmp_path: Path, capsys) -> None:
    path = tmp_path / "davis.aedat"
    dvs = (3 << 12) | (9 << 22) | (1 << 11)
    _jaer(path, [(dvs, 10), (dvs | (1 << 31), 20)])
    ts, x, y, p = F.load_jaer(str(path), camera="DAVIS240", debug=1)
    assert ts.tolist() == [10] and x.tolist() == [3] and y.tolist() == [9] and p.tolist() == [1]
    assert "read 1 (~ 0.00M) AE events" in capsys.readouterr().out
    old = tmp_path / "old.dat"
    old.write_bytes(struct.pack(">HI", (2 << 1) | (3 << 8), 77))
    assert F.load_jaer(str(old), version="dat", debug=0)[1].tolist() == [2]
    with pytest.raises(ValueError, match="Unsupported camera"):
        F.load_jaer(str(path), camera="ATIS")


def test_aedat_to_events_keeps_the_labelled_windows(tmp_path: Path) -> None:
    path = tmp_path / "user01_led.aedat"
    path.write_bytes(aedat31_bytes([[(1, 2, 1, 10), (3, 4, 0, 20)], [(5, 6, 1, 30), (7, 8, 0, 40)]]))
    (tmp_path / "user01_led_labels.csv").write_text("class,startTime_usec,endTime_usec\n2,15,35\n")
    events, labels = F.aedat_to_events(str(path))
    assert events.dtype == np.uint32
    assert events.tolist() == [[20, 3, 4, 0], [30, 5, 6, 1]]  # t, x, y, p inside [15, 35)
    assert labels.tolist() == [[2, 15, 35]]


def test_plot_frames_imshow_draws_one_panel_per_sample_and_block() -> None:
    images = np.zeros((2, 10, 2, 4, 4))
    images[0, :, 0] = 1
    labels = np.eye(3)[[2, 0]]
    fig = F.plot_frames_imshow(images, labels, nim=2, avg=5, label_mapping={0: "zero", 2: "two"})
    assert len(fig.axes) == 4  # 2 blocks of 5 steps x 2 samples
    titles = sorted(ax.get_title() for ax in fig.axes if ax.get_title())
    assert titles == ["two", "zero"]
    assert fig.axes[0].images[0].get_array().max() == 1  # ON minus OFF activity of sample 0


def test_one_hot1d() -> None:
    out = F.one_hot1d(2.0, 4)
    assert out.dtype == np.float32 and out.tolist() == [0, 0, 1, 0]


def test_nmnist_file_names_are_balanced_per_digit(tmp_path: Path, capsys) -> None:
    for split in ("Train", "Test"):
        for d in range(10):
            for k in range(1 if (split, d) == ("Train", 3) else 2):
                write_nmnist(tmp_path / split / str(d) / f"{k:05d}.bin", [(0, 0, 0, 0)])
    train, test = F.nmnist_get_file_names(tmp_path)
    assert [len(f) for f in train] == [1] * 10 and [len(f) for f in test] == [2] * 10
    assert train[0][0].endswith("Train/0/00000.bin")
    assert "10 train samples and 20 test samples" in capsys.readouterr().out
    with pytest.raises(FileNotFoundError, match="N-MNIST"):
        F.nmnist_get_file_names(tmp_path / "absent")


def test_load_shd_hdf5_rounds_to_microseconds(tmp_path: Path) -> None:
    path = tmp_path / "shd_train.h5"
    write_shd(path, [([0.0016, 0.5], [3, 699], 7), ([0.25], [1], 19)])
    events, labels = F.load_shd_hdf5(path)
    assert labels == [7, 19]
    assert events[0].dtype == np.int32
    assert events[0].tolist() == [[1600, 3], [500000, 699]] and events[1].tolist() == [[250000, 1]]
