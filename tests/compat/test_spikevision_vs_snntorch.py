"""spikeforge's versions of snntorch's spikevision helpers give snntorch 1.0.0's numbers on random
event streams. snntorch's modules are loaded from their files: its ``_transforms`` imports torchvision
(not a dependency) for three names it never uses here, so a stand-in module is supplied, and the
helpers that use the removed ``np.int`` run with ``np.int = int`` (what they were written for)."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch

from spikeforge.data.legacy import files as F
from spikeforge.data.legacy import slices as S
from spikeforge.data.legacy import transforms as T

from ._snntorch_tree import ROOT

pytestmark = pytest.mark.skipif(ROOT is None, reason="snntorch (a test extra) is not installed")
pd = pytest.importorskip("pandas")  # snntorch's Attention needs it


def _load(name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    assert ROOT is not None
    stub = types.ModuleType("torchvision.transforms")
    stub.Compose = stub.Normalize = stub.Lambda = object  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torchvision", types.ModuleType("torchvision"))
    monkeypatch.setitem(sys.modules, "torchvision.transforms", stub)
    spec = importlib.util.spec_from_file_location(f"_snn_{name}", ROOT / "spikevision" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def stream() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    times = np.sort(rng.integers(0, 20_000, 600))
    addrs = np.column_stack([rng.integers(0, 16, 600), rng.integers(0, 16, 600), rng.integers(0, 2, 600)])
    return times, addrs


def test_event_slicing_and_binning(monkeypatch: pytest.MonkeyPatch, stream: tuple) -> None:
    ref = _load("events_timeslices", monkeypatch)
    monkeypatch.setattr(np, "int", int, raising=False)
    times, addrs = stream
    for a, b in zip(ref.get_slice(times, addrs, 3000, 9000), S.get_slice(times, addrs, 3000, 9000)):
        assert np.array_equal(a, b)
    evs = np.column_stack([times, addrs])
    cases = [
        lambda m: m.get_tmad_slice(times, addrs, 3000, 5000),
        lambda m: m.chunk_evs_pol_dvs(times, addrs, 1000, 20, [2, 16, 16]),
        lambda m: m.get_event_slice(times, addrs, 2000, 10, [2, 16, 16]),
        lambda m: m.frame_evs(times, addrs[:, :2], 1000, 20, [8, 4], [2, 4]),
        lambda m: m.chunk_evs_dvs(evs, 1000, 20, [16, 16]),
    ]
    for case in cases:
        assert np.array_equal(case(ref), case(S))
    np.testing.assert_allclose(ref.get_time_surface(evs, 1e-4, (16, 16, 2)),
                               S.get_time_surface(evs, 1e-4, (16, 16, 2)))
    labels = np.array([3.0, 0.0, 1.0])
    assert np.array_equal(ref.one_hot(labels, 4), S.one_hot(labels, 4))
    assert np.array_equal(ref.expand_targets(np.eye(3), 5, 2), S.expand_targets(np.eye(3), 5, 2))


def test_transforms(monkeypatch: pytest.MonkeyPatch, stream: tuple) -> None:
    ref = _load("_transforms", monkeypatch)
    times, addrs = stream
    tmad = np.column_stack([times // 1000, addrs[:, 2], addrs[:, 0], addrs[:, 1]])  # t, p, x, y
    cases = [
        lambda m: m.ToCountFrame(20, [2, 16, 16])(tmad),
        lambda m: m.ToEventSum(20, [2, 16, 16])(tmad),
        lambda m: m.CropDims([2, 3], [12, 10], [2, 3])(tmad),
        lambda m: m.Attention(25, [2, 8, 8])(tmad),
        lambda m: m.CropCenter([8, 8], [2, 6, 6])(tmad.copy()),  # snntorch's shifts its input in place
        lambda m: m.Downsample(3)(tmad),
        lambda m: m.Repeat(4)(np.arange(3)),
    ]
    for case in cases:
        assert np.array_equal(case(ref), case(T))
    frames = torch.rand(6, 2, 5, 5)
    for name in ("hflip", "rot90", "dvs_permute"):
        assert torch.equal(getattr(ref, name)()(frames), getattr(T, name)()(frames))
    torch.testing.assert_close(ref.ExpFilterEvents(4, tau=3)(frames), T.ExpFilterEvents(4, tau=3)(frames))
    assert torch.equal(ref.toOneHot(5)(np.array([[1], [4]])), T.toOneHot(5)(np.array([[1], [4]])))
    np.random.seed(3)
    shuffled = ref.shuffle_along_axis(tmad, 0)
    np.random.seed(3)
    assert np.array_equal(shuffled, T.shuffle_along_axis(tmad, 0))


def test_atis_reader(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ref = _load("_utils", monkeypatch)
    raw = np.random.default_rng(1).integers(0, 256, 500).astype(np.uint8)
    raw[1::5][::7] = 240  # some overflow markers
    path = tmp_path / "sample.bin"
    raw.tofile(path)
    for a, b in zip(ref.load_ATIS_bin(str(path)), F.load_ATIS_bin(path)):
        assert np.array_equal(a, b)
