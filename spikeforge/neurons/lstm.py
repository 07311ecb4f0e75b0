"""``SLSTM`` and ``SConv2dLSTM``: LSTM cells whose hidden state is thresholded into spikes."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from ..core import LSTMState, SConv2dLSTMParams, SLSTMParams, sconv2dlstm_step, slstm_step
from ._base import SpikingNeuron, positive_int


def _check_dtype(owner: str, x: Tensor, weight: Tensor) -> None:
    if x.dtype != weight.dtype:
        raise TypeError(
            f"{owner}: input_ has dtype {x.dtype} but the layer's weights are {weight.dtype}; cast the "
            f"input, or the module (e.g. .double()) so that both match"
        )


class _SpikingLSTM(SpikingNeuron):
    """What the two spiking LSTMs share: the ``(syn, mem)`` state and the ``forward`` signature."""

    _state_names = ("syn", "mem")
    _state_type = LSTMState

    def forward(self, input_: Tensor, syn: Tensor | None = None, mem: Tensor | None = None) -> Any:
        return self._forward(input_, (syn, mem))


class SLSTM(_SpikingLSTM):
    r"""Spiking LSTM (snntorch ``SLSTM``): an ``nn.LSTMCell`` (Hochreiter & Schmidhuber 1997) whose hidden
    state ``h`` is the membrane ``mem`` and whose cell state ``c`` is ``syn``.

    Per step (``R = H(mem[t-1] - theta)`` detached): ``(h, c) = lstm_cell(X[t], (mem[t-1], syn[t-1]))``;
    subtract ``mem = h - R*theta``; zero ``mem = (1 - R)*h``; none (default) ``mem = h``; ``syn = c``
    (never reset); ``S = H(mem - theta)``. With ``inhibition=True`` only the neuron with the largest
    ``mem - theta`` in each row may spike (snntorch accepts the flag and ignores it).

    Unlike snntorch 1.0.0, the cell keeps its memory when ``input_size != hidden_size`` (snntorch
    re-zeroes both states at every step in that case).

    ``forward_sequence`` (and `SequentialSNN`) with the default reset ``"none"``, no quantiser and no
    inhibition runs the whole sequence as one ``torch.lstm`` followed by the firing rule
    (`spikeforge.ops.lstm`): the same states and spikes as stepping, to rounding, in about 0.4x the
    time in inference and 0.9x in training (see that module for when it steps instead).

    Args:
        input_size: features of the input ``X`` (positive int).
        hidden_size: neurons, i.e. features of ``mem``/``syn``/``spk`` (positive int).
        bias: give the LSTM cell its two biases.
        threshold, spike_grad, surrogate_disable, init_hidden, inhibition, learn_threshold: as
            `SpikingNeuron`.
        reset_mechanism, state_quant, output: as `SpikingNeuron` (default reset ``"none"``).

    Shapes: ``input_`` ``[B, input_size]``; ``syn``, ``mem``, ``spk`` ``[B, hidden_size]``. dtype: the
    input's, which must match the cell's weights (float32 by default; ``.double()`` for float64).

    Returns:
        ``(spk, syn, mem)``; with ``init_hidden=True`` only ``spk`` (or the tuple with ``output=True``).

    Raises:
        ValueError: non-positive sizes; an input that is not ``[B, input_size]``; an unknown
            ``reset_mechanism``.
        TypeError: a non-tensor input, an input whose dtype differs from the weights', a state passed
            while ``init_hidden=True``.
    """

    _step_fn = staticmethod(slstm_step)

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        threshold: float | Tensor = 1.0,
        spike_grad: Callable[[Tensor], Tensor] | None = None,
        surrogate_disable: bool = False,
        init_hidden: bool = False,
        inhibition: bool = False,
        learn_threshold: bool = False,
        reset_mechanism: str = "none",
        state_quant: Any = False,
        output: bool = False,
    ) -> None:
        positive_int("SLSTM", "input_size", input_size)
        positive_int("SLSTM", "hidden_size", hidden_size)
        super().__init__(
            threshold, spike_grad, surrogate_disable, init_hidden, inhibition, learn_threshold,
            reset_mechanism, state_quant, output,
        )
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self._register_states()
        self.lstm_cell = nn.LSTMCell(input_size, hidden_size, bias=bias)

    def params(self) -> SLSTMParams:
        return SLSTMParams(self.threshold, self.graded_spikes_factor, self.lstm_cell)

    def _state_shapes(self, x: Tensor) -> tuple[torch.Size, ...]:
        if x.dim() != 2 or x.shape[1] != self.input_size:
            raise ValueError(
                f"SLSTM: input_ must be [B, input_size={self.input_size}], got shape {tuple(x.shape)}"
            )
        _check_dtype("SLSTM", x, self.lstm_cell.weight_ih)
        shape = torch.Size((x.shape[0], self.hidden_size))
        return (shape, shape)

    def init_slstm(self) -> tuple[Tensor, Tensor]:
        """Deprecated alias of `reset_mem` (returns ``(syn, mem)``)."""
        return self.reset_mem()


class SConv2dLSTM(_SpikingLSTM):
    r"""Convolutional spiking LSTM (snntorch ``SConv2dLSTM``; ConvLSTM of Shi et al., NeurIPS 2015).

    One ``conv = nn.Conv2d(in_channels + out_channels, 4*out_channels, kernel_size)`` ("same" padding)
    computes all gates from ``[X, mem[t-1]]``; split in the order ``(i, f, o, g)``:
    ``c = sigmoid(f)*syn[t-1] + sigmoid(i)*tanh(g)``, ``h = sigmoid(o)*tanh(c)``; ``mem``/``syn`` and the
    reset as `SLSTM`. Spikes ``S = H(P(mem) - theta)`` where ``P`` is ``max_pool2d(mem, max_pool)``,
    ``avg_pool2d(mem, avg_pool)`` or the identity.

    The padding equals snntorch's ``kernel_size // 2`` for odd kernels; for even kernels snntorch's
    padding grows the map by one pixel per step and silently re-zeroes the state, here one more pixel
    is padded on the right/bottom so the state keeps its ``[H, W]`` size.

    Args:
        in_channels: channels of the input (positive int).
        out_channels: neurons per pixel, channels of ``mem``/``syn`` (positive int).
        kernel_size: int or ``(kh, kw)``, positive.
        bias: give the gate convolution a bias.
        max_pool: pooling window applied to ``mem`` before firing (0: none).
        avg_pool: average pooling window instead (0: none; at most one of the two).
        threshold, spike_grad, surrogate_disable, init_hidden, learn_threshold: as `SpikingNeuron`.
        reset_mechanism, state_quant, output: as `SpikingNeuron` (default reset ``"none"``).
        inhibition: ignored with a warning, as in snntorch (winner-take-all is defined for dense
            ``[B, N]`` layers only).

    Shapes: ``input_`` ``[B, in_channels, H, W]``; ``syn``, ``mem`` ``[B, out_channels, H, W]``; ``spk``
    ``[B, out_channels, H // pool, W // pool]``. dtype: the input's, which must match the weights'.

    Returns:
        ``(spk, syn, mem)``; with ``init_hidden=True`` only ``spk`` (or the tuple with ``output=True``).

    Raises:
        ValueError: non-positive sizes; both ``max_pool`` and ``avg_pool``; an input that is not
            ``[B, in_channels, H, W]``.
        TypeError: a non-tensor input; an input whose dtype differs from the weights'; a state passed
            while ``init_hidden=True``.
    """

    _step_fn = staticmethod(sconv2dlstm_step)

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        bias: bool = True,
        max_pool: int = 0,
        avg_pool: int = 0,
        threshold: float | Tensor = 1.0,
        spike_grad: Callable[[Tensor], Tensor] | None = None,
        surrogate_disable: bool = False,
        init_hidden: bool = False,
        inhibition: bool = False,
        learn_threshold: bool = False,
        reset_mechanism: str = "none",
        state_quant: Any = False,
        output: bool = False,
    ) -> None:
        name = "SConv2dLSTM"
        positive_int(name, "in_channels", in_channels)
        positive_int(name, "out_channels", out_channels)
        ks = kernel_size if isinstance(kernel_size, tuple) else (kernel_size, kernel_size)
        if len(ks) != 2:
            raise ValueError(f"{name}: kernel_size must be an int or a pair of ints, got {kernel_size!r}")
        for k in ks:
            positive_int(name, "kernel_size", k)
        for pool_name, pool in (("max_pool", max_pool), ("avg_pool", avg_pool)):
            if isinstance(pool, bool) or not isinstance(pool, int) or pool < 0:
                raise ValueError(f"{name}: {pool_name} must be an int >= 0 (0: no pooling), got {pool!r}")
        if max_pool and avg_pool:
            raise ValueError(f"{name}: only one of max_pool and avg_pool may be set, not both")
        if inhibition:
            warnings.warn(
                f"{name}: inhibition=True is ignored (winner-take-all is defined for dense [B, N] layers; "
                "snntorch also ignores the flag here)",
                UserWarning,
                stacklevel=2,
            )
        super().__init__(
            threshold, spike_grad, surrogate_disable, init_hidden, False, learn_threshold,
            reset_mechanism, state_quant, output,
        )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.max_pool = max_pool
        self.avg_pool = avg_pool
        self.bias = bias
        self._register_states()
        # odd kernels: symmetric k//2 padding in the conv; even kernels: the missing pixel is padded
        # on the right/bottom by the step (F.pad), so the state keeps its [H, W] size
        padding = ((ks[0] - 1) // 2, (ks[1] - 1) // 2)
        self.conv = nn.Conv2d(in_channels + out_channels, 4 * out_channels, ks, padding=padding, bias=bias)
        kh, kw = ks
        self._extra_pad = None if kh % 2 and kw % 2 else (0, 1 - kw % 2, 0, 1 - kh % 2)

    def params(self) -> SConv2dLSTMParams:
        return SConv2dLSTMParams(
            self.threshold, self.graded_spikes_factor, self.conv, self.out_channels, self.max_pool,
            self.avg_pool, self._extra_pad,
        )

    def _state_shapes(self, x: Tensor) -> tuple[torch.Size, ...]:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"SConv2dLSTM: input_ must be [B, in_channels={self.in_channels}, H, W], got shape "
                f"{tuple(x.shape)}"
            )
        _check_dtype("SConv2dLSTM", x, self.conv.weight)
        shape = torch.Size((x.shape[0], self.out_channels, x.shape[2], x.shape[3]))
        return (shape, shape)

    def _param_shapes(self, x: Tensor) -> tuple[torch.Size, ...]:
        """With pooling the threshold acts on the membrane (the reset) and on the pooled membrane
        ``[B, C, H // p, W // p]`` (the firing)."""
        shape = self._state_shapes(x)[-1]
        pool = self.max_pool or self.avg_pool
        return (shape,) if not pool else (shape, torch.Size((*shape[:2], shape[2] // pool, shape[3] // pool)))

    def init_sconv2dlstm(self) -> tuple[Tensor, Tensor]:
        """Deprecated alias of `reset_mem` (returns ``(syn, mem)``)."""
        return self.reset_mem()
