"""Event data checked when read: each fault is made for real in a file written in the data set's format,
and the error names the file, the sample, the value and what is allowed; nothing is dropped silently
(``drop_out_of_range`` drops events outside the sensor and counts them)."""

from __future__ import annotations

import re
from pathlib import Path

import h5py
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
)
from spikeforge.data.loaders import DroppedEventsWarning, EventSource
from spikeforge.training.trainer import TrainConfig

from .formats import fill_nmnist, write_gesture, write_nmnist, write_shd

SPEC = FrameSpec(n_time_bins=2, time_window_us=1000)


def test_nmnist_missing_class_folder_is_an_error(tmp_path: Path) -> None:
    fill_nmnist(tmp_path, "Train")
    for f in (tmp_path / "NMNIST/Train/4").iterdir():
        f.unlink()
    (tmp_path / "NMNIST/Train/4").rmdir()
    with pytest.raises(DatasetNotFoundError,
                       match=r"NMNIST/Train, class folder\(s\) 4 missing.*classes 0, 1"):
        NMNIST(tmp_path, frames=SPEC)


def test_nmnist_empty_class_folder_is_an_error(tmp_path: Path) -> None:
    fill_nmnist(tmp_path, "Test")
    (tmp_path / "NMNIST/Test/9/filler.bin").unlink()
    with pytest.raises(DatasetNotFoundError, match=r"class folder\(s\) 9 hold no \.bin file"):
        NMNIST(tmp_path, train=False, frames=SPEC)


