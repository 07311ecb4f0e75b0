"""Classification accuracy from output spike trains."""

from __future__ import annotations

import numpy as np
from torch import Tensor

from ._readout import check_outputs, first_spike_time, fractional_labels, population_sum

__all__ = ["accuracy_rate", "accuracy_temporal"]


def accuracy_rate(
    spk_out: Tensor, targets: Tensor, population_code: bool = False, num_classes: int | bool = False
) -> np.float64:
    """Fraction of samples whose most active class (spike count over time) is the target.

    Ties go to the lowest class index. With ``population_code`` the counts of each class's contiguous
    group of ``C / num_classes`` outputs are summed first.

    Args:
        spk_out: ``[T, B, C]`` output spikes. targets: ``[B]`` class indices (a fractional float label
            counts as wrong, with a warning, as in snntorch).

    Returns:
        ``numpy.float64`` in ``[0, 1]`` (a ``float`` subclass, as snntorch returns).

    Raises:
        ValueError: bad shapes, targets outside the classes, or a bad ``num_classes``.
    """
    groups = int(num_classes) if population_code and num_classes else None
    labels, fractional = fractional_labels(targets, "accuracy_rate", "match no class")
    spk, y = check_outputs(spk_out, labels, num_classes=groups)
    counts = spk.detach().sum(0)
    if population_code:
        counts = population_sum(counts, num_classes)
    return _fraction_correct(counts.argmax(-1) == y, fractional)


def accuracy_temporal(spk_out: Tensor, targets: Tensor) -> np.float64:
    """Fraction of samples whose earliest-firing output is the target (no spike counts as ``T - 1``).

    Ties go to the lowest class index.

    Args:
        spk_out: ``[T, B, C]`` output spikes. targets: ``[B]`` class indices (a fractional float label
            counts as wrong, with a warning, as in snntorch).

    Returns:
        ``numpy.float64`` in ``[0, 1]``.

    Raises:
        ValueError: bad shapes or targets.
    """
    labels, fractional = fractional_labels(targets, "accuracy_temporal", "match no class")
    spk, y = check_outputs(spk_out, labels)
    return _fraction_correct(first_spike_time(spk).argmin(-1) == y, fractional)


def _fraction_correct(correct: Tensor, fractional: Tensor | None) -> np.float64:
    """Mean of ``correct``; a fractional label (see `fractional_labels`) is never correct."""
    if fractional is not None:
        correct = correct & ~fractional.to(correct.device)
    return np.float64(correct.double().mean().item())
