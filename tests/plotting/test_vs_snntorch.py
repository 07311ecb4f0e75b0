"""Same drawn data as snntorch 1.0.0's spikeplot where its behaviour is kept."""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from spikeforge import spikeplot as splt

snn_splt = pytest.importorskip("snntorch.spikeplot")

# snntorch's animator hands torch tensors to imshow (numpy copy-keyword warning); the animations built
# here only to compare their frames are never rendered.
pytestmark = [
    pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword"),
    pytest.mark.filterwarnings("ignore:Animation was deleted without rendering"),
]


@pytest.fixture(autouse=True)
def _restore_rcparams():
    """snntorch's spike_count restyles the global rcParams; undo it after each test."""
    with mpl.rc_context():
        yield


def test_signatures_of_snntorch_names_are_kept() -> None:
    import inspect

    for name in ("raster", "spike_count", "traces", "animator"):
        theirs = list(inspect.signature(getattr(snn_splt, name)).parameters.items())
        ours = list(inspect.signature(getattr(splt, name)).parameters.items())
        keep = (inspect.Parameter.POSITIONAL_OR_KEYWORD,)
        assert [(k, p.default) for k, p in ours if p.kind in keep] == [
            (k, p.default) for k, p in theirs if p.kind in keep
        ]


@pytest.mark.parametrize("shape", [(50, 8), (30,)])
def test_raster_points_match(shape: tuple[int, ...]) -> None:
    data = torch.bernoulli(torch.full(shape, 0.3))
    fig, (a, b) = plt.subplots(2)
    ours = np.asarray(splt.raster(data, a).get_offsets())
    theirs = np.asarray(snn_splt.raster(data if data.dim() == 2 else data.unsqueeze(1), b).get_offsets())
    key = lambda arr: sorted(map(tuple, arr.tolist()))  # noqa: E731
    assert key(ours) == key(theirs)


def test_traces_lines_match() -> None:
    mem = torch.rand(25, 9)
    spk = (torch.rand(25, 9) > 0.8).float()
    ours = splt.traces(mem, spk=spk, spk_height=2, fig=plt.figure())
    theirs_fig = plt.figure()
    snn_splt.traces(mem, spk=spk, spk_height=2)
    for a, b in zip(ours.axes, theirs_fig.axes, strict=True):
        assert np.allclose(a.lines[0].get_ydata(), b.lines[0].get_ydata())


def test_spike_count_static_counts_match() -> None:
    data = torch.bernoulli(torch.full((40, 5), 0.25))
    labels = list("abcde")
    fig, ax = plt.subplots()
    splt.spike_count(data, fig, ax, labels, num_steps=30)
    ours = next(line for line in ax.lines if line.get_marker() == "o").get_xdata()
    fig, ax = plt.subplots()  # snntorch draws on the current axes
    snn_splt.spike_count(data, fig, ax, labels, num_steps=30)
    theirs = next(line for line in ax.lines if line.get_marker() == "o").get_xdata()
    assert np.allclose(np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float))


def test_animator_frames_match() -> None:
    data = torch.rand(6, 5, 5)
    fig, ax = plt.subplots()
    splt.animator(data, fig, ax)
    fig2, ax2 = plt.subplots()
    snn_splt.animator(data, fig2, ax2)
    assert len(ax.images) == len(ax2.images) == 6
    for a, b in zip(ax.images, ax2.images):
        assert np.allclose(a.get_array(), b.get_array())
        assert np.allclose(a.get_clim(), b.get_clim())
