"""Figures of a training run (used by the ``spikeforge train`` run directory).

Each ``plot_*`` function takes plain data and an output path, writes the figure (format from the
suffix, e.g. ``.png``, ``.pdf``, ``.svg``; parent folders are created) and returns the path. The
``*_figure`` functions build the same figure without saving it, for notebooks and tests. They use
``matplotlib.figure.Figure`` directly: no pyplot state, no open windows, safe on headless machines
and in threads.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ._data import ArrayLike, select_neurons, time_by_neuron, to_numpy
from ._raster import raster, set_time_axis

__all__ = [
    "membrane_traces_figure", "output_raster_figure", "plot_membrane_traces", "plot_output_raster",
    "plot_spike_counts", "plot_training_curves", "spike_counts_figure", "training_curves_figure",
]

PathArg = str | PathLike[str]
MAX_DEFAULT_TRACES = 8
#: at most this many membrane panels; more requested neurons are subsampled (and the title says so)
MAX_TRACE_PANELS = 10
#: at most this many class rows are labelled in the output raster (more: every k-th, plus the marked ones)
MAX_LABELLED_ROWS = 40
_CURVES = (("loss", "Loss"), ("acc", "Accuracy"))
#: each split's line style and colour, the same whichever splits a history has
_SPLITS = (("train", "-o", "C0"), ("val", ":^", "C1"), ("test", "--s", "C2"))


def _save(fig: Figure, path: PathArg) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    return out


def training_curves_figure(history: Sequence[Mapping[str, Any]]) -> Figure:
    """Loss (left) and accuracy (right) per epoch: train, validation and test.

    Args:
        history: one dict per epoch with keys ``epoch``, ``train_loss``, ``train_acc`` and
            optionally ``val_loss``, ``val_acc``, ``test_loss``, ``test_acc`` (a missing or ``None``
            value leaves a gap; a validation or test curve with no value at all is not drawn).
            Accuracy is a fraction in [0, 1].

    Raises:
        ValueError: empty history, or an entry without ``epoch``/``train_loss``/``train_acc``.
    """
    if len(history) == 0:
        raise ValueError("history is empty: pass one dict per epoch")
    for i, row in enumerate(history):
        missing = [k for k in ("epoch", "train_loss", "train_acc") if k not in row]
        if missing:
            raise ValueError(f"history[{i}] lacks {missing}; it has {sorted(row)}")
    epochs = np.array([float(row["epoch"]) for row in history])
    fig = Figure(figsize=(9, 3.6), layout="constrained")
    for ax, (metric, name) in zip(fig.subplots(1, 2), _CURVES):
        for split, style, colour in _SPLITS:
            key, label = f"{split}_{metric}", {"val": "validation"}.get(split, split)
            values = np.array([np.nan if row.get(key) is None else float(row[key]) for row in history])
            if not np.isnan(values).all():
                ax.plot(epochs, values, style, label=label, markersize=4, color=colour)
        ax.set_xlabel("Epoch")
        ax.set_ylabel(name)
        ax.set_title(name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    return fig


def plot_training_curves(history: Sequence[Mapping[str, Any]], path: PathArg) -> Path:
    """Save `training_curves_figure` to ``path``; returns the path."""
    return _save(training_curves_figure(history), path)


def _class_index(value: int, name: str, classes: int) -> int:
    """``value`` as a class index; ints, numpy ints and 0-d integer tensors (e.g. ``argmax()``) work."""
    try:
        index = operator.index(value)
    except TypeError:
        index = None
    if index is None or isinstance(value, bool):
        raise TypeError(f"{name} must be an int class index, got {value!r}")
    if not 0 <= index < classes:
        raise ValueError(f"{name}={index} is out of range for {classes} classes: allowed 0..{classes - 1}")
    return index


def _spaced(rows: int, limit: int, keep: Sequence[int]) -> list[int]:
    """At most about ``limit`` of ``range(rows)``, evenly spaced, always with ``keep``; no two chosen
    rows are closer than the spacing (a regular row too close to a kept one is left out)."""
    step = max(1, math.ceil(rows / limit))
    kept = sorted(set(keep))
    regular = [r for r in range(0, rows, step) if all(abs(r - k) >= step for k in kept)]
    return sorted({*regular, *kept})


def output_raster_figure(
    spk: ArrayLike, predicted: int, target: int, class_names: Sequence[str] | None = None
) -> Figure:
    """Raster of the output layer's spikes for one sample, with the predicted and the true class.

    The true class's row is shaded green; the predicted one red if it is wrong. The title states
    both and the right panel shows the spike count per class. Up to `MAX_LABELLED_ROWS` classes every
    row is labelled; with more (e.g. a large layer) every k-th row is, plus the true and predicted
    ones, the y label says which, and the figure's height stays bounded.

    Args:
        spk: output spikes ``[T, C]`` (tensor on any device, or array).
        predicted: predicted class index (an int or a 0-d integer tensor).
        target: true class index (the same).
        class_names: one name per class (default the indices).

    Raises:
        ValueError: ``spk`` not ``[T, C]``, a class index out of range, or ``len(class_names) != C``.
        TypeError: a non-integer class index.
    """
    arr = to_numpy(spk, "spk")
    if arr.ndim != 2:
        raise ValueError(f"spk must be [T, C] for one sample, got shape {arr.shape}")
    classes = arr.shape[1]
    names = [str(c) for c in range(classes)] if class_names is None else [str(c) for c in class_names]
    if len(names) != classes:
        raise ValueError(f"class_names has {len(names)} names but spk has {classes} classes")
    pred = _class_index(predicted, "predicted", classes)
    true = _class_index(target, "target", classes)
    height = min(0.8 + 0.25 * max(classes, 4), 11.0) if classes > 8 else 0.8 + 0.35 * max(classes, 4)
    fig = Figure(figsize=(8, height), layout="constrained")
    ax, bar_ax = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [4, 1]})
    ax.axhspan(true - 0.5, true + 0.5, color="tab:green", alpha=0.2, zorder=0)
    if pred != true:
        ax.axhspan(pred - 0.5, pred + 0.5, color="tab:red", alpha=0.2, zorder=0)
    row_pt = 72 * height * 0.8 / classes  # the height of one row in points
    raster(arr, ax, s=float(np.clip(row_pt**2, 4.0, 60.0)))
    labelled = list(range(classes)) if classes <= MAX_LABELLED_ROWS else _spaced(
        classes, MAX_LABELLED_ROWS, [true, pred])
    ax.set_yticks(labelled, [names[r] for r in labelled])
    step = math.ceil(classes / MAX_LABELLED_ROWS)
    ax.set_ylabel("Class" if len(labelled) == classes else
                  f"Class ({len(labelled)} of {classes} labelled: every {step}th, true and predicted)")
    verdict = "correct" if pred == true else "wrong"
    ax.set_title(f"predicted: {names[pred]}   true: {names[true]}   ({verdict})",
                 color="tab:green" if pred == true else "tab:red")
    counts = (arr != 0).sum(axis=0)
    colors = ["tab:green" if c == true else "tab:gray" for c in range(classes)]
    bar_ax.barh(range(classes), counts, color=colors, height=0.8 if classes <= MAX_LABELLED_ROWS else 1.0)
    bar_ax.set_xlabel("Spikes")
    bar_ax.xaxis.set_major_locator(MaxNLocator(nbins=3, integer=True))
    return fig


def plot_output_raster(
    spk: ArrayLike, predicted: int, target: int, path: PathArg, class_names: Sequence[str] | None = None
) -> Path:
    """Save `output_raster_figure` to ``path``; returns the path."""
    return _save(output_raster_figure(spk, predicted, target, class_names), path)


def _time_by_neuron(data: ArrayLike, name: str) -> np.ndarray:
    arr = to_numpy(data, name)
    if arr.ndim > 2:
        raise ValueError(f"{name} must be [T, N] or [T] for one sample, got shape {arr.shape}")
    return time_by_neuron(arr, name)


def membrane_traces_figure(
    mem: ArrayLike,
    threshold: float | ArrayLike,
    spk: ArrayLike | None = None,
    neurons: Sequence[int] | None = None,
    marked: Mapping[int, str] | None = None,
) -> Figure:
    """Membrane potential of selected neurons, one panel each, with the threshold as a dashed line.

    At most `MAX_TRACE_PANELS` panels are drawn: when more neurons are requested (35 output classes, a
    hidden layer of 1000), the ``marked`` ones and an evenly spaced choice of the rest are drawn, and
    the title says how many of how many are shown.

    Args:
        mem: membrane potential ``[T, N]`` (or ``[T]``).
        threshold: a number, a one-element tensor, or one value per neuron ``[N]``.
        spk: spikes ``[T, N]``; if given, each spike is marked by a red tick at the threshold.
        neurons: the neurons requested (default the first ``min(N, 8)``).
        marked: neurons always drawn when requested, with a note on their panel, e.g.
            ``{3: "true class", 7: "predicted"}``.

    Raises:
        ValueError: ``mem`` or ``spk`` not ``[T, N]``/``[T]`` or of different shapes, a threshold of the
            wrong length, or neurons out of range.
    """
    arr = _time_by_neuron(mem, "mem")
    thr = to_numpy(threshold, "threshold").astype(float).reshape(-1)
    if thr.size == 1:
        thr = np.full(arr.shape[1], thr[0])
    if thr.size != arr.shape[1]:
        raise ValueError(
            f"threshold must be one number or one per neuron ({arr.shape[1]}), got {thr.size} values"
        )
    spikes = None if spk is None else _time_by_neuron(spk, "spk")
    if spikes is not None and spikes.shape != arr.shape:
        raise ValueError(f"spk must have the shape of mem: {spikes.shape} vs {arr.shape}")
    default = range(min(arr.shape[1], MAX_DEFAULT_TRACES))
    requested = select_neurons(arr, "mem", default if neurons is None else neurons)
    notes: dict[int, str] = {}
    for n, text in (marked or {}).items():
        notes[int(n)] = f"{notes[int(n)]}, {text}" if int(n) in notes else text
    idx, keep = requested, []
    if requested.size > MAX_TRACE_PANELS:
        keep = [k for k, n in enumerate(requested) if int(n) in notes][: MAX_TRACE_PANELS // 2]
        others = [k for k in range(requested.size) if k not in keep]
        spread = np.linspace(0, len(others) - 1, MAX_TRACE_PANELS - len(keep)).round().astype(int)
        idx = requested[sorted({*keep, *(others[k] for k in spread)})]
    fig = Figure(figsize=(8, 0.6 + (1.4 if idx.size <= 4 else 1.0) * idx.size), layout="constrained")
    axs = fig.subplots(idx.size, 1, sharex=True, squeeze=False)[:, 0]
    steps = np.arange(arr.shape[0])
    for ax, n in zip(axs, idx):
        ax.plot(steps, arr[:, n], color="tab:blue", label="membrane")
        ax.axhline(thr[n], color="black", linestyle="--", linewidth=1, label="threshold")
        if spikes is not None:
            times = np.flatnonzero(spikes[:, n])
            ax.plot(times, np.full(times.size, thr[n]), "|", color="tab:red", markersize=14, label="spike")
        ax.set_ylabel(f"neuron {n}")
        if int(n) in notes:
            ax.set_title(notes[int(n)], loc="right", fontsize=8, pad=2)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=3))
        set_time_axis(ax, arr.shape[0])
    axs[0].legend(loc="lower left", bbox_to_anchor=(0, 1), fontsize=8, ncols=3, frameon=False)
    also = ", and the marked ones" if keep else ""
    shown = "" if idx.size == requested.size else (
        f": {idx.size} of {requested.size} neurons shown (evenly spaced{also})")
    fig.suptitle(f"Membrane potential{shown}")
    axs[-1].set_xlabel("Time step")
    return fig


def plot_membrane_traces(
    mem: ArrayLike,
    threshold: float | ArrayLike,
    path: PathArg,
    spk: ArrayLike | None = None,
    neurons: Sequence[int] | None = None,
    marked: Mapping[int, str] | None = None,
) -> Path:
    """Save `membrane_traces_figure` to ``path``; returns the path."""
    return _save(membrane_traces_figure(mem, threshold, spk, neurons, marked), path)


def spike_counts_figure(counts: Mapping[str, float]) -> Figure:
    """Bar chart of the mean number of spikes per sample in each layer, in the dict's order.

    Args:
        counts: layer name -> spikes per sample (a finite number >= 0).

    Raises:
        ValueError: no layers, or a negative or non-finite count.
    """
    if len(counts) == 0:
        raise ValueError("counts is empty: pass {layer name: spikes per sample}")
    names = list(counts)
    values = [float(counts[k]) for k in names]
    bad = [k for k, v in zip(names, values) if not math.isfinite(v) or v < 0]
    if bad:
        raise ValueError(f"spike counts must be finite and >= 0; bad layers: {bad}")
    fig = Figure(figsize=(max(4.0, 1.2 * len(names) + 2), 3.6), layout="constrained")
    ax = fig.subplots()
    bars = ax.bar(range(len(names)), values, color="tab:blue")
    ax.bar_label(bars, fmt="%.4g")
    ax.set_xticks(range(len(names)), names, rotation=30 if len(names) > 4 else 0)
    ax.set_ylabel("Spikes per sample")
    ax.set_title("Spike counts per layer")
    ax.margins(y=0.15)
    return fig


def plot_spike_counts(counts: Mapping[str, float], path: PathArg) -> Path:
    """Save `spike_counts_figure` to ``path``; returns the path."""
    return _save(spike_counts_figure(counts), path)
