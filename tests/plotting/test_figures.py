"""Training-run figures: saved files decode and are not blank; the drawn content matches the data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from spikeforge.plotting import figures

HISTORY = [
    {"epoch": 1, "train_loss": 2.0, "train_acc": 0.30, "test_loss": 2.2, "test_acc": 0.25},
    {"epoch": 2, "train_loss": 1.2, "train_acc": 0.60, "test_loss": 1.5, "test_acc": 0.55},
    {"epoch": 3, "train_loss": 0.7, "train_acc": 0.80, "test_loss": 1.0, "test_acc": 0.70},
]


def _line(ax, label: str):
    (line,) = [ln for ln in ax.lines if ln.get_label() == label]
    return line


def test_training_curves_saved_png(tmp_path: Path, check_image) -> None:
    path = figures.plot_training_curves(HISTORY, tmp_path / "run" / "curves.png")
    assert path == tmp_path / "run" / "curves.png"
    pixels = check_image(path)
    assert pixels.shape[:2] == (360, 900)  # 9 x 3.6 inches at 100 dpi


def test_training_curves_content() -> None:
    fig = figures.training_curves_figure(HISTORY)
    loss_ax, acc_ax = fig.axes
    assert np.allclose(_line(loss_ax, "train").get_ydata(), [2.0, 1.2, 0.7])
    assert np.allclose(_line(loss_ax, "test").get_ydata(), [2.2, 1.5, 1.0])
    assert np.allclose(_line(acc_ax, "test").get_xdata(), [1, 2, 3])
    assert np.allclose(_line(acc_ax, "train").get_ydata(), [0.3, 0.6, 0.8])
    assert (loss_ax.get_ylabel(), acc_ax.get_ylabel(), acc_ax.get_xlabel()) == ("Loss", "Accuracy", "Epoch")


def test_training_curves_without_test_values() -> None:
    history = [
        {"epoch": 1, "train_loss": 1.0, "train_acc": 0.5, "test_loss": None},
        {"epoch": 2, "train_loss": 0.5, "train_acc": 0.7},
    ]
    fig = figures.training_curves_figure(history)
    assert [ln.get_label() for ln in fig.axes[0].lines] == ["train"]


def test_training_curves_draw_the_validation_split() -> None:
    history = [{**row, "val_loss": 2.1 - k / 2, "val_acc": None if k == 1 else 0.2 + k / 5}
               for k, row in enumerate(HISTORY)]
    loss_ax, acc_ax = figures.training_curves_figure(history).axes
    assert [ln.get_label() for ln in loss_ax.lines] == ["train", "validation", "test"]
    assert np.allclose(_line(loss_ax, "validation").get_ydata(), [2.1, 1.6, 1.1])
    assert np.allclose(_line(acc_ax, "validation").get_ydata(), [0.2, np.nan, 0.6], equal_nan=True)
    # each split keeps its colour whether or not the history has a validation split
    plain = figures.training_curves_figure(HISTORY).axes[0]
    assert _line(plain, "test").get_color() == _line(loss_ax, "test").get_color() != _line(
        loss_ax, "validation").get_color()


def test_training_curves_errors() -> None:
    with pytest.raises(ValueError, match="empty"):
        figures.plot_training_curves([], "x.png")
    with pytest.raises(ValueError, match=r"history\[1\] lacks \['train_acc'\]"):
        figures.training_curves_figure([HISTORY[0], {"epoch": 2, "train_loss": 1.0}])


def test_output_raster_content_and_file(tmp_path: Path, check_image) -> None:
    spk = torch.zeros(20, 4)
    spk[::2, 1] = 1
    spk[5, 3] = 1
    fig = figures.output_raster_figure(spk, predicted=1, target=3, class_names=["a", "b", "c", "d"])
    ax, bar_ax = fig.axes
    assert len(ax.collections[0].get_offsets()) == 11
    assert ax.get_title().startswith("predicted: b   true: d")
    assert "wrong" in ax.get_title()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c", "d"]
    assert [p.get_width() for p in bar_ax.patches] == [0, 10, 0, 1]
    assert ax.get_xlim() == (-0.5, 19.5)
    assert len(ax.patches) == 2  # true class (green) and wrong prediction (red)
    path = figures.plot_output_raster(spk.requires_grad_(True), spk.sum(0).argmax(), 3, tmp_path / "out.png")
    check_image(path)


def test_output_raster_errors() -> None:
    with pytest.raises(ValueError, match=r"predicted=4 is out of range for 4 classes"):
        figures.output_raster_figure(torch.zeros(5, 4), 4, 0)
    with pytest.raises(TypeError, match="target must be an int"):
        figures.output_raster_figure(torch.zeros(5, 4), 0, 1.0)
    with pytest.raises(TypeError, match="predicted must be an int"):
        figures.output_raster_figure(torch.zeros(5, 4), True, 1)
    with pytest.raises(ValueError, match="class_names has 2 names"):
        figures.output_raster_figure(torch.zeros(5, 4), 0, 0, class_names=["a", "b"])
    with pytest.raises(ValueError, match=r"\[T, C\]"):
        figures.output_raster_figure(torch.zeros(5, 2, 4), 0, 0)


def test_membrane_traces_threshold_line_and_spikes(tmp_path: Path, check_image) -> None:
    mem = torch.rand(30, 3, requires_grad=True)
    spk = torch.zeros(30, 3)
    spk[[4, 9], 2] = 1
    threshold = torch.tensor([0.5, 0.75, 1.0])
    fig = figures.membrane_traces_figure(mem, threshold, spk=spk, neurons=[0, 2])
    assert len(fig.axes) == 2
    for ax, n in zip(fig.axes, [0, 2]):
        assert np.allclose(_line(ax, "membrane").get_ydata(), mem.detach().numpy()[:, n])
        assert np.allclose(_line(ax, "threshold").get_ydata(), float(threshold[n]))
        assert ax.get_ylabel() == f"neuron {n}"
        assert ax.get_xlim() == (-0.5, 29.5)
    marks = _line(fig.axes[1], "spike")
    assert list(marks.get_xdata()) == [4, 9] and np.allclose(marks.get_ydata(), 1.0)
    assert len(_line(fig.axes[0], "spike").get_xdata()) == 0
    check_image(figures.plot_membrane_traces(mem, 1.0, tmp_path / "mem.png"))


def test_membrane_traces_default_neurons_and_errors() -> None:
    fig = figures.membrane_traces_figure(torch.zeros(10, 20), 1.0)
    assert len(fig.axes) == figures.MAX_DEFAULT_TRACES
    with pytest.raises(ValueError, match="one per neuron"):
        figures.membrane_traces_figure(torch.zeros(10, 3), torch.ones(2))
    with pytest.raises(ValueError, match="shape of mem"):
        figures.membrane_traces_figure(torch.zeros(10, 3), 1.0, spk=torch.zeros(10, 2))
    with pytest.raises(ValueError, match=r"\[T, N\] or \[T\] for one sample"):
        figures.membrane_traces_figure(torch.zeros(10, 2, 3), 1.0)
    with pytest.raises(ValueError, match=r"neurons \[3\] are out of range"):
        figures.membrane_traces_figure(torch.zeros(10, 3), 1.0, neurons=[3])


def test_spike_counts_bars(tmp_path: Path, check_image) -> None:
    counts = {"lif1": 120.5, "lif2": 33.0, "out": 4.25}
    fig = figures.spike_counts_figure(counts)
    (ax,) = fig.axes
    assert [p.get_height() for p in ax.patches] == [120.5, 33.0, 4.25]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["lif1", "lif2", "out"]
    assert ax.get_ylabel() == "Spikes per sample"
    path = figures.plot_spike_counts(counts, tmp_path / "counts.pdf")
    assert path.read_bytes()[:5] == b"%PDF-"
    check_image(figures.plot_spike_counts(counts, tmp_path / "counts.png"))


def test_spike_counts_errors() -> None:
    with pytest.raises(ValueError, match="empty"):
        figures.spike_counts_figure({})
    with pytest.raises(ValueError, match=r"bad layers: \['b'\]"):
        figures.spike_counts_figure({"a": 1.0, "b": -2.0})
    with pytest.raises(ValueError, match=r"bad layers: \['a'\]"):
        figures.spike_counts_figure({"a": float("inf")})


def test_blank_check_would_catch_an_empty_picture(tmp_path: Path, check_image) -> None:
    Image.new("RGB", (64, 64), "white").save(tmp_path / "blank.png")
    with pytest.raises(AssertionError, match="blank"):
        check_image(tmp_path / "blank.png")
