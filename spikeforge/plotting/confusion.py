"""The confusion matrix of a classifier as a figure (``RUN_DIR/figures/confusion_matrix.png`` of
``spikeforge train``; matplotlib only, no pyplot state)."""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ._data import ArrayLike, to_numpy

__all__ = ["confusion_matrix_figure", "plot_confusion_matrix"]

#: classes up to which every cell is labelled with its count
MAX_ANNOTATED = 20


def confusion_matrix_figure(cm: ArrayLike, class_names: Sequence[str] | None = None,
                            title: str = "Confusion matrix (test split)") -> Figure:
    """Rows: true class; columns: predicted class; colour: the share of the row (the class's samples),
    so a perfect classifier is a bright diagonal whatever the class sizes. Up to `MAX_ANNOTATED`
    classes each cell shows its count; the row labels give each class's accuracy (recall).

    The figure grows with the number of classes (about 0.3 inch per class, at least 5 inches), so 35
    classes stay readable.

    Args:
        cm: ``[C, C]`` counts, ``cm[i, j]`` = samples of class ``i`` predicted as ``j`` (for instance
            ``sklearn.metrics.confusion_matrix``).
        class_names: one name per class (default the indices).
        title: the figure title.

    Raises:
        ValueError: ``cm`` not square, negative counts, or ``len(class_names) != C``.
    """
    counts = to_numpy(cm, "cm").astype(np.int64)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.shape[0] == 0:
        raise ValueError(f"cm must be a square [C, C] matrix of counts, got shape {counts.shape}")
    if (counts < 0).any():
        raise ValueError("cm holds negative counts; pass sample counts")
    classes = counts.shape[0]
    names = [str(c) for c in range(classes)] if class_names is None else [str(c) for c in class_names]
    if len(names) != classes:
        raise ValueError(f"class_names has {len(names)} names but cm has {classes} classes")
    totals = counts.sum(1, keepdims=True)
    share = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    side = max(5.0, 0.3 * classes + 2.5)
    fig = Figure(figsize=(side + 1.2, side), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, shrink=0.8, label="share of the true class")
    font = 10.0 if classes <= MAX_ANNOTATED else 8.0  # a cell is at least 0.3 inch (22 points) high
    rows = [f"{n} ({share[i, i]:.0%})" if totals[i, 0] else f"{n} (-)" for i, n in enumerate(names)]
    ax.set_xticks(range(classes), names, fontsize=font, rotation=90 if classes > 12 else 0)
    ax.set_yticks(range(classes), rows, fontsize=font)
    ax.set_xlabel("Predicted class")
    ax.set_ylabel("True class (accuracy)")
    if classes <= MAX_ANNOTATED:
        for i, j in zip(*np.nonzero(counts)):
            ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=font,
                    color="white" if share[i, j] > 0.5 else "black")
    ax.set_title(f"{title}: {np.trace(counts)}/{counts.sum()} correct")
    return fig


def plot_confusion_matrix(cm: ArrayLike, path: str | PathLike[str], class_names: Sequence[str] | None = None,
                          title: str = "Confusion matrix (test split)") -> Path:
    """Save `confusion_matrix_figure` to ``path`` (format from the suffix; folders are created)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    confusion_matrix_figure(cm, class_names, title).savefig(out, dpi=100)
    return out
