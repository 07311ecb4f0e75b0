"""Layers used next to spiking neurons (snntorch ``_layers``): per-time-step batch norm and learnable
spike amplitudes."""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["BatchNormTT1d", "BatchNormTT2d", "GradedSpikes"]


class _PerStepList(nn.ModuleList):
    """The ``nn.ModuleList`` that BNTT returns, with a helpful error when it is called like a layer
    (a plain ``ModuleList`` raises torch's bare 'missing the required forward function'). Its repr and
    ``state_dict`` are those of a ``ModuleList``."""

    def _get_name(self) -> str:
        return "ModuleList"

    @torch.jit.unused
    def forward(self, *args: object, **kwargs: object) -> None:
        kind = type(self[0]).__name__ if len(self) else "BatchNorm"
        raise TypeError(
            f"BatchNormTT returns a list of {len(self)} {kind} layers, one per time step, and is not a layer "
            f"itself: call the one for step t, bn[t](x), with x the input of that step (e.g. inside the "
            f"loop over time: `for t in range(T): out = bn[t](x[t])`)"
        )


def _bntt(kind: type[nn.Module], input_features: int, time_steps: int, eps: float, momentum: float,
          affine: bool) -> nn.ModuleList:
    for name, value in (("input_features", input_features), ("time_steps", time_steps)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    layers = _PerStepList(
        [kind(input_features, eps=eps, momentum=momentum, affine=affine) for _ in range(time_steps)]
    )
    for bn in layers:
        bn.bias = None  # scale only, no shift
    return layers


def BatchNormTT1d(  # noqa: N802 - snntorch name
    input_features: int, time_steps: int, eps: float = 1e-05, momentum: float = 0.1, affine: bool = True
) -> nn.ModuleList:
    """Batch normalisation through time (Kim & Panda, *Front. Neurosci.* 2021): one ``nn.BatchNorm1d``
    per time step, each with its own statistics and a scale but no shift (``bias = None``).

    Use ``bntt[t](x_t)`` with ``x_t`` ``[B, input_features]`` or ``[B, input_features, L]``.

    Args:
        input_features: features ``C`` (positive int).
        time_steps: number of steps ``T`` (positive int): the length of the returned list.
        eps, momentum, affine: as ``nn.BatchNorm1d``.

    Returns:
        ``nn.ModuleList`` of ``time_steps`` ``nn.BatchNorm1d`` (``state_dict`` keys ``{t}.weight``,
        ``{t}.running_mean``, ``{t}.running_var``, ``{t}.num_batches_tracked``).

    Raises:
        ValueError: non-positive ``input_features`` or ``time_steps``.
        TypeError: when the returned list is called like a layer (``bntt(x)``); the message says to use
            ``bntt[t](x)``.
    """
    return _bntt(nn.BatchNorm1d, input_features, time_steps, eps, momentum, affine)


def BatchNormTT2d(  # noqa: N802 - snntorch name
    input_features: int, time_steps: int, eps: float = 1e-05, momentum: float = 0.1, affine: bool = True
) -> nn.ModuleList:
    """Batch normalisation through time for feature maps: one ``nn.BatchNorm2d`` per time step (scale,
    no shift). Use ``bntt[t](x_t)`` with ``x_t`` ``[B, input_features, H, W]``. Arguments, return value and
    errors as `BatchNormTT1d`."""
    return _bntt(nn.BatchNorm2d, input_features, time_steps, eps, momentum, affine)


class GradedSpikes(nn.Module):
    """Learnable spike amplitude per neuron: ``forward(x) = x * weights`` with ``weights`` ``[size, 1]``.

    The ``[size, 1]`` shape (snntorch's) scales along the second-to-last dimension: an input ``[size, N]``
    gets one amplitude per row; ``[..., size, 1]`` one per neuron.

    Args:
        size: number of neurons (positive int).
        constant_factor: initial amplitude for every neuron; when falsy (0 or None) the amplitudes are
            drawn from ``U(0.5, 1.5)``.

    Raises:
        ValueError: a non-positive ``size``.
    """

    def __init__(self, size: int, constant_factor: float | None) -> None:
        super().__init__()
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            raise ValueError(f"size must be a positive int, got {size!r}")
        self.size = size
        self.constant_factor = constant_factor
        if constant_factor:
            weights = torch.ones(size, 1) * constant_factor
        else:
            weights = torch.rand(size, 1) + 0.5
        self.weights = nn.Parameter(weights)

    def forward(self, x: Tensor) -> Tensor:
        """``x * weights`` (broadcast)."""
        return x * self.weights
