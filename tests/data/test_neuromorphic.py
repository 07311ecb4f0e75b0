"""N-MNIST, SHD and DVS Gesture on tiny files written in the real formats: event counts, frame
sums and labels derived by hand from the written events."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from spikeforge.data import (
    NMNIST,
    SHD,
    CorruptDataError,
    DatasetNotFoundError,
    DVSGesture,
    FrameSpec,
    collate_time_major,
    get_event_dataset,
    read_aedat31,
)

from .formats import aedat31_bytes, fill_nmnist, write_gesture, write_nmnist, write_shd

SPEC = FrameSpec(n_time_bins=2, time_window_us=1000)


@pytest.fixture
def nmnist_root(tmp_path: Path) -> Path:
    # (x, y, p, t); the overflow marker before the 4th event adds 8192 us to it: t = 100 + 8192
    write_nmnist(tmp_path / "NMNIST/Train/3/00001.bin",
                 [(1, 2, 0, 10), (1, 2, 1, 500), (33, 33, 1, 1500), (5, 6, 0, 100)], overflow_before=3)
    write_nmnist(tmp_path / "NMNIST/Train/7/00002.bin", [(0, 0, 1, 999)])
    fill_nmnist(tmp_path, "Train")  # one single-event file in each other digit: sample k has label k
    return tmp_path


def test_nmnist_events_frames_labels(nmnist_root: Path) -> None:
    ds = NMNIST(nmnist_root, train=True, frames=SPEC)
    assert len(ds) == 10 and ds.targets == list(range(10))
    ev, label = ds.events(3)
    assert label == 3 and len(ev) == 4
    assert ev["t"].tolist() == [10, 500, 1500, 8292]
    frames, y = ds[3]
    assert y == 3 and frames.shape == (2, 2, 34, 34) and frames.dtype == torch.float32
    assert float(frames.sum()) == 3.0  # t = 8292 lies past 2 bins of 1 ms
    assert frames[0, 0, 2, 1] == 1 and frames[0, 1, 2, 1] == 1 and frames[1, 1, 33, 33] == 1


def test_nmnist_downsample_and_denoise(tmp_path: Path) -> None:
    write_nmnist(tmp_path / "NMNIST/Test/0/a.bin", [(1, 2, 0, 1000), (2, 2, 0, 1050), (20, 20, 0, 1100)])
    fill_nmnist(tmp_path, "Test")
    down = NMNIST(tmp_path, train=False, frames=FrameSpec(n_time_bins=1, spatial_factor=0.5), cache=False)
    f, _ = down[0]
    assert f.shape == (1, 2, 17, 17) and f[0, 0, 1, 0] == 1 and f[0, 0, 1, 1] == 1 and f[0, 0, 10, 10] == 1
    # (1,2) and (20,20) have no neighbour event within 100 us before them; (2,2) follows (1,2) by 50 us
    den = NMNIST(tmp_path, train=False, frames=FrameSpec(n_time_bins=1, denoise_us=100), cache=False)
    f, _ = den[0]
    assert float(f.sum()) == 1.0 and f[0, 0, 2, 2] == 1


def test_nmnist_cache_is_used_after_first_conversion(
    nmnist_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _ = NMNIST(nmnist_root, frames=SPEC)[3]
    reads: list[object] = []
    real = NMNIST._read
    monkeypatch.setattr(NMNIST, "_read", lambda self, s: reads.append(s) or real(self, s))
    again, label = NMNIST(nmnist_root, frames=SPEC)[3]
    assert torch.equal(first, again) and label == 3 and reads == []  # only the cache answered
    # a new spec converts again
    other = FrameSpec(n_time_bins=3, time_window_us=1000)
    assert float(NMNIST(nmnist_root, frames=other)[3][0].sum()) == 3.0 and len(reads) == 1


def test_nmnist_cache_follows_changed_files(nmnist_root: Path) -> None:
    write_nmnist(nmnist_root / "NMNIST/Train/3/00005.bin", [(0, 0, 1, 999)])
    ds = NMNIST(nmnist_root, frames=SPEC)
    assert [float(ds[i][0].sum()) for i in (3, 4)] == [3.0, 1.0]
    # deleting the first file of class 3 shifts the index: sample 3 is now 00005.bin (1 event)
    (nmnist_root / "NMNIST/Train/3/00001.bin").unlink()
    frames, label = NMNIST(nmnist_root, frames=SPEC)[3]
    assert label == 3 and float(frames.sum()) == 1.0 and frames[0, 1, 0, 0] == 1
    # same size, new content (and a new mtime): converted again
    path = nmnist_root / "NMNIST/Train/3/00005.bin"
    write_nmnist(path, [(4, 4, 0, 1500)])
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    frames, _ = NMNIST(nmnist_root, frames=SPEC)[3]
    assert float(frames.sum()) == 1.0 and frames[1, 0, 4, 4] == 1


def test_shd_cache_follows_a_replaced_file(tmp_path: Path) -> None:
    path = tmp_path / "SHD/shd_train.h5"
    write_shd(path, [([0.0001], [5], 2)])
    assert float(SHD(tmp_path, frames=SPEC)[0][0][0, 5]) == 1.0
    write_shd(path, [([0.0015, 0.0016], [9, 9], 4)])
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    frames, label = SHD(tmp_path, frames=SPEC)[0]
    assert label == 4 and float(frames.sum()) == 2.0 and frames[1, 9] == 2


def test_nmnist_missing_and_corrupt(tmp_path: Path, nmnist_root: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match=r"NMNIST/Test/<digit 0-9>/\*\.bin.*cannot download"):
        NMNIST(tmp_path / "nowhere", train=False, frames=SPEC)
    (nmnist_root / "NMNIST/Train/7/00002.bin").write_bytes(b"\x00" * 7)
    with pytest.raises(CorruptDataError, match="not a whole number of 5-byte"):
        NMNIST(nmnist_root, frames=SPEC, cache=False)[7]


def test_shd_events_frames_labels(tmp_path: Path) -> None:
    samples = [([0.0005, 0.0015, 0.0016], [0, 699, 699], 1), ([0.0001], [5], 0)]
    write_shd(tmp_path / "SHD/shd_train.h5", samples)
    ds = get_event_dataset("shd", tmp_path, train=True, frames=SPEC)
    assert isinstance(ds, SHD) and len(ds) == 2 and ds.targets == [1, 0]
    ev, _ = ds.events(0)
    assert ev["t"].tolist() == [500, 1500, 1600] and ev["x"].tolist() == [0, 699, 699]
    frames, y = ds[0]
    assert y == 1 and frames.shape == (2, 700) and float(frames.sum()) == 3.0
    assert frames[0, 0] == 1 and frames[1, 699] == 2
    half = SHD(tmp_path, frames=FrameSpec(n_time_bins=1, spatial_factor=0.5), cache=False)
    f, _ = half[0]
    assert f.shape == (1, 350) and f[0, 349] == 2 and f[0, 0] == 1


def test_shd_missing_and_corrupt(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match=r"SHD/shd_test\.h5 \(gunzip"):
        SHD(tmp_path, train=False, frames=SPEC)
    (tmp_path / "SHD").mkdir()
    (tmp_path / "SHD/shd_test.h5").write_bytes(b"not hdf5")
    with pytest.raises(CorruptDataError, match="not a readable SHD HDF5"):
        SHD(tmp_path, train=False, frames=SPEC)


def test_aedat31_reader_skips_other_packets_and_applies_overflow() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "x.aedat"
        path.write_bytes(aedat31_bytes([[(3, 4, 1, 5)], [(127, 0, 0, 6)]], overflow=1))
        ev = read_aedat31(path)
    assert ev["x"].tolist() == [3, 127] and ev["y"].tolist() == [4, 0] and ev["p"].tolist() == [1, 0]
    assert ev["t"].tolist() == [2**31 + 5, 2**31 + 6]


@pytest.fixture
def gesture_root(tmp_path: Path) -> Path:
    packets = [[(0, 0, 1, 100), (127, 127, 0, 200), (5, 5, 1, 1500)], [(6, 6, 0, 2500), (7, 7, 1, 3600)]]
    write_gesture(tmp_path, "user01_fluorescent", True, packets, [(1, 0, 2000), (11, 2000, 4000)])
    write_gesture(tmp_path, "user02_led", False, [[(1, 1, 1, 10)]], [(4, 0, 100)])
    return tmp_path


def test_dvsgesture_aedat_samples(gesture_root: Path) -> None:
    ds = DVSGesture(gesture_root, train=True, frames=SPEC)
    assert len(ds) == 2 and ds.targets == [0, 10]
    ev, _ = ds.events(1)
    assert ev["t"].tolist() == [500, 1600] and ev["x"].tolist() == [6, 7]
    f0, y0 = ds[0]
    assert y0 == 0 and f0.shape == (2, 2, 128, 128) and float(f0.sum()) == 3.0
    assert f0[0, 1, 0, 0] == 1 and f0[0, 0, 127, 127] == 1 and f0[1, 1, 5, 5] == 1
    f1, y1 = ds[1]
    assert y1 == 10 and f1[0].sum() == 1 and f1[1].sum() == 1
    test = DVSGesture(gesture_root, train=False, frames=SPEC)
    assert len(test) == 1 and test.targets == [3]


def test_dvsgesture_corrupt_and_missing(gesture_root: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    path = gesture_root / "DVSGesture/DvsGesture/user01_fluorescent.aedat"
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(CorruptDataError, match="truncated packet"):
        DVSGesture(gesture_root, frames=SPEC, cache=False)[0]
    with pytest.raises(DatasetNotFoundError, match=r"trials_to_train\.txt.*DvsGesture\.tar\.gz"):
        DVSGesture(tmp_path_factory.mktemp("empty"), frames=SPEC)


def test_dvsgesture_garbage_trial_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "DVSGesture/DvsGesture"
    folder.mkdir(parents=True)
    (folder / "trials_to_train.txt").write_text("user01_led.aedat\n")
    (folder / "user01_led.aedat").write_bytes(b"garbage")
    (folder / "user01_led_labels.csv").write_text("class,startTime_usec,endTime_usec\n")
    with pytest.raises(CorruptDataError, match=r"user01_led_labels\.csv.*no labelled gesture"):
        DVSGesture(tmp_path, frames=SPEC)


def test_dvsgesture_tonic_npy_layout(tmp_path: Path) -> None:
    folder = tmp_path / "DVSGesture/ibmGestureTrain/user01_led"
    folder.mkdir(parents=True)
    np.save(folder / "3.npy", np.array([[1, 2, 1, 0.5], [3, 4, 0, 1.2]]))
    ds = DVSGesture(tmp_path, frames=SPEC)
    f, y = ds[0]
    assert y == 3 and f[0, 1, 2, 1] == 1 and f[1, 0, 4, 3] == 1 and float(f.sum()) == 2


def test_collate_is_time_major_and_pads() -> None:
    a, b = torch.ones(2, 3), 2 * torch.ones(3, 3)
    x, y = collate_time_major([(a, 1), (b, 4)])
    assert x.shape == (3, 2, 3) and y.tolist() == [1, 4] and y.dtype == torch.int64
    assert torch.equal(x[:, 0], torch.tensor([[1.0] * 3, [1.0] * 3, [0.0] * 3])) and torch.equal(x[:, 1], b)
    with pytest.raises(ValueError, match="different per-step shapes"):
        collate_time_major([(torch.ones(2, 3), 0), (torch.ones(2, 4), 0)])


def test_unknown_dataset_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown data set 'mnist'; choose --dataset from digits, nmnist"):
        get_event_dataset("mnist", tmp_path, True, SPEC)


def test_subset_indices_are_fixed_and_spread() -> None:
    from spikeforge.data.loaders import subset_indices

    assert subset_indices(5, 9) == [0, 1, 2, 3, 4]
    a = subset_indices(1000, 50)
    assert a == subset_indices(1000, 50) and len(set(a)) == 50 and a == sorted(a)
    assert max(a) >= 500  # not the first 50 (files are sorted by class)
