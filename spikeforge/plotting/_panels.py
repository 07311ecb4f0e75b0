"""Stacked panels from the snntorch tutorials: input, state traces and spikes of one recording.

snntorch ships these only inside its tutorials (``plot_cur_mem_spk`` in tutorials 2-3,
``plot_snn_spikes`` and ``plot_spk_mem_spk`` in tutorial 3, ``plot_spk_cur_mem_spk`` in tutorial 5);
here they keep the tutorials' positional arguments, span the whole recording instead of a fixed
200 steps, and return the figure instead of calling ``plt.show()``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ._data import ArrayLike, time_by_neuron
from ._raster import raster, set_time_axis

__all__ = ["plot_cur_mem_spk", "plot_snn_spikes", "plot_spk_cur_mem_spk", "plot_spk_mem_spk"]


def _given(value: float | bool | None) -> bool:
    """Tutorial flags use ``False`` for "off"; ``0.0`` is a real position."""
    return value is not None and value is not False


def _stack(ratios: list[float], title: str | None) -> tuple[Figure, list[Axes]]:
    fig, axes = plt.subplots(len(ratios), figsize=(8, 1.6 + 1.6 * sum(ratios)), sharex=True,
                             gridspec_kw={"height_ratios": ratios}, squeeze=False)
    axs = list(axes[:, 0])
    if title:
        axs[0].set_title(title)
    return fig, axs


def _trace(ax: Axes, data: ArrayLike, name: str, label: str, batch: int | None, **kwargs: object) -> int:
    arr = time_by_neuron(data, name, batch)
    ax.plot(np.arange(arr.shape[0]), arr, **kwargs)
    ax.set_ylabel(label)
    set_time_axis(ax, arr.shape[0])
    return arr.shape[0]


def _spikes(ax: Axes, data: ArrayLike, name: str, label: str, batch: int | None) -> None:
    arr = time_by_neuron(data, name, batch)
    raster(arr, ax, s=400 if arr.shape[1] == 1 else 4)
    ax.set_ylabel(label)
    ax.set_xlabel("")
    if ax.get_ylim()[1] - ax.get_ylim()[0] <= 1:
        ax.set_yticks([])


def _finish(fig: Figure, axs: list[Axes]) -> Figure:
    axs[-1].set_xlabel("Time step")
    fig.align_ylabels(axs)
    fig.tight_layout()
    return fig


def plot_cur_mem_spk(
    cur: ArrayLike | None,
    mem: ArrayLike,
    spk: ArrayLike,
    thr_line: float | bool = False,
    vline: float | bool = False,
    title: str | None = None,
    ylim_max1: float = 1.25,
    ylim_max2: float = 1.25,
    *,
    batch: int | None = None,
) -> Figure:
    """Input current, membrane potential and output spikes of one recording, stacked.

    Args:
        cur: input current ``[T]``/``[T, N]``, or ``None`` to leave its panel empty.
        mem: membrane potential, same layout.
        spk: output spikes, same layout.
        thr_line: draw the firing threshold at this height on the membrane panel (``False``: none).
        vline: draw a dashed vertical line at this time step across the panels (``False``: none).
        title: figure title (``None``/``False``: none).
        ylim_max1: upper y limit of the current panel (lower is 0).
        ylim_max2: upper y limit of the membrane panel (lower is 0).
        batch: the sample to draw from ``[T, B, ...]`` recordings.

    Returns:
        The figure, with three axes: current, membrane, spikes. The x axis spans ``0 .. T-1``.

    Raises:
        ValueError: see `spikeforge.spikeplot.raster`.
    """
    fig, axs = _stack([1, 1, 0.4], title)
    if cur is not None:
        _trace(axs[0], cur, "cur", "Current $I_{in}$", batch, color="tab:orange")
    axs[0].set_ylim(0, ylim_max1)
    _trace(axs[1], mem, "mem", "Membrane $U_{mem}$", batch)
    axs[1].set_ylim(0, ylim_max2)
    if _given(thr_line):
        axs[1].axhline(float(thr_line), color="black", linestyle="dashed", alpha=0.25, linewidth=2)
    _spikes(axs[2], spk, "spk", "Output", batch)
    if _given(vline):
        for ax in axs:
            ax.axvline(float(vline), color="black", linestyle="dashed", alpha=0.15, linewidth=2, zorder=0)
    return _finish(fig, axs)


def plot_snn_spikes(
    spk_in: ArrayLike,
    spk1_rec: ArrayLike,
    spk2_rec: ArrayLike,
    title: str | None = None,
    *,
    batch: int | None = None,
) -> Figure:
    """Rasters of a two-layer network: input, hidden layer and output spikes, stacked.

    Args:
        spk_in: input spikes ``[T, N_in]`` or ``[T, B, ...]`` (then ``batch`` picks the sample;
            with ``B == 1`` it may be omitted).
        spk1_rec: hidden-layer spikes, same layout.
        spk2_rec: output-layer spikes, same layout.
        title: figure title.
        batch: the sample to draw.

    Returns:
        The figure, with three raster axes.
    """
    fig, axs = _stack([1, 1, 0.6], title)
    _spikes(axs[0], spk_in, "spk_in", "Input", batch)
    _spikes(axs[1], spk1_rec, "spk1_rec", "Hidden", batch)
    _spikes(axs[2], spk2_rec, "spk2_rec", "Output", batch)
    return _finish(fig, axs)


def plot_spk_mem_spk(
    spk_in: ArrayLike,
    mem: ArrayLike,
    spk_out: ArrayLike,
    title: str | None = None,
    *,
    batch: int | None = None,
) -> Figure:
    """Input spikes, membrane potential and output spikes of one recording, stacked.

    Args:
        spk_in: input spikes ``[T]``/``[T, N]`` (or ``[T, B, ...]`` with ``batch``).
        mem: membrane potential, same layout.
        spk_out: output spikes, same layout.
        title: figure title.
        batch: the sample to draw.

    Returns:
        The figure, with three axes: input raster, membrane, output raster.
    """
    fig, axs = _stack([0.4, 1, 0.4], title)
    _spikes(axs[0], spk_in, "spk_in", "Input", batch)
    _trace(axs[1], mem, "mem", "Membrane $U_{mem}$", batch)
    _spikes(axs[2], spk_out, "spk_out", "Output", batch)
    return _finish(fig, axs)


def plot_spk_cur_mem_spk(
    spk_in: ArrayLike,
    syn_rec: ArrayLike,
    mem_rec: ArrayLike,
    spk_rec: ArrayLike,
    title: str | None = None,
    *,
    batch: int | None = None,
) -> Figure:
    """Input spikes, synaptic current, membrane potential and output spikes (e.g. of ``Synaptic``).

    Args:
        spk_in: input spikes ``[T]``/``[T, N]`` (or ``[T, B, ...]`` with ``batch``).
        syn_rec: synaptic current, same layout.
        mem_rec: membrane potential, same layout.
        spk_rec: output spikes, same layout.
        title: figure title.
        batch: the sample to draw.

    Returns:
        The figure, with four axes: input raster, synaptic current, membrane, output raster.
    """
    fig, axs = _stack([0.4, 1, 1, 0.4], title)
    _spikes(axs[0], spk_in, "spk_in", "Input", batch)
    _trace(axs[1], syn_rec, "syn_rec", "Synaptic $I_{syn}$", batch)
    _trace(axs[2], mem_rec, "mem_rec", "Membrane $U_{mem}$", batch)
    _spikes(axs[3], spk_rec, "spk_rec", "Output", batch)
    return _finish(fig, axs)
