"""``Lapicque``: the RC-circuit neuron parameterised by R, C and the time step."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from ..core import LapicqueParams, LapicqueState, lapicque_step
from ._params import param_tensor
from .lif import LIF


def _given(v: Any) -> bool:
    return v is not False and v is not None


class Lapicque(LIF):
    r"""Lapicque's integrate-and-fire RC neuron (Lapicque 1907; snntorch ``Lapicque``), forward Euler:

    ``V = X*dt/C + (1 - dt/(R*C))*U[t-1]``; subtract ``U = V - R_t*theta``; zero ``U = (1 - R_t)*V``;
    none ``U = V`` (``R_t`` the reset mask, ``dt = time_step``). Spike ``S = H(U - theta)``.

    Parameterisation (as snntorch): only ``beta`` -> ``R = 1``, ``C = dt/(R*ln(1/beta))``; ``beta``
    and ``R`` -> ``C`` from them; ``beta`` and ``C`` -> ``R``; ``R`` and ``C`` -> ``beta = exp(-dt/(R*C))``
    (stored for reference). ``beta`` itself never enters the update, so with only ``beta`` given the
    decay is ``1 + ln(beta)``, not ``beta`` (snntorch's behaviour, kept for numerical compatibility);
    per-neuron tensors work here (snntorch raises).

    ``learn_beta=True`` (with ``beta`` given and ``C`` or ``R`` derived from it) recomputes the derived
    one from the learnt ``beta`` at every step, so ``beta`` trains; snntorch derives it once in
    ``__init__``, which gives a gradient at the first backward and a "backward through the graph a
    second time" error at the next. With ``R`` and ``C`` given, ``beta`` stays inert.

    Units: ``R`` in ohm, ``C`` in farad, ``time_step`` in seconds, the membrane in volts per input unit.

    Returns:
        ``(spk, mem)``; with ``init_hidden=True`` only ``spk`` (unless ``output``).

    Raises:
        ValueError: if neither ``beta`` nor both ``R`` and ``C`` are given; unknown ``reset_mechanism``.
    """

    _state_names = ("mem",)
    _state_type = LapicqueState
    _step_fn = staticmethod(lapicque_step)
    _param_labels = {**LIF._param_labels, "R": "`R` (from the arguments beta, R and C)",
                     "C": "`C` (from the arguments beta, R and C)"}

    def __init__(
        self,
        beta: Any = False,
        R: Any = False,  # noqa: N803 - snntorch name
        C: Any = False,  # noqa: N803 - snntorch name
        time_step: float = 1,
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
    ) -> None:
        def checked(name: str, value: Any) -> Tensor:
            return param_tensor("Lapicque", name, value)

        dt = checked("time_step", time_step)
        derived: str | None = None  # which of R, C follows a learnable beta
        if _given(R) and _given(C):
            r, c = checked("R", R), checked("C", C)
            try:
                torch.broadcast_shapes(r.shape, c.shape)
            except RuntimeError:
                raise ValueError(f"Lapicque: R of shape {list(r.shape)} and C of shape {list(c.shape)} do "
                                 f"not broadcast against each other (one value each, or per-neuron shapes "
                                 f"that broadcast)") from None
            # [1] for one-value R and C (as snntorch's ones(1) * ...), else their broadcast shape
            b = checked("beta", beta) if _given(beta) else torch.exp(-dt / (r * c)) * torch.ones(1)
        elif _given(beta):
            b = checked("beta", beta)
            log_inv = torch.log(1 / b)
            if _given(R):
                r = checked("R", R)
                c, derived = dt / (r * log_inv), "C"
            elif _given(C):
                c = checked("C", C)
                r, derived = dt / (c * log_inv), "R"
            else:
                r = torch.ones_like(b) if b.dim() else torch.tensor(1.0)
                c, derived = dt / (r * log_inv), "C"
        else:
            raise ValueError(
                "Lapicque needs either beta, or beta with one of R and C, or both R and C "
                f"(got beta={beta}, R={R}, C={C})"
            )
        super().__init__(
            b, threshold, spike_grad, surrogate_disable, init_hidden, inhibition, learn_beta,
            learn_threshold, reset_mechanism, state_quant, output,
        )
        self.register_buffer("time_step", dt)
        self.register_buffer("R", r)
        self.register_buffer("C", c)
        self._derived = derived if learn_beta else None
        if derived is not None:  # every neuron's: a beta of 1 gives C = inf, one of 0 C = 0 (NaN states)
            d = (c if derived == "C" else r).detach()
            if not bool(torch.isfinite(d).all()) or not bool((d != 0).all()):
                raise ValueError(f"beta must lie strictly between 0 and 1 to derive R and C, got {beta}")
        self._register_states()

    def params(self) -> LapicqueParams:
        r, c = self.R, self.C
        if self._derived is not None:  # learn_beta: R or C follows beta at every use
            log_inv = torch.log(1 / self.beta)
            if self._derived == "C":
                c = self.time_step / (r * log_inv)
            else:
                r = self.time_step / (c * log_inv)
        return LapicqueParams(r, c, self.time_step, self.threshold, self.graded_spikes_factor)

    def forward(self, input_: Tensor, mem: Tensor | None = None) -> Any:
        return self._forward(input_, (mem,))

    def init_lapicque(self) -> Tensor:
        """Deprecated alias of `reset_mem`."""
        return self.reset_mem()
