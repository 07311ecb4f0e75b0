"""Turn what users pass to the plotting functions into plain numpy arrays, with clear errors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

ArrayLike = Any  # torch.Tensor, numpy.ndarray, or a nested sequence of numbers

__all__ = ["ArrayLike", "select_neurons", "time_by_neuron", "to_numpy"]


def to_numpy(data: ArrayLike, name: str) -> np.ndarray:
    """Copy ``data`` to a numpy array on the host.

    Tensors on any device, with or without ``requires_grad``, are detached and moved to the CPU;
    ``bfloat16`` (which numpy lacks) becomes ``float32``; booleans become ``float32``.

    Raises:
        TypeError: if ``data`` is not numeric.
        ValueError: if ``data`` holds NaN.
    """
    if isinstance(data, torch.Tensor):
        t = data.detach()
        if t.dtype == torch.bfloat16:
            t = t.float()
        arr = t.cpu().numpy()
    else:
        arr = np.asarray(data)
    if arr.dtype == np.bool_:
        arr = arr.astype(np.float32)
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} must hold real numbers (a tensor or array), got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.floating) and np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN; nothing sensible can be plotted")
    return arr


def time_by_neuron(data: ArrayLike, name: str, batch: int | None = None) -> np.ndarray:
    """Bring a recording to the shape ``[T, N]`` (time first).

    * ``[T]``: one neuron, ``N = 1``.
    * ``[T, N]``: returned as it is (``batch`` must be ``None``).
    * ``[T, B, ...]``: sample ``batch`` is taken and its remaining dimensions are flattened into
      neurons (C-order). With ``batch=None`` a batch of size 1 is taken as it is.

    Raises:
        ValueError: scalar or empty recording; ``batch`` given for data without a batch dimension;
            ``batch`` missing for a batch larger than 1; ``batch`` out of ``0 .. B-1``.
        TypeError: non-integer ``batch``, or non-numeric data.
    """
    arr = to_numpy(data, name)
    if arr.ndim == 0 or arr.shape[0] == 0:
        raise ValueError(f"{name} must be a time-major recording [T, ...] with T >= 1, got shape {arr.shape}")
    if arr.ndim <= 2:
        if batch is not None:
            raise ValueError(
                f"batch={batch} was given but {name} has shape {arr.shape} ([T] or [T, N]) and no batch "
                "dimension; pass batch=None"
            )
        return arr.reshape(arr.shape[0], -1)
    size = arr.shape[1]
    if batch is None:
        if size != 1:
            raise ValueError(
                f"{name} has shape {arr.shape}, read as [T, B, ...] with B={size}; pass batch=<index> "
                "to choose one sample, or reshape it to [T, N]"
            )
        batch = 0
    if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)):
        raise TypeError(f"batch must be an int, got {type(batch).__name__}")
    if not 0 <= batch < size:
        raise ValueError(
            f"batch={batch} is out of range for {name} of shape {arr.shape}: allowed 0..{size - 1}"
        )
    return arr[:, batch].reshape(arr.shape[0], -1)


def select_neurons(arr: np.ndarray, name: str, neurons: Sequence[int] | None) -> np.ndarray:
    """Indices of the neurons (columns of a ``[T, N]`` array) to draw; ``None`` means all of them.

    Raises:
        ValueError: empty selection, or an index outside ``0 .. N-1``.
        TypeError: non-integer indices.
    """
    n = arr.shape[1]
    if neurons is None:
        return np.arange(n)
    idx = np.asarray(neurons)
    if idx.ndim == 0:
        idx = idx.reshape(1)
    if idx.size == 0:
        raise ValueError("neurons must select at least one neuron, got an empty selection")
    if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
        raise TypeError(f"neurons must be a sequence of int indices, got {neurons!r}")
    bad = idx[(idx < 0) | (idx >= n)]
    if bad.size:
        raise ValueError(
            f"neurons {bad.tolist()} are out of range for {name} with {n} neurons: allowed 0..{n - 1}"
        )
    return idx
