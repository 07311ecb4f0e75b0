"""``Alpha``: the alpha-kernel neuron with excitatory and inhibitory currents."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor

from ..core import AlphaParams, AlphaState, alpha_step
from ._params import param_tensor
from .lif import LIF


class Alpha(LIF):
    r"""Alpha-kernel neuron (snntorch ``Alpha``): the membrane is ``tau_a`` times the sum of an
    excitatory current ``E`` (decay ``alpha``) and an inhibitory current ``N`` (decay ``beta``), which
    makes the post-synaptic potential an alpha-shaped difference of exponentials (Gerstner et al., 2014).

    ``E' = alpha*E + X``, ``N' = beta*N - X``, ``U' = tau_a*(E' + N')`` with
    ``tau_a = ln(alpha)/(ln(beta) - ln(alpha)) + 1``. Reset (``R`` from the previous membrane):
    zero (default) clears ``E``, ``N``, ``U``; subtract ``E = E' - R*theta``, ``N = (1-R)*N'``,
    ``U = U' + R*N[t-1]`` (snntorch 1.0.0's rule); none keeps them. ``S = H(U - theta) * g``.

    Shapes: input and the three states ``[B, ...]``, one dtype. ``alpha`` is stored clamped to [0, 1].
    Unlike snntorch 1.0.0 (TypeError), ``learn_alpha=True`` works.

    Returns:
        ``(spk, syn_exc, syn_inh, mem)``; with ``init_hidden=True`` only ``spk`` (unless ``output``).

    Raises:
        ValueError: ``alpha <= beta`` anywhere, ``beta == 1``, unknown ``reset_mechanism``. TypeError:
        non-tensor input; state passed with ``init_hidden=True``. A state of the wrong shape restarts
        from zeros, as in snntorch (a non-zero one warns once).
    """

    _state_names = ("syn_exc", "syn_inh", "mem")
    _state_type = AlphaState
    _step_fn = staticmethod(alpha_step)

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
        reset_mechanism: str = "zero",
        state_quant: Any = False,
        output: bool = False,
    ) -> None:
        super().__init__(
            beta, threshold, spike_grad, surrogate_disable, init_hidden, inhibition, learn_beta,
            learn_threshold, reset_mechanism, state_quant, output,
        )
        a = param_tensor("Alpha", "alpha", alpha).clamp(0, 1)
        if bool((a <= self.beta.detach()).any()):
            raise ValueError(f"alpha must be greater than beta, got alpha={alpha} and beta={beta}")
        if bool((self.beta.detach() == 1).any()):
            raise ValueError("beta must not be 1 for the Alpha neuron (tau_a would be undefined)")
        self._register("alpha", a, learn_alpha)
        self._register_states()

    def params(self) -> AlphaParams:
        return AlphaParams(self.alpha, self.beta, self.threshold, self.graded_spikes_factor)

    def forward(
        self,
        input_: Tensor,
        syn_exc: Tensor | None = None,
        syn_inh: Tensor | None = None,
        mem: Tensor | None = None,
    ) -> Any:
        return self._forward(input_, (syn_exc, syn_inh, mem))

    def init_alpha(self) -> tuple[Tensor, Tensor, Tensor]:
        """Deprecated alias of `reset_mem`."""
        return self.reset_mem()
