"""snntorch's spikevision import path: class names, signatures, shapes, and the no-download error."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from .formats import fill_nmnist, write_gesture, write_nmnist, write_shd


def _spikedata():
    with pytest.warns(DeprecationWarning, match="spikevision is deprecated"):
        import importlib
        import sys

        sys.modules.pop("spikeforge.spikevision", None)
        mod = importlib.import_module("spikeforge.spikevision")
    return mod.spikedata


def test_signatures_match_api_spec() -> None:
    sd = _spikedata()
    assert sd.__all__ == ["NMNIST", "DVSGesture", "SHD"]
    params = lambda cls: list(inspect.signature(cls.__init__).parameters)[1:]  # noqa: E731
    assert params(sd.NMNIST) == ["root", "train", "transform", "target_transform", "download_and_create",
                                 "num_steps", "dt"]
    assert params(sd.DVSGesture) == ["root", "train", "transform", "target_transform", "download_and_create",
                                     "num_steps", "dt", "ds", "return_meta", "time_shuffle"]
    assert params(sd.SHD) == ["root", "train", "transform", "target_transform", "download_and_create",
                              "num_steps", "ds", "dt"]


def test_nmnist_shape_crop_and_target_transform(tmp_path: Path) -> None:
    sd = _spikedata()
    # (33, 33) lies outside the 32x32 crop; t = 2500 is in frame 2 of dt = 1000
    write_nmnist(tmp_path / "NMNIST/Train/5/a.bin", [(0, 1, 1, 10), (33, 33, 0, 20), (31, 31, 0, 2500)])
    fill_nmnist(tmp_path, "Train")
    ds = sd.NMNIST(str(tmp_path), num_steps=4, dt=1000, target_transform=lambda y: y + 100)
    x, y = ds[5]
    assert x.shape == (4, 2, 32, 32) and float(x.sum()) == 2 and x[0, 1, 1, 0] == 1 and x[2, 0, 31, 31] == 1
    assert y == 105


def test_shd_and_gesture_shapes(tmp_path: Path) -> None:
    sd = _spikedata()
    write_shd(tmp_path / "SHD/shd_test.h5", [([0.0001, 0.0021], [3, 698], 7)])
    x, y = sd.SHD(str(tmp_path), train=False, num_steps=3, ds=2)[0]
    assert x.shape == (3, 350) and y == 7 and x[0, 1] == 1 and x[2, 349] == 1
    write_gesture(tmp_path, "user05_led", True, [[(64, 32, 1, 1500)]], [(2, 1000, 3000)])
    g = sd.DVSGesture(str(tmp_path), num_steps=2, ds=4, return_meta=True)
    assert g.num_steps == 2
    x, y, light, user = g[0]
    assert x.shape == (2, 2, 32, 32) and y == 1 and (light, user) == ("led", 5) and x[0, 1, 8, 16] == 1
    assert sd.DVSGesture(str(tmp_path), train=True).num_steps == 500


def test_absent_files_say_where_to_put_them(tmp_path: Path) -> None:
    sd = _spikedata()
    from spikeforge.data import DatasetNotFoundError

    for cls in (sd.NMNIST, sd.SHD, sd.DVSGesture):
        with pytest.raises(DatasetNotFoundError, match="cannot download, so place the files there"):
            cls(str(tmp_path), download_and_create=True)


def test_gesture_time_shuffle_starts_at_a_random_offset(tmp_path: Path) -> None:
    """``time_shuffle``: the sample starts ``randint(0, span + 1)`` us into its recording (numpy's global
    generator), ``span = last event time - num_steps * dt``; earlier events are dropped, later ones shift."""
    import numpy as np

    sd = _spikedata()
    rel = [0, 1200, 2400, 3600, 4800]  # event times within the labelled segment, one per column x = 10 * k
    events = [(10 * k, 5, 1, 1000 + t) for k, t in enumerate(rel)]
    write_gesture(tmp_path, "user01_fluorescent", True, [events], [(4, 1000, 6000)])
    g = sd.DVSGesture(str(tmp_path), num_steps=2, dt=1000, time_shuffle=True)
    seen = set()
    for seed in range(8):
        np.random.seed(seed)
        offset = np.random.randint(0, 4800 - 2 * 1000 + 1)
        want = np.zeros((2, 2, 128, 128), dtype=np.float32)
        for k, t in enumerate(rel):
            if offset <= t < offset + 2000:  # lands in one of the 2 frames of 1000 us
                want[(t - offset) // 1000, 1, 5, 10 * k] += 1
        np.random.seed(seed)
        x, y = g[0]
        assert y == 3 and np.array_equal(x.numpy(), want), (seed, offset)
        seen.add(offset)
    assert len(seen) > 1  # the start really moves from draw to draw
    still = sd.DVSGesture(str(tmp_path), num_steps=2, dt=1000)[0][0]
    assert [int(still[b].sum()) for b in range(2)] == [1, 1]  # no shuffle: t = 0 and 1200 us
