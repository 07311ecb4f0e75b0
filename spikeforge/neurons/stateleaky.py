"""``StateLeaky`` and ``LinearLeaky``: leaky integrators computed over a whole sequence at once as a
causal depthwise convolution with an exponential kernel (a linear state-space layer)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._base import SpikingNeuron, fire_named, positive_int
from ._params import param_tensor
from .lif import LIF


def causal_conv1d(input_tensor: Tensor, kernel_tensor: Tensor) -> Tensor:
    """Depthwise causal convolution: ``y[b, c, t] = sum_{j=0}^{K-1} kernel[c, 0, j] * x[b, c, t - j]``
    (``x`` is zero before ``t = 0``), so tap ``j`` weighs the input ``j`` steps back (snntorch
    ``_neurons.stateleaky.causal_conv1d``).

    Args:
        input_tensor: ``x``, ``[B, C, T]``.
        kernel_tensor: ``[C, 1, K]``, one kernel per channel, tap ``j`` at index ``j``.

    Returns:
        ``y``, ``[B, C, T]``, in the dtype of the inputs.
    """
    taps = kernel_tensor.shape[-1]
    padded = F.pad(input_tensor, (taps - 1, 0))
    return F.conv1d(padded, kernel_tensor.flip(-1), groups=input_tensor.shape[1])


class StateLeaky(LIF):
    r"""Leaky integrator without reset, evaluated for a whole sequence in one call (snntorch
    ``StateLeaky``): ``U[t] = sum_{j=0}^{K-1} exp(-j/tau) * X[t-j]`` per channel (zero before ``t=0``),
    ``K = T`` or ``min(kernel_truncation_steps, T)``, ``tau = 1/(1 - beta)``.

    The per-step decay is therefore ``exp(-(1 - beta))`` (0.6065 for ``beta=0.5``), not ``beta``: this is
    snntorch's model choice, kept for numerical compatibility (``Leaky(reset_mechanism="none")`` decays by
    ``beta``). The state is not carried between calls and there is no reset, inhibition or
    ``init_hidden``. Spikes ``S = H(q(U) - theta)*g`` (``g`` applied once; snntorch applies it twice).

    Args:
        beta: decay parameter, a scalar or a tensor of shape ``()``, ``(1,)`` or ``(channels,)``; stored as
            ``tau = 1/(1 - beta + 1e-12)`` (buffer ``tau``, or ``nn.Parameter`` with ``learn_beta``).
            ``self.beta`` is the read-only ``(tau - 1)/tau``.
        channels: number of channels ``C`` (positive int). The input has ``C`` features; with a
            single-valued ``beta`` any number of features is accepted and that decay is used for each
            (as in snntorch; ``channels=1`` is the usual spelling, another mismatch warns once).
        threshold, spike_grad, surrogate_disable, learn_threshold: as `SpikingNeuron`.
        state_quant, graded_spikes_factor, learn_graded_spikes_factor: as `SpikingNeuron`
            (``state_quant`` acts on the whole membrane sequence).
        learn_beta: learn ``tau`` (no separate unused ``beta`` Parameter, unlike snntorch).
        output: True (default) returns ``(spk, mem)``; False returns ``mem`` only (a smoothing filter)
            and warns if spike-related options were set.
        kernel_truncation_steps: keep only the most recent ``K`` taps (None: all; positive int).

    Shapes: ``input_`` ``[T, B, N]`` (time-major; ``N = channels``, or any ``N`` with one ``beta``);
    ``spk``, ``mem`` the same. dtype: the input's (the kernel is built in the input dtype).

    ``state_dict`` holds ``beta`` (computed from ``tau`` on save, ignored on load) so that snntorch's and
    spikeforge's state dicts load into each other.

    Raises:
        ValueError: a ``beta`` shape other than ``()``, ``(1,)``, ``(channels,)``; non-positive sizes; an
            input that is not ``[T, B, N]`` with ``T >= 1``, or whose ``N`` differs from ``channels``
            while ``beta`` has one value per channel.
        TypeError: a non-tensor input.
    """

    _state_names = ()

    def __init__(
        self,
        beta: float | Tensor,
        channels: int,
        threshold: float | Tensor = 1.0,
        spike_grad: Callable[[Tensor], Tensor] | None = None,
        surrogate_disable: bool = False,
        learn_beta: bool = False,
        learn_threshold: bool = False,
        state_quant: Any = False,
        output: bool = True,
        graded_spikes_factor: float | Tensor = 1.0,
        learn_graded_spikes_factor: bool = False,
        kernel_truncation_steps: int | None = None,
    ) -> None:
        name = type(self).__name__
        positive_int(name, "channels", channels)
        if kernel_truncation_steps is not None:
            positive_int(name, "kernel_truncation_steps", kernel_truncation_steps)
        b = param_tensor(name, "beta", beta)
        if b.shape not in (torch.Size(()), torch.Size((1,)), torch.Size((channels,))):
            raise ValueError(
                f"{name}: beta must have shape (), (1,) or (channels,)=({channels},), got {tuple(b.shape)}"
            )
        # LIF's own __init__ would register a `beta` buffer; here beta is derived from `tau`.
        SpikingNeuron.__init__(
            self, threshold, spike_grad, surrogate_disable, False, False, learn_threshold, "subtract",
            state_quant, output, graded_spikes_factor, learn_graded_spikes_factor,
        )
        if not output and (
            spike_grad is not None or surrogate_disable or learn_threshold or learn_graded_spikes_factor
            or bool(torch.any(self.graded_spikes_factor != 1.0))
        ):
            warnings.warn(
                f"{name}: spike-related settings are unused when output=False (no spikes are emitted)",
                UserWarning,
                stacklevel=2,
            )
        self.channels = channels
        self.kernel_truncation_steps = kernel_truncation_steps
        self._register("tau", 1 / (1 - b + 1e-12), learn_beta)

    @property
    def beta(self) -> Tensor:
        """``(tau - 1)/tau``, the decay parameter implied by ``tau`` (read-only)."""
        return (self.tau - 1) / self.tau

    # ----------------------------------------------------------------- state_dict compatibility
    def _save_to_state_dict(self, destination: dict[str, Any], prefix: str, keep_vars: bool) -> None:
        super()._save_to_state_dict(destination, prefix, keep_vars)
        keys = list(destination)
        tail = [(k, destination.pop(k)) for k in keys[keys.index(prefix + "tau"):]]
        beta = self.beta
        destination[prefix + "beta"] = beta if keep_vars else beta.detach()
        destination.update(tail)

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any) -> None:
        state_dict.pop(prefix + "beta", None)
        super()._load_from_state_dict(state_dict, prefix, *args)

    # ----------------------------------------------------------------- dynamics
    def _prepare(self, input_: Any) -> Tensor:
        """Check the input and return the per-channel drive ``[T, B, N]``.

        ``N`` is ``channels``, or any number of features when ``tau`` holds one value (that decay is
        used for every feature, as in snntorch); ``N != channels`` with ``channels > 1`` warns once.
        """
        x = self._check_input(input_)
        n = x.shape[2] if x.dim() == 3 else -1
        one_tau = self.tau.numel() == 1
        if x.dim() != 3 or x.shape[0] == 0 or (n != self.channels and not one_tau):
            raise ValueError(
                f"{type(self).__name__}: input_ must be time-major [T, B, channels={self.channels}] with "
                f"T >= 1 (any number of features when beta is a single value), got shape {tuple(x.shape)}"
            )
        if n != self.channels and self.channels > 1:
            self._warn_once(
                "channels",
                f"input_ has {n} features but channels={self.channels}; the single beta is used for every "
                "feature, as in snntorch",
            )
        return x

    def _membrane(self, x: Tensor) -> Tensor:
        """``U = k * X`` (causal, depthwise) for ``x`` ``[T, B, N]``, then ``state_quant``."""
        steps, _, channels = x.shape
        k = steps if self.kernel_truncation_steps is None else min(self.kernel_truncation_steps, steps)
        lags = torch.arange(k, device=x.device, dtype=x.dtype)
        tau = self.tau.to(device=x.device, dtype=x.dtype).reshape(-1, 1)
        kernel = torch.exp(-lags / tau).expand(channels, k).unsqueeze(1)
        mem = causal_conv1d(x.permute(1, 2, 0), kernel).permute(2, 0, 1)
        return self.state_quant(mem) if callable(self.state_quant) else mem

    def forward(self, input_: Tensor) -> Any:
        """The whole sequence ``input_`` ``[T, B, channels]``: ``(spk, mem)``, or ``mem`` if not output."""
        mem = self._membrane(self._prepare(input_))
        if not self.output:
            return mem
        self.spk = fire_named(self, lambda: self.fire(mem), mem)
        return self.spk, mem

    def forward_sequence(self, x: Tensor) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        """``(spk[T, B, C], mem[T, B, C])`` for ``x`` ``[T, B, ...]`` (``mem`` is the whole membrane trace;
        spikes are computed even with ``output=False``). Same numbers as `forward`."""
        mem = self._membrane(self._prepare(x))
        return fire_named(self, lambda: self.fire(mem), mem), mem

    def fire_inhibition(self, batch_size: int, mem: Tensor) -> Tensor:
        """Not available: StateLeaky has no inhibition."""
        raise NotImplementedError(f"{type(self).__name__} does not support inhibition; use Leaky")

    def mem_reset(self, mem: Tensor) -> Tensor:
        """Not available: StateLeaky never resets."""
        raise NotImplementedError(f"{type(self).__name__} has no reset, so mem_reset does not apply")


class LinearLeaky(StateLeaky):
    r"""``nn.Linear(in_features, out_features)`` applied at every step, followed by `StateLeaky`
    with ``channels=out_features`` (snntorch ``LinearLeaky``). The last membrane sequence is kept in
    ``self.mem``.

    Args:
        beta, threshold, spike_grad, surrogate_disable, learn_beta, learn_threshold: as `StateLeaky`.
        state_quant, output, graded_spikes_factor, learn_graded_spikes_factor, kernel_truncation_steps: as
            `StateLeaky`.
        in_features, out_features: sizes of the linear layer (positive ints).
        bias, device, dtype: passed to ``nn.Linear`` (parameters ``linear.weight``, ``linear.bias``).

    Shapes: ``input_`` ``[T, B, in_features]``; ``spk``, ``mem`` ``[T, B, out_features]``.

    Raises:
        ValueError: as `StateLeaky`, for an input that is not ``[T, B, in_features]``.
    """

    def __init__(
        self,
        beta: float | Tensor,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: Any = None,
        dtype: torch.dtype | None = None,
        threshold: float | Tensor = 1.0,
        spike_grad: Callable[[Tensor], Tensor] | None = None,
        surrogate_disable: bool = False,
        learn_beta: bool = False,
        learn_threshold: bool = False,
        state_quant: Any = False,
        output: bool = True,
        graded_spikes_factor: float | Tensor = 1.0,
        learn_graded_spikes_factor: bool = False,
        kernel_truncation_steps: int | None = None,
    ) -> None:
        positive_int("LinearLeaky", "in_features", in_features)
        positive_int("LinearLeaky", "out_features", out_features)
        super().__init__(
            beta, out_features, threshold, spike_grad, surrogate_disable, learn_beta, learn_threshold,
            state_quant, output, graded_spikes_factor, learn_graded_spikes_factor, kernel_truncation_steps,
        )
        self.linear = nn.Linear(in_features, out_features, bias=bias, device=device, dtype=dtype)

    def _prepare(self, input_: Any) -> Tensor:
        x = self._check_input(input_)
        n = self.linear.in_features
        if x.dim() != 3 or x.shape[0] == 0 or x.shape[2] != n:
            raise ValueError(
                f"LinearLeaky: input_ must be time-major [T, B, in_features={n}] with T >= 1, got shape "
                f"{tuple(x.shape)}"
            )
        return self.linear(x)

    def _membrane(self, x: Tensor) -> Tensor:
        self.mem = super()._membrane(x)
        return self.mem