def test_nmnist_event_outside_the_sensor_names_file_and_sample(tmp_path: Path) -> None:
    write_nmnist(tmp_path / "NMNIST/Train/3/bad.bin", [(1, 1, 0, 5), (40, 3, 1, 9), (2, 34, 0, 12)])
    fill_nmnist(tmp_path, "Train")
    ds = NMNIST(tmp_path, frames=SPEC, cache=False)
    path = tmp_path / "NMNIST/Train/3/bad.bin"
    message = (f"NMNIST file {path}, sample 3: event 1 at x=40, y=3, p=1 lies outside the 34x34 sensor "
               "(and 1 more); allowed x 0..33, y 0..33, p 0..1")
    with pytest.raises(CorruptDataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ds[3]
    assert float(ds[2][0].sum()) == 1.0  # the other samples still read


def test_drop_out_of_range_drops_counts_and_keeps_the_count_in_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_nmnist(tmp_path / "NMNIST/Train/3/bad.bin", [(1, 1, 0, 5), (40, 3, 1, 9), (2, 34, 0, 12)])
    fill_nmnist(tmp_path, "Train")
    ds = NMNIST(tmp_path, frames=SPEC, drop_out_of_range=True)
    frames, label = ds[3]
    assert label == 3 and float(frames.sum()) == 1.0 and frames[0, 0, 1, 1] == 1
    assert ds.dropped == {3: 2}
    ev, _ = ds.events(3)
    assert ev["x"].tolist() == [1] and ev["t"].tolist() == [5]
    # a new instance answers from the cache, which kept the count
    reads: list[object] = []
    real = NMNIST._read
    monkeypatch.setattr(NMNIST, "_read", lambda self, s: reads.append(s) or real(self, s))
    again = NMNIST(tmp_path, frames=SPEC, drop_out_of_range=True)
    assert torch.equal(again[3][0], frames) and again.dropped == {3: 2} and reads == []
    # the cache never hides the check: without the option the sample is read, checked and refused
    with pytest.raises(CorruptDataError, match="sample 3: event 1 at x=40"):
        NMNIST(tmp_path, frames=SPEC)[3]
    assert len(reads) == 1


def _write_h5(path: Path, times: list, units: list, labels: list) -> None:
    """SHD's layout with any (possibly inconsistent) lengths and values."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        t = f.create_dataset("spikes/times", (len(times),), dtype=h5py.vlen_dtype(np.float64))
        u = f.create_dataset("spikes/units", (len(units),), dtype=h5py.vlen_dtype(np.int32))
        for i, v in enumerate(times):
            t[i] = np.asarray(v, dtype=np.float64)
        for i, v in enumerate(units):
            u[i] = np.asarray(v, dtype=np.int32)
        f.create_dataset("labels", data=np.asarray(labels, dtype=np.int64))


def test_shd_label_array_shorter_than_the_samples(tmp_path: Path) -> None:
    path = tmp_path / "SHD/shd_train.h5"
    _write_h5(path, [[0.001], [0.002], [0.003]], [[1], [2], [3]], [0, 1])
    with pytest.raises(CorruptDataError, match=r"3 in spikes/times, 3 in spikes/units, 2 in labels; every "
                                               r"sample needs its times, units and one label"):
        SHD(tmp_path, frames=SPEC)


def test_shd_unit_id_outside_the_700_channels(tmp_path: Path) -> None:
    path = tmp_path / "SHD/shd_train.h5"
    write_shd(path, [([0.001], [5], 0), ([0.001, 0.002], [12, 731], 1)])
    ds = SHD(tmp_path, frames=SPEC, cache=False)
    with pytest.raises(CorruptDataError, match=rf"SHD file {path}, sample 1: event 1 has channel \(unit "
                                               r"id\) 731, outside the 700-channel sensor; channels must be "
                                               r"0\.\.699"):
        ds[1]
    dropped = SHD(tmp_path, frames=SPEC, cache=False, drop_out_of_range=True)
    frames, _ = dropped[1]
    assert float(frames.sum()) == 1.0 and frames[1, 12] == 1 and dropped.dropped == {1: 1}  # 1000 us: bin 1


@pytest.mark.parametrize(("bad", "shown"), [(float("nan"), "nan"), (-0.5, "-0.5"), (float("inf"), "inf"),
                                            (1e30, "1e+30")])
def test_shd_bad_spike_times(tmp_path: Path, bad: float, shown: str) -> None:
    path = tmp_path / "SHD/shd_test.h5"
    _write_h5(path, [[0.001], [0.001, bad]], [[1], [2, 3]], [0, 4])
    ds = SHD(tmp_path, train=False, frames=SPEC, drop_out_of_range=True)  # bad times are never dropped
    assert float(ds[0][0].sum()) == 1.0
    with pytest.raises(CorruptDataError, match=rf"SHD file {path}, sample 1: event 1 has time "
                                               rf"{re.escape(shown)} s; times must be finite numbers in "
                                               r"0\.\.9\.0072e\+09 s"):
        ds[1]


def test_shd_times_and_units_of_different_lengths(tmp_path: Path) -> None:
    _write_h5(tmp_path / "SHD/shd_train.h5", [[0.001, 0.002]], [[1]], [0])
    with pytest.raises(CorruptDataError, match="sample 0: 2 spike times but 1 unit ids"):
        SHD(tmp_path, frames=SPEC)[0]


def test_shd_label_out_of_range(tmp_path: Path) -> None:
    path = tmp_path / "SHD/shd_train.h5"
    write_shd(path, [([0.001], [5], 0), ([0.001], [5], 20)])
    with pytest.raises(CorruptDataError, match=rf"SHD file {path}, sample 1: label 20 is out of range; "
                                               r"labels must be 0\.\.19"):
        SHD(tmp_path, frames=SPEC)


def test_dvsgesture_event_outside_the_128x128_sensor(tmp_path: Path) -> None:
    # AEDAT 3.1 stores x in 15 bits: 200 is a valid field value but off the DVS128 sensor
    write_gesture(tmp_path, "user01_led", True, [[(3, 3, 1, 10), (200, 5, 0, 20)]], [(1, 0, 100)])
    path = tmp_path / "DVSGesture/DvsGesture/user01_led.aedat"
    with pytest.raises(CorruptDataError, match=rf"DVSGesture file {path}, sample 0: event 1 at x=200, y=5"):
        DVSGesture(tmp_path, frames=SPEC, cache=False)[0]


def test_event_source_reports_how_many_events_it_dropped(tmp_path: Path) -> None:
    write_shd(tmp_path / "SHD/shd_train.h5", [([0.001, 0.002], [3, 700], 0), ([0.001], [4], 1)])
    write_shd(tmp_path / "SHD/shd_test.h5", [([0.001, 0.0011, 0.0012], [800, 900, 5], 1)])
    cfg = TrainConfig(dataset="shd", data_dir=str(tmp_path), batch_size=2, num_steps=2, val_fraction=0.0,
                      drop_out_of_range=True)
    src = EventSource(cfg)
    assert src.describe().endswith("(events outside the sensor dropped)")
    with pytest.warns(DroppedEventsWarning, match=r"shd train split: dropped 1 events outside the sensor in "
                                                  r"1 of 2 samples read \(--drop-out-of-range\)"):
        batches = list(src.batches("train", 1))
    assert sum(float(x.sum()) for x, _ in batches) == 2.0
    with pytest.warns(DroppedEventsWarning, match="shd test split: dropped 2 events .* in 1 of 1 samples"):
        list(src.batches("test", None))
    cfg.drop_out_of_range = None  # without the option the same files are refused, before any training
    with pytest.raises(CorruptDataError, match="shd_test.h5, sample 0: event 0 has channel"):
        EventSource(cfg)


def test_check_events_takes_tonic_dtypes_and_refuses_fractional_coordinates() -> None:
    from spikeforge.data import check_events

    # tonic's DVSGesture fields: int16 x, y, bool p, int64 t, in that order
    ev = np.array([(3, 4, True, 10), (127, 0, False, 20)],
                  dtype=[("x", np.int16), ("y", np.int16), ("p", bool), ("t", np.int64)])
    out, dropped = check_events(ev, (128, 128, 2), "here")
    assert dropped == 0 and out["p"].tolist() == [1, 0] and out["x"].tolist() == [3, 127]
    assert out.dtype.names == ("x", "y", "t", "p") and out["t"].dtype == np.int64
    table = np.array([(1.5, 2.0, 0.0, 1.0)], dtype=[("t", float), ("x", float), ("y", float), ("p", float)])
    with pytest.raises(CorruptDataError, match="here: event 0 has x=2.5; x must be a whole number"):
        check_events(np.array([(1.0, 2.5, 0.0, 1.0)], dtype=table.dtype), (35, 35, 2), "here")
    assert check_events(table, (35, 35, 2), "here")[0]["t"].tolist() == [2]  # 1.5 us rounds to even
    with pytest.raises(CorruptDataError, match=r"here: events lack the field\(s\) \['p'\]"):
        check_events(np.zeros(1, dtype=[("x", int), ("y", int), ("t", int)]), (4, 4, 2), "here")
