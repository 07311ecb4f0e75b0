"""SSC, POKER-DVS, CIFAR10-DVS and N-Caltech101 on tiny files written in their real formats (HDF5, tonic's
``.npy`` tables, AEDAT 4, Orchard's 5-byte ``.bin``): events, frames and labels derived by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tonic.datasets

from spikeforge.data import (
    CIFAR10DVS,
    NCALTECH101,
    POKERDVS,
    SSC,
    CorruptDataError,
    DatasetNotFoundError,
    FrameSpec,
    fixed_class_split,
    get_event_dataset,
    read_aedat4,
)

from .formats import aedat4_bytes, write_event_npy, write_hdf5_audio, write_nmnist

SPEC = FrameSpec(n_time_bins=2, time_window_us=1000)
SSC_KEYS = [f"word{k}" for k in range(35)]


def test_sensor_sizes_and_classes_are_tonics() -> None:
    assert POKERDVS.sensor_size == tonic.datasets.POKERDVS.sensor_size
    assert POKERDVS.classes == tuple(tonic.datasets.POKERDVS.classes)
    assert CIFAR10DVS.sensor_size == tonic.datasets.CIFAR10DVS.sensor_size
    assert CIFAR10DVS.classes == tuple(tonic.datasets.CIFAR10DVS.classes)  # its dict, in label order
    assert [tonic.datasets.CIFAR10DVS.classes[c] for c in CIFAR10DVS.classes] == list(range(10))
    assert SSC.sensor_size == tonic.datasets.SSC.sensor_size


def test_ssc_35_classes(tmp_path: Path) -> None:
    samples = [([0.0002, 0.0016], [699, 0], 34), ([0.0005], [3], 0)]
    write_hdf5_audio(tmp_path / "SSC/ssc_train.h5", samples, SSC_KEYS)
    ds = get_event_dataset("ssc", tmp_path, True, SPEC)
    assert isinstance(ds, SSC) and ds.num_classes == 35 and ds.targets == [34, 0]
    ev, label = ds.events(0)
    assert label == 34 and ev["t"].tolist() == [200, 1600] and ev["x"].tolist() == [699, 0]
    frames, _ = ds[0]
    assert frames.shape == (2, 700) and frames[0, 699] == 1 and frames[1, 0] == 1 and float(frames.sum()) == 2
    with pytest.raises(DatasetNotFoundError, match=r"SSC/ssc_test\.h5 \(gunzip ssc_train\.h5\.gz"):
        SSC(tmp_path, train=False, frames=SPEC)


@pytest.fixture
def poker_root(tmp_path: Path) -> Path:
    # rows t, x, y, p; suit k's sample has its event at x = 10 * k
    for split, n in (("train", 2), ("test", 1)):
        for k, suit in enumerate(("cl", "he", "di", "sp")):
            for i in range(n):
                write_event_npy(tmp_path / f"POKERDVS/pips_{split}/{suit}/{suit}{i}.npy",
                                [[100 + i, 10 * k, 34, 1], [1500, 0, 0, 0]])
    return tmp_path


def test_pokerdvs_npy_tables(poker_root: Path) -> None:
    ds = POKERDVS(poker_root, True, SPEC)
    assert len(ds) == 8 and ds.targets == [0, 0, 1, 1, 2, 2, 3, 3]
    ev, label = ds.events(5)  # the second file of "di" (label 2)
    assert label == 2 and ev["x"].tolist() == [20, 0] and ev["y"].tolist() == [34, 0]
    assert ev["t"].tolist() == [101, 1500] and ev["p"].tolist() == [1, 0]
    frames, _ = ds[5]
    assert frames.shape == (2, 2, 35, 35) and frames[0, 1, 34, 20] == 1 and frames[1, 0, 0, 0] == 1
    assert POKERDVS(poker_root, False, SPEC).targets == [0, 1, 2, 3]


def test_pokerdvs_missing_suit_and_bad_table(poker_root: Path) -> None:
    (poker_root / "POKERDVS/pips_test/sp/sp0.npy").unlink()
    with pytest.raises(DatasetNotFoundError, match=r"class folder\(s\) sp hold no \.npy file"):
        POKERDVS(poker_root, False, SPEC)
    np.save(poker_root / "POKERDVS/pips_train/cl/cl0.npy", np.zeros((3, 3)))
    with pytest.raises(CorruptDataError,
                       match=r"cl0\.npy: expected \[N, 4\] rows of t, x, y, p, got an array of shape"):
        POKERDVS(poker_root, True, SPEC)[0]


def test_aedat4_file_read_by_tonic(tmp_path: Path) -> None:
    path = tmp_path / "a.aedat4"
    path.write_bytes(aedat4_bytes([(10, 3, 4, 1), (2**33, 127, 0, 0)]))
    ev = read_aedat4(path)
    assert ev.dtype.names == ("t", "x", "y", "p")
    assert ev["t"].tolist() == [10, 2**33] and ev["x"].tolist() == [3, 127] and ev["p"].tolist() == [1, 0]
    (tmp_path / "b.aedat4").write_bytes(b"#!AER-DAT4.0\r\n\x05\x00")
    with pytest.raises(CorruptDataError, match=r"b\.aedat4: not a readable AEDAT 4 event file"):
        read_aedat4(tmp_path / "b.aedat4")


def test_cifar10dvs_fixed_split(tmp_path: Path) -> None:
    for label, name in enumerate(CIFAR10DVS.classes):
        for i in range(10):  # 10 per class: 1 test, 9 train
            path = tmp_path / f"CIFAR10DVS/{name}/cifar10_{name}_{i}.aedat4"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(aedat4_bytes([(10, label, i, 1), (1200, 127, 127, 0)]))
    train, test = CIFAR10DVS(tmp_path, True, SPEC), CIFAR10DVS(tmp_path, False, SPEC)
    assert (len(train), len(test)) == (90, 10) and test.targets == list(range(10))
    assert sorted(train.targets) == sorted(list(range(10)) * 9)
    assert not {s[0] for s in train._samples} & {s[0] for s in test._samples}
    ev, label = test.events(4)
    assert label == 4 and ev["x"].tolist() == [4, 127] and ev["t"].tolist() == [10, 1200]
    frames, _ = test[4]
    assert frames.shape == (2, 2, 128, 128) and frames[1, 0, 127, 127] == 1
    assert frames[0, 1, ev["y"][0], 4] == 1


def test_fixed_class_split_properties() -> None:
    labels = [0] * 10 + [1] * 3 + [2]
    test, train = fixed_class_split(labels, False), fixed_class_split(labels, True)
    assert sorted(test + train) == list(range(14)) and not set(test) & set(train)
    assert [labels[i] for i in test] == [0, 1]  # round(0.1 * 10) = 1, max(1, round(0.3)) = 1, none of 1
    assert fixed_class_split(labels, False) == test  # fixed: no seed involved


def test_ncaltech101_shifted_to_the_origin(tmp_path: Path) -> None:
    for k, name in enumerate(("BACKGROUND_Google", "accordion", "yin_yang")):
        for i in range(2):
            write_nmnist(tmp_path / f"NCALTECH101/Caltech101/{name}/image_{i:04d}.bin",
                         [(5 + k, 7, 1, 10), (200, 150 + i, 0, 1900)])
    train, test = NCALTECH101(tmp_path, True, SPEC), NCALTECH101(tmp_path, False, SPEC)
    assert train.num_classes == 3 and (len(train), len(test)) == (3, 3) and test.targets == [0, 1, 2]
    ev, label = test.events(2)
    assert label == 2 and ev["x"].tolist() == [0, 193] and ev["y"][0] == 0 and ev["y"][1] in (143, 144)
    frames, _ = test[2]
    assert frames.shape == (2, 2, 180, 240) and float(frames.sum()) == 2.0
