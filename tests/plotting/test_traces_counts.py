"""spikeplot.traces and spikeplot.spike_count: drawn content, limits, no global restyling, errors."""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from PIL import Image

from spikeforge import spikeplot as splt


def test_traces_draws_one_neuron_per_cell_with_spikes_riding_on_it() -> None:
    mem = torch.rand(20, 12, requires_grad=True)
    spk = (torch.rand(20, 12) > 0.7).float()
    fig = splt.traces(mem, spk=spk, spk_height=3)
    assert len(fig.axes) == 9
    expected = mem.detach().numpy() + 3 * spk.numpy()
    for i, ax in enumerate(fig.axes):
        (line,) = ax.lines
        assert np.allclose(line.get_ydata(), expected[:, i])
        assert ax.get_xlim() == (-0.5, 19.5)
        assert not ax.axison
    assert fig.axes[4].get_shared_y_axes().joined(fig.axes[0], fig.axes[4])


def test_traces_neurons_titles_and_small_grids() -> None:
    data = torch.arange(30.0).reshape(10, 3)
    fig = splt.traces(data, dim=(2, 2), neurons=[2, 0], titles=["a"])
    assert len(fig.axes) == 2
    assert np.allclose(fig.axes[0].lines[0].get_ydata(), data[:, 2].numpy())
    assert np.allclose(fig.axes[1].lines[0].get_ydata(), data[:, 0].numpy())
    assert [ax.get_title() for ax in fig.axes] == ["a", ""]
    assert len(splt.traces(data, fig=plt.figure()).axes) == 3  # fewer neurons than cells


def test_traces_errors() -> None:
    with pytest.raises(ValueError, match="shape of data"):
        splt.traces(torch.zeros(5, 3), spk=torch.zeros(5, 2))
    with pytest.raises(ValueError, match="do not fit"):
        splt.traces(torch.zeros(5, 6), dim=(1, 2), neurons=[0, 1, 2])
    with pytest.raises(ValueError, match="out of range"):
        splt.traces(torch.zeros(5, 3), neurons=[3])
    with pytest.raises(ValueError, match="dim must be"):
        splt.traces(torch.zeros(5, 3), dim=(0, 3))


def _counts(ax) -> np.ndarray:
    """x of the count dots (the only Line2D drawn with marker 'o')."""
    dots = [line for line in ax.lines if line.get_marker() == "o"]
    assert len(dots) == 1
    return np.asarray(dots[0].get_xdata())


def test_spike_count_static_counts_labels_and_limits() -> None:
    data = torch.tensor([[1, 0, 1], [1, 0, 0], [0, 0, 1], [1, 1, 1]], dtype=torch.float32)
    fig, ax = plt.subplots()
    assert splt.spike_count(data, fig, ax, ["a", "b", "c"]) is None
    assert np.allclose(_counts(ax), [3, 1, 3])
    assert ax.get_xlim() == (0, 4)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    assert ax.get_xlabel() == "Time step"
    fig, ax = plt.subplots()
    splt.spike_count(data, fig, ax, ["a", "b", "c"], num_steps=2)
    assert np.allclose(_counts(ax), [2, 0, 1])
    assert ax.get_xlim() == (0, 2)


def test_spike_count_leaves_global_rcparams_alone() -> None:
    before = dict(mpl.rcParams)
    fig, ax = plt.subplots()
    splt.spike_count(torch.ones(5, 2), fig, ax, ["x", "y"])
    changed = {k for k in before if mpl.rcParams[k] != before[k]}
    assert changed == set()


def test_spike_count_time_step_labels_seconds_and_gridshader() -> None:
    fig, ax = plt.subplots()
    splt.spike_count(torch.ones(50, 2), fig, ax, ["x", "y"], time_step=1e-3)
    assert ax.get_xlabel() == "Time [s]"
    assert ax.xaxis.get_major_formatter()(20, 0) == "0.02"
    assert len(ax.patches) > 0
    fig, ax = plt.subplots()
    splt.spike_count(torch.ones(50, 2), fig, ax, ["x", "y"], gridshader=False)
    assert len(ax.patches) == 0


def test_spike_count_animation_frames(tmp_path: Path) -> None:
    data = torch.tensor([[1, 0], [0, 1], [1, 1]], dtype=torch.float32)
    fig, ax = plt.subplots(figsize=(3, 2), dpi=40)
    anim = splt.spike_count(data, fig, ax, ["p", "q"], animate=True, interpolate=2, gridshader=False)
    # Per frame: the count dots and the time line; frame i has its line at (i + 1) / 2.
    dots = [line for line in ax.lines if line.get_marker() == "o"]
    times = [line.get_xdata()[0] for line in ax.lines if line.get_marker() != "o"]
    assert times == [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    expected = [[0, 0], [1, 0], [1, 0], [1, 1], [1, 1], [2, 2]]
    assert [list(d.get_xdata()) for d in dots] == expected
    path = splt.save_animation(anim, tmp_path / "counts.gif", fps=10)
    with Image.open(path) as im:
        assert im.n_frames == 6


def test_spike_count_errors() -> None:
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="labels has 2 names but data has 3 neurons"):
        splt.spike_count(torch.zeros(4, 3), fig, ax, ["a", "b"])
    with pytest.raises(ValueError, match="interpolate"):
        splt.spike_count(torch.zeros(4, 1), fig, ax, ["a"], interpolate=0)
    with pytest.raises(ValueError, match="num_steps"):
        splt.spike_count(torch.zeros(4, 1), fig, ax, ["a"], num_steps=0)
    with pytest.raises(ValueError, match="time_step"):
        splt.spike_count(torch.zeros(4, 1), fig, ax, ["a"], time_step=-1.0)
    with pytest.raises(ValueError, match="pass batch"):
        splt.spike_count(torch.zeros(4, 2, 1), fig, ax, ["a"])
