"""``LeakyParallel``: a layer of leaky neurons run over a whole sequence by ``nn.RNN``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import surrogate
from ._base import fire_named, positive_int
from ._jit import SCRIPT_ERROR
from ._params import check_spike_grad, param_tensor


def _keep_diagonal(grad: Tensor) -> Tensor:
    """Gradient hook of a diagonal ``weight_hh``: drop the off-diagonal part."""
    return torch.diag(torch.diagonal(grad))


class LeakyParallel(nn.Module):
    r"""A dense layer of leaky neurons computed for a whole sequence in one call with ``nn.RNN`` (snntorch
    ``LeakyParallel``).

    ``U[t] = ReLU(W_ih X[t] + b_ih + W_hh U[t-1] + b_hh)`` with ``U[-1] = 0``; ``S[t] = H(U[t] - theta)*g``.
    By default ``W_hh = diag(beta)``, so each neuron decays by its own ``beta`` (a per-neuron ``beta`` is
    honoured; snntorch 1.0.0 silently ignored it). The ReLU (membranes cannot go negative), the absence
    of a reset and of state between calls are snntorch's model choices, kept for numerical compatibility.

    Args:
        input_size: input features (positive int).
        hidden_size: neurons (positive int).
        beta: decay, a scalar or a tensor of 1 or ``hidden_size`` values, clamped to [0, 1] and copied into
            ``rnn.weight_hh_l0`` at construction (buffer ``beta``; not used afterwards). None keeps the
            random initialisation of ``nn.RNN`` (masked to its diagonal unless ``weight_hh_enable``).
        bias: input and recurrent biases of the RNN.
        threshold: firing threshold (buffer, or Parameter with ``learn_threshold``).
        dropout: in training mode, the probability in [0, 1] of zeroing each element of the RNN's output
            ``U`` before the threshold (the rest scaled by ``1/(1-dropout)``), as snntorch documents it.
            snntorch passed it to its one-layer ``nn.RNN``, where it has no effect; ``rnn.dropout`` is
            0 here.
        spike_grad: surrogate (default `surrogate.atan`); ``surrogate_disable`` uses a plain step.
        learn_beta: train ``weight_hh_l0`` (only its diagonal unless ``weight_hh_enable``); otherwise it
            is frozen (``requires_grad=False``, still listed by ``parameters()``).
        graded_spikes_factor, learn_graded_spikes_factor: spike amplitude ``g``.
        weight_hh_enable: use a dense ``W_hh`` (neurons leak into each other; row ``i`` starts at
            ``beta[i]``) instead of the diagonal.
        device, dtype: passed to ``nn.RNN``.

    Shapes: ``input_`` ``[T, B, input_size]`` or unbatched ``[T, input_size]``; ``spk`` ``[T, B,
    hidden_size]`` (or ``[T, hidden_size]``). dtype: the input's, which must match the RNN's weights.

    Raises:
        ValueError: non-positive sizes; a ``dropout`` outside [0, 1]; a ``beta`` with neither 1 nor
            ``hidden_size`` values; an input of the wrong shape.
        TypeError: a non-tensor input, or one whose dtype differs from the weights'.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        beta: float | Tensor | None = None,
        bias: bool = True,
        threshold: float | Tensor = 1.0,
        dropout: float = 0.0,
        spike_grad: Callable[[Tensor], Tensor] | None = None,
        surrogate_disable: bool = False,
        learn_beta: bool = False,
        learn_threshold: bool = False,
        graded_spikes_factor: float | Tensor = 1.0,
        learn_graded_spikes_factor: bool = False,
        weight_hh_enable: bool = False,
        device: Any = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        check_spike_grad("LeakyParallel", spike_grad)
        positive_int("LeakyParallel", "input_size", input_size)
        positive_int("LeakyParallel", "hidden_size", hidden_size)
        if not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ValueError(f"LeakyParallel: dropout must be a probability in [0, 1], got {dropout!r}")
        self.dropout = float(dropout)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.weight_hh_enable = weight_hh_enable
        self.rnn = nn.RNN(
            input_size, hidden_size, num_layers=1, nonlinearity="relu", bias=bias, batch_first=False,
            device=device, dtype=dtype,
        )
        b = None
        if beta is not None:
            b = param_tensor("LeakyParallel", "beta", beta).reshape(-1).clamp(0, 1)
            if b.numel() not in (1, hidden_size):
                raise ValueError(
                    f"LeakyParallel: beta must have 1 or hidden_size={hidden_size} values, got {b.numel()}"
                )
        self.register_buffer("beta", b)
        w_hh = self.rnn.weight_hh_l0
        with torch.no_grad():
            if b is not None:
                w_hh.copy_(b.to(w_hh).expand(hidden_size).unsqueeze(1).expand(hidden_size, hidden_size))
            if not weight_hh_enable:
                w_hh.copy_(torch.diag(torch.diagonal(w_hh)))
        if not learn_beta:
            w_hh.requires_grad_(False)
        elif not weight_hh_enable:
            w_hh.register_hook(_keep_diagonal)
        self._register("threshold", threshold, learn_threshold)
        self._register("graded_spikes_factor", graded_spikes_factor, learn_graded_spikes_factor)
        self.surrogate_disable = surrogate_disable
        if surrogate_disable:
            self.spike_grad: Callable[[Tensor], Tensor] = surrogate.heaviside_no_grad
        else:
            self.spike_grad = spike_grad if spike_grad is not None else surrogate.atan()

    def _register(self, name: str, value: Any, learn: bool) -> None:
        t = param_tensor("LeakyParallel", name, value)
        if learn:
            setattr(self, name, nn.Parameter(t))
        else:
            self.register_buffer(name, t)

    def _membrane(self, input_: Any) -> Tensor:
        if not isinstance(input_, Tensor):
            raise TypeError(f"LeakyParallel: input_ must be a torch.Tensor, got {type(input_).__name__}")
        if input_.dim() not in (2, 3) or input_.shape[0] == 0 or input_.shape[-1] != self.input_size:
            raise ValueError(
                f"LeakyParallel: input_ must be [T, B, input_size={self.input_size}] or [T, input_size] with "
                f"T >= 1, got shape {tuple(input_.shape)}"
            )
        weight = self.rnn.weight_ih_l0
        if input_.dtype != weight.dtype:
            raise TypeError(
                f"LeakyParallel: input_ has dtype {input_.dtype} but the RNN weights are {weight.dtype}; "
                f"cast the input or the module so that both match"
            )
        mem, _ = self.rnn(input_)
        return F.dropout(mem, self.dropout, self.training)

    def forward(self, input_: Tensor) -> Tensor:
        """Spikes ``[T, B, hidden_size]`` for the whole sequence ``input_`` ``[T, B, input_size]``."""
        mem = self._membrane(input_)
        return fire_named(self, lambda: self.spike_grad(mem - self.threshold) * self.graded_spikes_factor,
                          mem)

    def forward_sequence(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(spk, mem)``, both ``[T, B, hidden_size]``: `forward`'s spikes and the membrane trace they
        come from (after dropout in training mode)."""
        mem = self._membrane(x)
        return fire_named(self, lambda: self.spike_grad(mem - self.threshold) * self.graded_spikes_factor,
                          mem), mem

    def __prepare_scriptable__(self) -> LeakyParallel:
        """Called by ``torch.jit.script``: raise the neurons' one clear error."""
        raise RuntimeError(SCRIPT_ERROR.format(cls=type(self).__name__))
