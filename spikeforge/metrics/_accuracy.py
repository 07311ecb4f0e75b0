"""Classification accuracy from output spike trains."""

from __future__ import annotations

import numpy as np
from torch import Tensor

from ._readout import check_outputs, first_spike_time, population_sum

__all__ = ["accuracy_rate", "accuracy_temporal"]


def accuracy_rate(
    spk_out: Tensor, targets: Tensor, population_code: bool = False, num_classes: int | bool = False
) -> np.float64:
    """Fraction of samples whose most active class (spike count over time) is the target.

    Ties go to the lowest class index. With ``population_code`` the counts of each class's contiguous
    group of ``C / num_classes`` outputs are summed first.

    Args:
        spk_out: ``[T, B, C]`` output spikes. targets: ``[B]`` class indices.

    Returns:
        ``numpy.float64`` in ``[0, 1]`` (a ``float`` subclass, as snntorch returns).

    Raises:
        ValueError: bad shapes, targets outside the classes, or a bad ``num_classes``.
    """
    groups = int(num_classes) if population_code and num_classes else None
    spk, y = check_outputs(spk_out, targets, num_classes=groups)
    counts = spk.detach().sum(0)
    if population_code:
        counts = population_sum(counts, num_classes)
    return np.float64((counts.argmax(-1) == y).double().mean().item())


def accuracy_temporal(spk_out: Tensor, targets: Tensor) -> np.float64:
    """Fraction of samples whose earliest-firing output is the target (no spike counts as ``T - 1``).

    Ties go to the lowest class index.

    Args:
        spk_out: ``[T, B, C]`` output spikes. targets: ``[B]`` class indices.

    Returns:
        ``numpy.float64`` in ``[0, 1]``.

    Raises:
        ValueError: bad shapes or targets.
    """
    spk, y = check_outputs(spk_out, targets)
    return np.float64((first_spike_time(spk).argmin(-1) == y).double().mean().item())
