"""Spike raster: one marker per spike, time on x, neuron on y."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.ticker import MaxNLocator

from ._data import ArrayLike, select_neurons, time_by_neuron

__all__ = ["raster", "set_time_axis"]


def set_time_axis(ax: Axes, num_steps: int) -> None:
    """Let the x axis span the whole recording ``0 .. num_steps-1`` (half a step of margin each side)."""
    ax.set_xlim(-0.5, num_steps - 0.5)


def raster(
    data: ArrayLike,
    ax: Axes,
    *,
    batch: int | None = None,
    neurons: Sequence[int] | None = None,
    **kwargs: Any,
) -> PathCollection:
    """Draw a spike raster of ``data`` on ``ax``.

    Every non-zero entry ``data[t, n]`` is one spike and gets exactly one marker at ``(t, n)``
    (graded or negative spikes, e.g. from delta modulation, count as spikes too). The x axis always
    spans the whole recording ``0 .. T-1`` and the y axis every drawn neuron, so a silent neuron
    or a single spike still gives a readable plot.

    Args:
        data: spikes ``[T]`` (one neuron), ``[T, N]``, or ``[T, B, ...]`` (then ``batch`` picks the
            sample and the remaining dimensions are flattened into neurons). Tensors on any device
            and with gradients are accepted.
        ax: the axes to draw on.
        batch: the sample to draw from a ``[T, B, ...]`` recording; may be omitted when ``B == 1``.
        neurons: indices of the neurons to draw (default all); y stays the original neuron index.
        **kwargs: passed to `matplotlib.axes.Axes.scatter`. Defaults: ``marker="|"`` and
            black markers (``c``/``color`` override it).

    Returns:
        The ``PathCollection`` of the markers; ``len(coll.get_offsets())`` is the number of spikes.

    Raises:
        ValueError: empty or NaN data, ``batch`` or ``neurons`` out of range or missing (see
            `spikeforge.plotting.time_by_neuron`).
        TypeError: non-numeric data or non-integer indices.
    """
    arr = time_by_neuron(data, "data", batch)
    idx = select_neurons(arr, "data", neurons)
    times, cols = np.nonzero(arr[:, idx])
    kwargs.setdefault("marker", "|")
    if "c" not in kwargs and "color" not in kwargs:
        kwargs["color"] = "black"
    coll = ax.scatter(times, idx[cols], **kwargs)
    set_time_axis(ax, arr.shape[0])
    ax.set_ylim(idx.min() - 0.5, idx.max() + 0.5)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if not ax.get_xlabel():
        ax.set_xlabel("Time step")
    if not ax.get_ylabel():
        ax.set_ylabel("Neuron")
    return coll
