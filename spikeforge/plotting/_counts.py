"""Spike counts per label as a horizontal lollipop chart, optionally animated over time."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.animation import ArtistAnimation
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from ._data import ArrayLike, time_by_neuron

__all__ = ["spike_count"]

_BAR = "#007ACC"
_INK = "#333F4B"


def _draw_counts(ax: Axes, counts: np.ndarray) -> list[Artist]:
    """Bars from 0 to each count with a dot at its end; label ``i`` sits at ``y = i + 1``."""
    y = np.arange(1, counts.size + 1)
    bars = ax.hlines(y, 0, counts, color=_BAR, alpha=0.5, linewidth=8)
    (dots,) = ax.plot(counts, y, "o", markersize=8, color=_BAR, alpha=0.6)
    return [bars, dots]


def _style(ax: Axes, labels: Sequence[str], xrange: int, time_step: float | None, gridshader: bool) -> None:
    """Axis labels, limits and styling, on ``ax`` only (no global rcParams)."""
    ax.set_xlim(0, xrange)
    ax.set_ylim(0.5, len(labels) + 0.5)
    ax.set_yticks(np.arange(1, len(labels) + 1), [str(label) for label in labels])
    ax.set_ylabel("Labels", fontsize=15, fontweight="bold", color=_INK)
    if time_step is None:
        ax.set_xlabel("Time step", fontsize=15, fontweight="bold", color=_INK)
    else:
        ax.set_xlabel("Time [s]", fontsize=15, fontweight="bold", color=_INK)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x * time_step:g}"))
    ax.tick_params(axis="both", which="major", labelsize=12, colors=_INK)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("bottom", "left"):
        ax.spines[side].set_color(_INK)
    if gridshader:
        ticks = [t for t in ax.get_xticks() if 0 < t < xrange]
        edges = [0.0, *ticks, float(xrange)]
        for start, end in zip(edges[1::2], edges[2::2]):
            ax.axvspan(start, end, facecolor="lightgrey", alpha=0.7, zorder=0)


def spike_count(
    data: ArrayLike,
    fig: Figure,
    ax: Axes,
    labels: Sequence[str],
    num_steps: int | bool = False,
    animate: bool = False,
    interpolate: int = 1,
    gridshader: bool = True,
    interval: int = 25,
    time_step: float | bool = False,
    *,
    batch: int | None = None,
) -> ArtistAnimation | None:
    """Horizontal lollipop chart of the number of spikes of each label (output neuron).

    The x axis is time, ``[0, num_steps]``; a bar's length is the label's spike count so far, so
    a bar can never pass the current time. Static: the counts over the first ``num_steps`` steps.
    Animated: ``num_steps * interpolate`` frames; frame ``i`` draws an orange time line at
    ``s = (i + 1) / interpolate`` steps and the counts of the ``floor(s)`` completed steps, so the
    last frame shows every spike.

    Args:
        data: spikes ``[T, N]`` (or ``[T, B, ...]`` with ``batch``), one column per label.
        fig: the figure of ``ax`` (the animation runs on it).
        ax: the axes to draw on; only this axes is styled.
        labels: one name per neuron, ``len(labels) == N``.
        num_steps: steps to show (default ``False``: all ``T``); may exceed ``T``.
        animate: return an animation instead of drawing the final counts.
        interpolate: frames per time step (smoother time line), >= 1.
        gridshader: shade every other band between x ticks.
        interval: delay between frames in milliseconds.
        time_step: seconds per step; if given, x tick labels are in seconds.
        batch: the sample to count from a ``[T, B, ...]`` recording.

    Returns:
        A ``matplotlib.animation.ArtistAnimation`` if ``animate`` else ``None``.

    Raises:
        ValueError: ``len(labels) != N``; ``num_steps``, ``interpolate`` or ``time_step`` not
            positive; ``batch`` out of range.
    """
    arr = time_by_neuron(data, "data", batch)
    if len(labels) != arr.shape[1]:
        raise ValueError(f"labels has {len(labels)} names but data has {arr.shape[1]} neurons")
    if num_steps is True or (num_steps is not False and int(num_steps) < 1):
        raise ValueError(f"num_steps must be a positive int or False, got {num_steps!r}")
    if int(interpolate) != interpolate or interpolate < 1:
        raise ValueError(f"interpolate must be an int >= 1, got {interpolate!r}")
    if time_step is True or (time_step is not False and not float(time_step) > 0):
        raise ValueError(f"time_step must be a positive number of seconds or False, got {time_step!r}")
    xrange = int(num_steps) if num_steps is not False else arr.shape[0]
    _style(ax, labels, xrange, None if time_step is False else float(time_step), gridshader)
    cumulative = np.concatenate([np.zeros((1, arr.shape[1])), np.cumsum(arr, axis=0)])
    if not animate:
        _draw_counts(ax, cumulative[min(xrange, arr.shape[0])])
        return None
    frames = []
    for i in range(xrange * interpolate):
        now = (i + 1) / interpolate
        done = min(int(np.floor(now)), arr.shape[0])
        line = ax.axvline(now, color="tab:orange", linewidth=3)
        frames.append([*_draw_counts(ax, cumulative[done]), line])
    return ArtistAnimation(fig, frames, interval=interval)
