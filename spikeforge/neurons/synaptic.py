"""``Synaptic``: the current-based (second-order) LIF neuron."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor

from ..core import SynapticParams, SynapticState, synaptic_step
from .lif import LIF


class Synaptic(LIF):
    r"""Current-based LIF neuron with an exponentially decaying synaptic current (Gerstner et al.,
    *Neuronal Dynamics*, 2014; snntorch ``Synaptic``).

    Update per step (``R = H(U[t-1] - theta)`` detached; ``alpha``, ``beta`` clamped to [0, 1]):

    * ``I[t] = alpha*I[t-1] + X[t]`` (never reset)
    * subtract: ``U[t] = beta*U[t-1] + I[t] - R*theta``; zero: ``U[t] = (1 - R)*(beta*U[t-1] + I[t])``;
      none: ``U[t] = beta*U[t-1] + I[t]``
    * ``S[t] = H(U[t] - theta) * g``; ``reset_delay=False`` as in `Leaky`.

    Shapes: ``input_``, ``syn``, ``mem`` all ``[B, ...]``, one dtype (the input's).

    Returns:
        ``(spk, syn, mem)``; with ``init_hidden=True`` only ``spk`` (or the tuple with ``output=True``).

    Raises:
        TypeError: non-tensor input; a state passed while ``init_hidden=True``.
        ValueError: unknown ``reset_mechanism``. A state of the wrong shape restarts from zeros, as in
            snntorch (a non-zero one warns once).
    """

    _state_names = ("syn", "mem")
    _state_type = SynapticState
    _step_fn = staticmethod(synaptic_step)

    def __init__(
        self,
        alpha: float | Tensor,
        beta: float | Tensor,
        threshold: float | Tensor = 1.0,
        spike_grad: Callable[[Tensor], Tensor] | None = None,
        surrogate_disable: bool = False,
        init_hidden: bool = False,
        inhibition: bool = False,
        learn_alpha: bool = False,
        learn_beta: bool = False,
        learn_threshold: bool = False,
        reset_mechanism: str = "subtract",
        state_quant: Any = False,
        output: bool = False,
        reset_delay: bool = True,
    ) -> None:
        super().__init__(
            beta, threshold, spike_grad, surrogate_disable, init_hidden, inhibition, learn_beta,
            learn_threshold, reset_mechanism, state_quant, output,
        )
        self._register("alpha", alpha, learn_alpha)
        self.reset_delay = reset_delay
        self._register_states()

    def params(self) -> SynapticParams:
        return SynapticParams(self.alpha, self.beta, self.threshold, self.graded_spikes_factor)

    def forward(self, input_: Tensor, syn: Tensor | None = None, mem: Tensor | None = None) -> Any:
        return self._forward(input_, (syn, mem))

    def init_synaptic(self) -> tuple[Tensor, Tensor]:
        """Deprecated alias of `reset_mem`."""
        return self.reset_mem()
