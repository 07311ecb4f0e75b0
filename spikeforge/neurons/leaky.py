"""``Leaky``: the first-order leaky integrate-and-fire neuron."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor

from ..core import LeakyParams, LeakyState, leaky_step
from .lif import LIF


class Leaky(LIF):
    r"""First-order leaky integrate-and-fire neuron (Lapicque 1907; Gerstner et al., *Neuronal
    Dynamics*, 2014, ch. 1; snntorch ``Leaky``).

    Update per step (``R = H(U[t-1] - theta)`` detached; ``beta`` clamped to [0, 1]):

    * subtract: ``U[t] = beta*U[t-1] + X[t] - R*theta``
    * zero: ``U[t] = beta*(1 - R)*U[t-1] + X[t]`` (the input of the reset step is kept)
    * none: ``U[t] = beta*U[t-1] + X[t]``

    ``S[t] = H(U[t] - theta) * g`` with ``H`` strict (``U == theta`` does not spike). With
    ``reset_delay=False`` the reset is applied in the spiking step: ``D = S/g - R``, subtract
    ``U -= D*theta``, zero ``U -= D*U``.

    Shapes: ``input_`` ``[B, ...]`` (any shape; a 0-d tensor works); ``mem`` the same shape and dtype.
    Units: membrane and threshold in input units; ``beta`` per step. dtype follows the input (integer
    input is promoted to the default float dtype); spikes have the membrane's dtype.

    Returns:
        ``(spk, mem)``; with ``init_hidden=True`` only ``spk`` (or ``(spk, mem)`` with ``output=True``).

    Raises:
        TypeError: non-tensor input, or ``mem`` passed while ``init_hidden=True``.
        ValueError: unknown ``reset_mechanism``. A ``mem`` of the wrong shape restarts from zeros, as in
            snntorch (the tutorials' ``torch.zeros(1)`` with a 0-d input; a non-zero one warns once);
            one of another dtype computes in the promoted dtype (warns once).
    """

    _state_names = ("mem",)
    _state_type = LeakyState
    _step_fn = staticmethod(leaky_step)

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
        reset_delay: bool = True,
    ) -> None:
        super().__init__(
            beta, threshold, spike_grad, surrogate_disable, init_hidden, inhibition, learn_beta,
            learn_threshold, reset_mechanism, state_quant, output, graded_spikes_factor,
            learn_graded_spikes_factor,
        )
        self.reset_delay = reset_delay
        self._register_states()

    def params(self) -> LeakyParams:
        return LeakyParams(self.beta, self.threshold, self.graded_spikes_factor)

    def forward(self, input_: Tensor, mem: Tensor | None = None) -> Any:
        return self._forward(input_, (mem,))

    def init_leaky(self) -> Tensor:
        """Deprecated alias of `reset_mem`."""
        return self.reset_mem()
