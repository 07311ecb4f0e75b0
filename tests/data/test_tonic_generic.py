"""``tonic:NAME``: tonic's own classes on files already in place, never a download, and a clear error
naming what tonic looks for when files are missing."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import tonic.datasets

from spikeforge.data import (
    DatasetNotFoundError,
    FrameSpec,
    TonicDataset,
    check_dataset_name,
    get_event_dataset,
)
from spikeforge.data.tonic_sets import _no_network, _sensor

from .formats import write_event_npy, write_hdf5_audio

SPEC = FrameSpec(n_time_bins=2, time_window_us=1000)


def _poker(root: Path, split: str, per_suit: int) -> None:
    """tonic's POKERDVS layout: its archive beside the extracted tables (its check wants both, and at
    least 20 .npy files); suit k's samples have x = 10 * k."""
    (root / "POKERDVS").mkdir(parents=True, exist_ok=True)
    (root / f"POKERDVS/pips_{split}.tar.gz").write_bytes(b"")
    for k, suit in enumerate(("cl", "he", "di", "sp")):
        for i in range(per_suit):
            write_event_npy(root / f"POKERDVS/pips_{split}/{suit}/{suit}{i}.npy", [[100, 10 * k, 2, 1]])


def test_pokerdvs_through_tonics_class(tmp_path: Path) -> None:
    _poker(tmp_path, "train", 5)
    ds = get_event_dataset("tonic:POKERDVS", tmp_path, True, SPEC)
    assert isinstance(ds, TonicDataset) and ds.name == "tonic.datasets.POKERDVS"
    assert ds.sensor_size == (35, 35, 2) and ds.num_classes == 4 and ds.frame_shape == (2, 35, 35)
    assert len(ds) == 20 and sorted(ds.targets) == sorted([0, 1, 2, 3] * 5)
    for i in range(len(ds)):
        frames, label = ds[i]
        assert frames[0, 1, 2, 10 * label] == 1 and float(frames.sum()) == 1


def test_ssc_through_tonics_class_with_its_split_argument(tmp_path: Path) -> None:
    keys = [f"word{k}" for k in range(35)]
    write_hdf5_audio(tmp_path / "SSC/ssc_test.h5", [([0.0005], [3], 34), ([0.0015], [699], 1)], keys)
    (tmp_path / "SSC/ssc_test.h5.zip").write_bytes(b"")
    ds = get_event_dataset("tonic:ssc", tmp_path, False, SPEC)
    assert ds.num_classes == 35 and ds.classes[:2] == ["word0", "word1"] and ds.targets == [34, 1]
    frames, label = ds[1]
    assert label == 1 and frames.shape == (2, 700) and frames[1, 699] == 1


def test_missing_files_name_what_tonic_looks_for(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match=rf"tonic\.datasets\.NMNIST data not found: tonic looks "
                                                   rf"for {tmp_path}/NMNIST/train\.zip \(missing\).*cannot "
                                                   r"download"):
        get_event_dataset("tonic:NMNIST", tmp_path, True, SPEC)
    _poker(tmp_path, "test", 1)  # the archive is there but only 4 of the 20 tables tonic wants
    with pytest.raises(DatasetNotFoundError, match=r"pips_test\.tar\.gz \(found\); at least 20 \.npy files "
                                                   r"under .*/POKERDVS/pips_test \(found 4\)"):
        get_event_dataset("tonic:POKERDVS", tmp_path, False, SPEC)


def test_no_download_is_attempted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    monkeypatch.setattr(tonic.datasets.ntidigits18.requests, "get", lambda *a, **k: calls.append(a))
    with pytest.raises(DatasetNotFoundError, match=r"NTIDIGITS18/n-tidigits\.hdf5 \(missing\)"):
        get_event_dataset("tonic:NTIDIGITS18", tmp_path, True, SPEC)
    assert calls == [] and not (tmp_path / "NTIDIGITS18" / "n-tidigits.hdf5").exists()
    # any connection attempted while a tonic class is built is refused, then allowed again afterwards
    with pytest.raises(DatasetNotFoundError, match="cannot download"), \
            _no_network(lambda: DatasetNotFoundError("cannot download")):
        socket.create_connection(("127.0.0.1", 9), timeout=1)
    assert socket.create_connection.__module__ == "socket"


def test_names_that_cannot_train(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"tonic has no data set 'MNIST'; tonic .* has: ASLDVS, CIFAR10DVS"):
        check_dataset_name("tonic:MNIST")
    check_dataset_name("tonic:POKERDVS")  # a known class passes
    with pytest.raises(ValueError, match=r"DSEC cannot be built as .*classification data sets"):
        get_event_dataset("tonic:DSEC", tmp_path, True, SPEC)
    with pytest.raises(ValueError, match=r"NCALTECH101 has no fixed sensor size .*use --dataset ncaltech101"):
        _sensor(None, tonic.datasets.NCALTECH101)
    with pytest.raises(ValueError, match=r"unknown data set 'nmnist2'; choose --dataset from digits, nmnist"):
        check_dataset_name("nmnist2")
