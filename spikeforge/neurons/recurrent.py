"""``RLeaky`` and ``RSynaptic``: LIF neurons whose previous spikes feed back through ``V``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from ..core import (
    OneToOne,
    RLeakyParams,
    RLeakyState,
    RSynapticParams,
    RSynapticState,
    rleaky_step,
    rsynaptic_step,
)
from ._base import positive_int
from .lif import LIF


class RecurrentOneToOne(nn.Module):
    """Element-wise recurrent weight: ``V(S) = S * V`` (``V`` scalar or per neuron).

    A learnable ``V`` is the parent's Parameter (state_dict key ``recurrent.V``, as in snntorch); a fixed
    ``V`` is held as a non-persistent buffer, so ``recurrent(x)`` works and the state_dict keys stay
    snntorch's.
    """

    def __init__(self, V: Tensor) -> None:  # noqa: N803
        super().__init__()
        if isinstance(V, nn.Parameter):
            self.V = V
        else:
            self.register_buffer("V", V, persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        return x * self.V


def _kernel_pair(owner: str, kernel_size: Any) -> tuple[int, int]:
    """``(kh, kw)`` from an int or a pair of ints (as ``nn.Conv2d`` takes them).

    Raises:
        ValueError: naming ``owner``, for anything else or a non-positive size.
    """
    pair = tuple(kernel_size) if isinstance(kernel_size, (tuple, list)) else (kernel_size, kernel_size)
    if len(pair) != 2:
        raise ValueError(f"{owner}: kernel_size must be a positive int or a pair, got {kernel_size!r}")
    for k in pair:
        positive_int(owner, "kernel_size", k)
    return pair[0], pair[1]


class _Recurrent(LIF):
    """Shared construction of the recurrent map for RLeaky and RSynaptic."""

    def _build_recurrent(
        self,
        V: Any,  # noqa: N803
        all_to_all: bool,
        linear_features: int | None,
        conv2d_channels: int | None,
        kernel_size: int | tuple[int, int] | None,
        learn_recurrent: bool,
    ) -> None:
        self.all_to_all = all_to_all
        self.linear_features = linear_features
        self.conv2d_channels = conv2d_channels
        self.kernel_size = kernel_size
        self.learn_recurrent = learn_recurrent
        name = type(self).__name__
        if all_to_all:
            if linear_features is not None and (conv2d_channels is not None or kernel_size is not None):
                raise TypeError(
                    f"{name}: give either linear_features, or conv2d_channels and kernel_size, not both"
                )
            if linear_features is not None:
                positive_int(name, "linear_features", linear_features)
                self.recurrent: nn.Module = nn.Linear(linear_features, linear_features)
            elif conv2d_channels is not None and kernel_size is not None:
                positive_int(name, "conv2d_channels", conv2d_channels)
                kh, kw = _kernel_pair(name, kernel_size)
                self.recurrent = nn.Conv2d(
                    conv2d_channels, conv2d_channels, (kh, kw), padding=(kh // 2, kw // 2)
                )
            else:
                raise TypeError(
                    f"{name} with all_to_all=True needs linear_features (dense recurrence) or both "
                    "conv2d_channels and kernel_size (convolutional recurrence)"
                )
            if not learn_recurrent:
                for p in self.recurrent.parameters():
                    p.requires_grad_(False)
        else:
            if linear_features is not None or conv2d_channels is not None or kernel_size is not None:
                raise TypeError(
                    f"{name} with all_to_all=False uses the element-wise weight V; "
                    "linear_features, conv2d_channels and kernel_size must be None"
                )
            self._register("V", V, learn_recurrent)
            self.recurrent = RecurrentOneToOne(self.V)

    def _recurrent_map(self) -> Callable[[Tensor], Tensor]:
        if self.all_to_all:
            return self.recurrent
        return OneToOne(self.V)

    def _state_shapes(self, x: Tensor) -> tuple[torch.Size, ...]:
        dense = self.all_to_all and self.linear_features is not None
        conv = self.all_to_all and self.conv2d_channels is not None
        if dense and (x.dim() == 0 or x.shape[-1] != self.linear_features):
            raise ValueError(
                f"{type(self).__name__}: input's last dimension must be linear_features="
                f"{self.linear_features}, got shape {tuple(x.shape)}"
            )
        if conv and (x.dim() < 3 or x.shape[-3] != self.conv2d_channels):
            raise ValueError(
                f"{type(self).__name__}: input must be [B, C, H, W] with C=conv2d_channels="
                f"{self.conv2d_channels}, got shape {tuple(x.shape)}"
            )
        return super()._state_shapes(x)

    def _output(self, spk: Tensor, states: tuple[Tensor, ...]) -> Any:
        return super()._output(spk, states[1:])  # the spike state is the output itself


class RLeaky(_Recurrent):
    r"""Recurrent first-order LIF (snntorch ``RLeaky``): the previous output spike ``S[t-1]`` returns
    through ``V`` (``nn.Linear(F, F)`` with ``linear_features``; ``nn.Conv2d(C, C, k, padding=k//2)``
    with ``conv2d_channels``/``kernel_size`` (an int or a ``(kh, kw)`` pair, padded ``kh//2, kw//2``);
    the element-wise weight ``V`` with ``all_to_all=False``).

    ``B = beta*U[t-1] + X[t] + V(S[t-1])``; subtract ``U = B - R*theta``; zero ``U = (1 - R)*B``; none
    ``U = B``; ``S = H(U - theta)*g``; ``reset_delay=False`` as in `Leaky`.

    Shapes: ``[B, F]`` (linear), ``[B, C, H, W]`` (conv) or any shape (element-wise); ``spk`` and
    ``mem`` have the input's shape and dtype. Forward takes ``(input_, spk, mem)`` and returns
    ``(spk, mem)`` (so ``spk, mem = rlif(x, spk, mem)`` round-trips).

    Raises:
        TypeError: inconsistent ``all_to_all``/``linear_features``/``conv2d_channels``/``kernel_size``.
        ValueError: non-positive sizes, an input that does not match them. A state of the wrong shape
            restarts from zeros, as in snntorch (a non-zero one warns once).
    """

    _state_names = ("spk", "mem")
    _state_type = RLeakyState
    _step_fn = staticmethod(rleaky_step)

    def __init__(
        self,
        beta: float | Tensor,
        V: float | Tensor = 1.0,  # noqa: N803
        all_to_all: bool = True,
        linear_features: int | None = None,
        conv2d_channels: int | None = None,
        kernel_size: int | tuple[int, int] | None = None,
        threshold: float | Tensor = 1.0,
        spike_grad: Callable[[Tensor], Tensor] | None = None,
        surrogate_disable: bool = False,
        init_hidden: bool = False,
        inhibition: bool = False,
        learn_beta: bool = False,
        learn_threshold: bool = False,
        learn_recurrent: bool = True,
        reset_mechanism: str = "subtract",
        state_quant: Any = False,
        output: bool = False,
        reset_delay: bool = True,
    ) -> None:
        super().__init__(
            beta, threshold, spike_grad, surrogate_disable, init_hidden, inhibition, learn_beta,
            learn_threshold, reset_mechanism, state_quant, output,
        )
        self._build_recurrent(V, all_to_all, linear_features, conv2d_channels, kernel_size, learn_recurrent)
        self.reset_delay = reset_delay
        self._register_states()

    def params(self) -> RLeakyParams:
        return RLeakyParams(self.beta, self.threshold, self.graded_spikes_factor, self._recurrent_map())

    def forward(self, input_: Tensor, spk: Tensor | None = None, mem: Tensor | None = None) -> Any:
        return self._forward(input_, (spk, mem))

    def init_rleaky(self) -> tuple[Tensor, Tensor]:
        """Deprecated alias of `reset_mem` (returns ``(spk, mem)``)."""
        return self.reset_mem()


class RSynaptic(_Recurrent):
    r"""Recurrent current-based LIF (snntorch ``RSynaptic``).

    ``I = alpha*I[t-1] + X[t] + V(S[t-1])``, ``B = beta*U[t-1] + I``; subtract ``U = B - R*theta``;
    zero ``U = (1 - R)*B`` (``I`` not reset); none ``U = B``; ``S = H(U - theta)*g``. ``reset_delay=False``
    resets in the same step as for `RLeaky` (broken in snntorch 1.0.0). ``reset_hidden`` also
    clears the stored spike (snntorch leaks it into the next sequence).

    Forward takes ``(input_, spk, syn, mem)`` and returns ``(spk, syn, mem)``. Shapes and errors as
    `RLeaky`.
    """

    _state_names = ("spk", "syn", "mem")
    _state_type = RSynapticState
    _step_fn = staticmethod(rsynaptic_step)

    def __init__(
        self,
        alpha: float | Tensor,
        beta: float | Tensor,
        V: float | Tensor = 1.0,  # noqa: N803
        all_to_all: bool = True,
        linear_features: int | None = None,
        conv2d_channels: int | None = None,
        kernel_size: int | tuple[int, int] | None = None,
        threshold: float | Tensor = 1.0,
        spike_grad: Callable[[Tensor], Tensor] | None = None,
        surrogate_disable: bool = False,
        init_hidden: bool = False,
        inhibition: bool = False,
        learn_alpha: bool = False,
        learn_beta: bool = False,
        learn_threshold: bool = False,
        learn_recurrent: bool = True,
        reset_mechanism: str = "subtract",
        state_quant: Any = False,
        output: bool = False,
        reset_delay: bool = True,
    ) -> None:
        super().__init__(
            beta, threshold, spike_grad, surrogate_disable, init_hidden, inhibition, learn_beta,
            learn_threshold, reset_mechanism, state_quant, output,
        )
        self._build_recurrent(V, all_to_all, linear_features, conv2d_channels, kernel_size, learn_recurrent)
        self._register("alpha", alpha, learn_alpha)
        self.reset_delay = reset_delay
        self._register_states()

    def params(self) -> RSynapticParams:
        return RSynapticParams(
            self.alpha, self.beta, self.threshold, self.graded_spikes_factor, self._recurrent_map()
        )

    def forward(
        self,
        input_: Tensor,
        spk: Tensor | None = None,
        syn: Tensor | None = None,
        mem: Tensor | None = None,
    ) -> Any:
        return self._forward(input_, (spk, syn, mem))

    def init_rsynaptic(self) -> tuple[Tensor, Tensor, Tensor]:
        """Deprecated alias of `reset_mem` (returns ``(spk, syn, mem)``)."""
        return self.reset_mem()
