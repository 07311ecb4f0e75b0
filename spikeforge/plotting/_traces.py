"""A grid of neuron traces (membrane potential, synaptic current), optionally with spikes riding on them."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.gridspec import GridSpec

from ._data import ArrayLike, select_neurons, time_by_neuron
from ._raster import set_time_axis

__all__ = ["traces"]


def traces(
    data: ArrayLike,
    spk: ArrayLike | None = None,
    dim: tuple[int, int] = (3, 3),
    spk_height: float = 5,
    titles: Sequence[str] | None = None,
    *,
    batch: int | None = None,
    neurons: Sequence[int] | None = None,
    fig: Figure | None = None,
) -> Figure:
    """Plot one neuron's trace per cell of a ``dim[0] x dim[1]`` grid (shared y axis, axes hidden).

    With ``spk`` the drawn curve is ``data + spk_height * spk``, so each spike shows as a spike of
    height ``spk_height`` on the trace. Cells beyond the number of drawn neurons stay empty.

    Args:
        data: traces ``[T]``, ``[T, N]`` or ``[T, B, ...]`` (``batch`` picks the sample).
        spk: spikes of the same shape as ``data``, or ``None``.
        dim: grid rows and columns.
        spk_height: height added to the trace at each spike (trace units).
        titles: cell titles, in order; may be shorter than the number of cells.
        batch: the sample to draw from a ``[T, B, ...]`` recording.
        neurons: the neurons to draw, one per cell (default the first ``dim[0] * dim[1]``).
        fig: the figure to draw on (default the current pyplot figure, as snntorch does).

    Returns:
        The figure drawn on; its first ``len(neurons)`` axes hold one line each.

    Raises:
        ValueError: ``spk`` shape differs from ``data``; more neurons than cells; a non-positive
            ``dim``; ``batch``/``neurons`` out of range.
    """
    if len(dim) != 2 or min(dim) < 1:
        raise ValueError(f"dim must be two positive ints (rows, cols), got {dim!r}")
    arr = time_by_neuron(data, "data", batch)
    if spk is not None:
        spikes = time_by_neuron(spk, "spk", batch)
        if spikes.shape != arr.shape:
            raise ValueError(f"spk must have the shape of data: {spikes.shape} vs {arr.shape}")
        arr = arr + spk_height * spikes
    cells = dim[0] * dim[1]
    if neurons is None:
        neurons = range(min(cells, arr.shape[1]))
    idx = select_neurons(arr, "data", neurons)
    if idx.size > cells:
        raise ValueError(f"{idx.size} neurons do not fit a grid of dim={dim} ({cells} cells)")
    fig = plt.gcf() if fig is None else fig
    grid = GridSpec(*dim, figure=fig)
    first = None
    for cell, n in enumerate(idx):
        ax = fig.add_subplot(grid[cell], sharey=first)
        first = first or ax
        ax.plot(np.arange(arr.shape[0]), arr[:, n])
        set_time_axis(ax, arr.shape[0])
        if titles is not None and cell < len(titles):
            ax.set_title(titles[cell])
        ax.axis("off")
    return fig
