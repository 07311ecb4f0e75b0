"""The tutorial panels (plot_cur_mem_spk, plot_snn_spikes, plot_spk_mem_spk, plot_spk_cur_mem_spk)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spikeforge import spikeplot as splt


def _flat(values, v: float) -> bool:
    """True for the two-point data of an axhline/axvline at ``v``."""
    arr = np.asarray(values, dtype=float)
    return arr.shape == (2,) and np.allclose(arr, v)


def _spike_count(ax) -> int:
    (coll,) = ax.collections
    return len(coll.get_offsets())


def test_plot_cur_mem_spk_content() -> None:
    T = 60
    cur = torch.full((T,), 0.3)
    mem = torch.linspace(0, 1.2, T, requires_grad=True)
    spk = (torch.arange(T) % 7 == 0).float()
    fig = splt.plot_cur_mem_spk(cur, mem, spk, thr_line=1.0, vline=20, title="demo", ylim_max1=0.5)
    ax_cur, ax_mem, ax_spk = fig.axes
    assert np.allclose(ax_cur.lines[0].get_ydata(), 0.3)
    assert np.allclose(ax_mem.lines[0].get_ydata(), mem.detach().numpy())
    thresholds = [line for line in ax_mem.lines if _flat(line.get_ydata(), 1.0)]
    assert len(thresholds) == 1
    assert all(any(_flat(line.get_xdata(), 20) for line in ax.lines) for ax in fig.axes)
    assert _spike_count(ax_spk) == int(spk.sum())
    assert ax_cur.get_ylim() == (0, 0.5) and ax_mem.get_ylim() == (0, 1.25)
    assert all(ax.get_xlim() == (-0.5, T - 0.5) for ax in fig.axes)
    assert ax_cur.get_title() == "demo"
    assert ax_spk.get_xlabel() == "Time step"


def test_plot_cur_mem_spk_flags_off_and_no_current() -> None:
    fig = splt.plot_cur_mem_spk(None, torch.zeros(10), torch.zeros(10))
    ax_cur, ax_mem, ax_spk = fig.axes
    assert len(ax_cur.lines) == 0 and len(ax_mem.lines) == 1
    assert _spike_count(ax_spk) == 0
    assert ax_spk.get_xlim() == (-0.5, 9.5)
    assert ax_cur.get_title() == ""


def test_plot_cur_mem_spk_threshold_zero_is_drawn() -> None:
    fig = splt.plot_cur_mem_spk(torch.zeros(5), torch.zeros(5), torch.zeros(5), thr_line=0.0)
    assert len(fig.axes[1].lines) == 2


def test_plot_snn_spikes_batch_selection() -> None:
    spk_in = torch.zeros(30, 2, 50)
    spk_in[:5, 1] = 1
    hidden = torch.zeros(30, 2, 20)
    hidden[3, 1, 4] = 1
    out = torch.zeros(30, 2, 10)
    out[:, 0] = 1
    fig = splt.plot_snn_spikes(spk_in, hidden, out, "net", batch=1)
    assert [_spike_count(ax) for ax in fig.axes] == [250, 1, 0]
    assert [ax.get_ylim() for ax in fig.axes] == [(-0.5, 49.5), (-0.5, 19.5), (-0.5, 9.5)]
    with pytest.raises(ValueError, match="pass batch"):
        splt.plot_snn_spikes(spk_in, hidden, out, "net")
    with pytest.raises(ValueError, match=r"batch=2 is out of range for spk_in"):
        splt.plot_snn_spikes(spk_in, hidden, out, "net", batch=2)


def test_plot_snn_spikes_batch_of_one_as_in_the_tutorial() -> None:
    spk_in = torch.ones(10, 1, 5)
    fig = splt.plot_snn_spikes(spk_in, torch.zeros(10, 1, 3), torch.zeros(10, 1, 2), "t")
    assert _spike_count(fig.axes[0]) == 50


def test_plot_spk_mem_spk_and_spk_cur_mem_spk() -> None:
    spk_in = torch.zeros(25)
    spk_in[[2, 9, 14]] = 1
    mem = torch.rand(25)
    spk_out = torch.zeros(25)
    spk_out[20] = 1
    fig = splt.plot_spk_mem_spk(spk_in, mem, spk_out, "lif")
    assert len(fig.axes) == 3
    assert [_spike_count(fig.axes[0]), _spike_count(fig.axes[2])] == [3, 1]
    assert np.allclose(fig.axes[1].lines[0].get_ydata(), mem.numpy())
    syn = torch.rand(25)
    fig = splt.plot_spk_cur_mem_spk(spk_in, syn, mem, spk_out, "syn")
    assert len(fig.axes) == 4
    assert np.allclose(fig.axes[1].lines[0].get_ydata(), syn.numpy())
    assert np.allclose(fig.axes[2].lines[0].get_ydata(), mem.numpy())
    assert [_spike_count(fig.axes[0]), _spike_count(fig.axes[3])] == [3, 1]
    assert all(ax.get_xlim() == (-0.5, 24.5) for ax in fig.axes)
