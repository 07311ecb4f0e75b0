"""``LIF``: the base of the leaky neurons (adds ``beta``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor

from ._base import SpikingNeuron


class LIF(SpikingNeuron):
    """Base class of leaky integrate-and-fire neurons: `SpikingNeuron` plus the membrane decay
    ``beta`` (dimensionless, per step; a buffer, or an ``nn.Parameter`` with ``learn_beta``).

    ``beta`` outside [0, 1] is accepted and clamped to [0, 1] where it is used, as snntorch does (so a
    learnt beta may leave the range while the dynamics stay stable).
    """

    def __init__(
        self,
        beta: float | Tensor,
        threshold: float | Tensor = 1.0,
        spike_grad: Callable[[Tensor], Tensor] | None = None,
        surrogate_disable: bool = False,
        init_hidden: bool = False,
        inhibition: bool = False,
        learn_beta: bool = False,
        learn_threshold: bool = False,
        reset_mechanism: str = "subtract",
        state_quant: Any = False,
        output: bool = False,
        graded_spikes_factor: float | Tensor = 1.0,
        learn_graded_spikes_factor: bool = False,
    ) -> None:
        super().__init__(
            threshold, spike_grad, surrogate_disable, init_hidden, inhibition, learn_threshold,
            reset_mechanism, state_quant, output, graded_spikes_factor, learn_graded_spikes_factor,
        )
        self._register("beta", beta, learn_beta)
