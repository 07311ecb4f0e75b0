"""How the fused neuron operators get their parameters (beta, threshold, ...) and give back their
gradients: one value each as ``[1]`` on CPU, else repeated per neuron; on the compiled CPU kernels only
over the trailing dimensions they vary on (``[P]``, neuron ``k`` reading element ``k % P``); repeated to
``[N]`` for the numba kernels where those need it. Shared by the LIF-family and alpha operators."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from . import _native

#: shortest period worth reading parameters by (shorter ones are repeated to [N]: a period is one inner
#: loop of the kernels, and short loops do not vectorise)
MIN_PERIOD = 64


def per_neuron(p: Tensor, shape: torch.Size, dtype: torch.dtype) -> Tensor:
    """``p`` as ``dtype``, broadcast to ``shape`` and flattened to ``[N]`` (autograd sums its gradient).
    ``p`` may have more dimensions than ``shape`` where the extra leading ones are 1."""
    if p.dim() > len(shape):
        p = p.reshape(p.shape[p.dim() - len(shape):])
    return p.to(dtype).expand(shape).reshape(-1)


def trailing(shape: torch.Size, params: tuple[Tensor | None, ...]) -> int:
    """The first dimension ``j`` of ``shape`` from which on the parameters (broadcast to ``shape``) may
    vary: each is then a function of ``shape[j:]`` alone, repeated over ``shape[:j]``."""
    j = len(shape)
    for p in params:
        if p is None or p.numel() == 1:
            continue
        lead = len(shape) - p.dim()
        j = min(j, next(lead + i for i, s in enumerate(p.shape) if s != 1))
    return j


def param_block(shape: torch.Size, params: tuple[Tensor | None, ...]) -> torch.Size:
    """The dimensions the compiled CPU kernels get per-neuron parameters repeated to (`per_neuron`):
    ``shape[j:]`` (`trailing`) when that holds at least `MIN_PERIOD` neurons (the kernels then read
    neuron ``k``'s from element ``k % P``), else the whole ``shape``."""
    j = trailing(shape, params)
    return shape[j:] if j > 0 and math.prod(shape[j:]) >= MIN_PERIOD else shape


def kernel_params(params: tuple[Tensor | None, ...], shape: torch.Size, dtype: torch.dtype,
                  cpu: bool) -> tuple[Tensor | None, ...]:
    """``params`` (None: unused) as a fused operator over steps of ``shape`` takes them: on CPU ``[1]``
    each when all are one value; else each repeated per neuron (`per_neuron`), on the compiled CPU
    kernels only over `param_block`'s dimensions."""
    if cpu and all(p is None or p.numel() == 1 for p in params):
        return tuple(None if p is None else p.to(dtype).reshape(1) for p in params)
    block = param_block(shape, params) if cpu and _native.lib is not None else shape
    return tuple(None if p is None else per_neuron(p, block, dtype) for p in params)


def kernel_size(params: tuple[Tensor, ...], n: int, native: bool, numba_ones: bool = False) -> int:
    """The length the CPU kernels read the parameters in, for ``n`` neurons: 1 when all are one value
    (the compiled kernels, and numba where ``numba_ones``: the LIF forward), else their period ``P``
    (the longest; unused ones are 1-element placeholders) for the compiled kernels and ``n`` for numba.
    0 without neurons."""
    if n == 0:  # no neuron (x[T, B, 0]): empty parameters, nothing read
        return 0
    p = max(t.numel() for t in params)
    if p == 1 and (native or numba_ones):
        return 1
    return p if native else n


def kernel_arrays(params: tuple[Tensor, ...], n: int, size: int) -> list[np.ndarray]:
    """``params`` as contiguous arrays of ``size`` (`kernel_size`): ``[1]`` ones repeated to ``size``
    unless it is 1, ``[P]`` ones (``P`` dividing ``n``) repeated to ``[n]`` when ``size`` is ``n``."""
    out = []
    for t in params:
        a = t.detach().contiguous().numpy()
        if a.shape[0] == 1 and size != 1:
            a = np.broadcast_to(a, (size,))
        elif a.shape[0] != size and size == n and a.shape[0] and n % a.shape[0] == 0:
            a = np.tile(a, n // a.shape[0])
        out.append(np.ascontiguousarray(a))
    return out


def fold_grad(grad: np.ndarray, param: Tensor, n: int) -> np.ndarray:
    """The kernels' per-neuron gradient sums ``[n]`` as the gradient of ``param`` (``[1]``: their total;
    ``[P]``: the sum over the neurons that read each element; ``[n]``: as they are)."""
    if param.numel() != n:  # torch's sums, as autograd's for a parameter broadcast over the neurons
        return torch.from_numpy(grad).view(-1, param.numel()).sum(0).numpy().reshape(param.shape)
    return grad
