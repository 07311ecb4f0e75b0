"""The confusion-matrix figure: counts and per-class accuracy as labelled, readable at 35 classes (no
two class labels overlap), and clear errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from spikeforge.plotting.confusion import confusion_matrix_figure, plot_confusion_matrix


def _labels_overlap(fig, axis: str) -> bool:
    FigureCanvasAgg(fig).draw()
    ax = fig.axes[0]
    ticks = ax.get_yticklabels() if axis == "y" else ax.get_xticklabels()
    boxes = [t.get_window_extent() for t in ticks]
    return any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_ten_classes_show_counts_and_accuracies(
    tmp_path: Path, check_image: Callable[[Path], np.ndarray]
) -> None:
    cm = np.zeros((10, 10), dtype=int)
    cm[np.arange(10), np.arange(10)] = 9
    cm[3, 5] = 3  # class 3: 9 of 12 right
    cm[7] = 0  # class 7 absent
    fig = confusion_matrix_figure(cm)
    ax = fig.axes[0]
    assert sorted(t.get_text() for t in ax.texts) == sorted(["9"] * 9 + ["3"])
    rows = [t.get_text() for t in ax.get_yticklabels()]
    assert rows[3] == "3 (75%)" and rows[0] == "0 (100%)" and rows[7] == "7 (-)"
    assert ax.get_title().endswith(": 81/84 correct")
    check_image(plot_confusion_matrix(cm, tmp_path / "sub" / "cm.png"))


def test_35_classes_stay_readable(tmp_path: Path, check_image: Callable[[Path], np.ndarray]) -> None:
    rng = np.random.default_rng(0)
    cm = rng.integers(0, 5, (35, 35)) + np.diag(rng.integers(20, 40, 35))
    fig = confusion_matrix_figure(cm, class_names=[f"word{c}" for c in range(35)])
    assert min(fig.get_size_inches()) >= 0.3 * 35  # grows with the classes
    assert len(fig.axes[0].texts) == 0  # too many cells to print counts in
    assert not _labels_overlap(fig, "y") and not _labels_overlap(fig, "x")
    pixels = check_image(plot_confusion_matrix(cm, tmp_path / "cm35.png"))
    assert min(pixels.shape[:2]) >= 100 * 0.3 * 35


def test_bad_matrices() -> None:
    with pytest.raises(ValueError, match="square"):
        confusion_matrix_figure(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="negative"):
        confusion_matrix_figure(-np.eye(2))
    with pytest.raises(ValueError, match="class_names has 1 names but cm has 2 classes"):
        confusion_matrix_figure(np.eye(2), class_names=["a"])
