"""The run figures stay readable for many classes (SSC's 35) and large layers (1000 neurons): what is
shown is subsampled and labelled, and no two tick labels overlap once drawn (Agg)."""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from spikeforge.plotting import figures


def _drawn(fig: Figure):
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def _no_overlap(ax: Axes, renderer, axis: str = "y") -> list[str]:
    """The visible tick labels of ``axis``; asserts their boxes do not overlap."""
    ticks = ax.get_yticklabels() if axis == "y" else ax.get_xticklabels()
    shown = [t for t in ticks if t.get_visible() and t.get_text()]
    boxes = sorted((t.get_window_extent(renderer) for t in shown),
                   key=lambda b: b.y0 if axis == "y" else b.x0)
    for a, b in zip(boxes, boxes[1:]):
        assert (b.y0 >= a.y1) if axis == "y" else (b.x0 >= a.x1), (a, b)
    return [t.get_text() for t in shown]


def test_output_raster_labels_all_35_classes() -> None:
    spk = torch.zeros(40, 35)
    spk[::3, 26] = 1
    spk[5, 7] = 1
    names = [f"word{k}" for k in range(35)]
    fig = figures.output_raster_figure(spk, predicted=26, target=7, class_names=names)
    ax = fig.axes[0]
    labels = _no_overlap(ax, _drawn(fig))
    assert labels == [f"word{k}" for k in range(35)] and ax.get_ylabel() == "Class"
    assert fig.get_figheight() <= 11 and len(ax.collections[0].get_offsets()) == 15
    assert ax.get_title().startswith("predicted: word26   true: word7")


def test_output_raster_of_1000_outputs_labels_a_subset_and_says_so() -> None:
    spk = torch.zeros(30, 1000)
    spk[:, 511] = 1
    fig = figures.output_raster_figure(spk, predicted=511, target=26)
    ax = fig.axes[0]
    labels = [int(t) for t in _no_overlap(ax, _drawn(fig))]
    assert 26 in labels and 511 in labels and 20 <= len(labels) <= 41
    assert ax.get_ylabel() == f"Class ({len(labels)} of 1000 labelled: every 25th, true and predicted)"
    assert all(b - a >= 25 for a, b in zip(labels, labels[1:]))  # evenly spread, never crowded
    assert fig.get_figheight() <= 11 and len(ax.collections[0].get_offsets()) == 30  # every spike drawn


def test_membrane_traces_of_35_outputs_show_10_with_the_marked_ones() -> None:
    mem = torch.linspace(0, 1, 20)[:, None] * torch.arange(35)[None, :]
    marked = {26: "true class", 3: "predicted"}
    fig = figures.membrane_traces_figure(mem, 1.0, neurons=range(35), marked=marked)
    assert len(fig.axes) == figures.MAX_TRACE_PANELS
    names = [ax.get_ylabel() for ax in fig.axes]
    assert "neuron 26" in names and "neuron 3" in names
    assert names[0] == "neuron 0" and names[-1] == "neuron 34"
    title = "Membrane potential: 10 of 35 neurons shown (evenly spaced, and the marked ones)"
    assert fig.get_suptitle() == title
    notes = {ax.get_ylabel(): ax.get_title(loc="right") for ax in fig.axes if ax.get_title(loc="right")}
    assert notes == {"neuron 26": "true class", "neuron 3": "predicted"}
    renderer = _drawn(fig)
    for ax in fig.axes:
        n = int(ax.get_ylabel().split()[1])
        assert np.allclose(ax.lines[0].get_ydata(), mem[:, n].numpy())
        _no_overlap(ax, renderer)
    _no_overlap(fig.axes[-1], renderer, axis="x")


def test_membrane_traces_of_a_1000_neuron_layer() -> None:
    mem = torch.randn(25, 1000, generator=torch.Generator().manual_seed(0)).cumsum(0)
    fig = figures.membrane_traces_figure(mem, 1.0, neurons=range(1000))
    names = [int(ax.get_ylabel().split()[1]) for ax in fig.axes]
    assert names == [0, 111, 222, 333, 444, 555, 666, 777, 888, 999]  # round(linspace(0, 999, 10))
    assert fig.get_suptitle() == "Membrane potential: 10 of 1000 neurons shown (evenly spaced)"
    assert fig.get_figheight() <= 12
    renderer = _drawn(fig)
    for ax in fig.axes:
        _no_overlap(ax, renderer)
    # few neurons: all of them, and the plain title
    small = figures.membrane_traces_figure(mem[:, :4], 1.0, neurons=range(4))
    assert len(small.axes) == 4 and small.get_suptitle() == "Membrane potential"
