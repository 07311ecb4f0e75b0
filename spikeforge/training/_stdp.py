"""Spike-timing-dependent plasticity (pair-based, with exponential traces) for Linear and Conv layers.

Traces are updated before use: ``tr_pre <- tr_pre - tr_pre / tau_pre + s_in`` (``mstdp*``:
``tr * exp(-1/tau) + s``). Weight change: ``dW = f_post(W) * (s_out x tr_pre) - f_pre(W) * (tr_post x s_in)``
(potentiation when the output fires after the input, depression when before). ``f_pre``/``f_post``
are weight-dependent scalings (identity by default).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..metrics._probe import InputMonitor, OutputMonitor

__all__ = [
    "stdp_linear_single_step",
    "mstdp_linear_single_step",
    "mstdpet_linear_single_step",
    "stdp_conv2d_single_step",
    "stdp_conv1d_single_step",
    "STDPLearner",
]

Fn = Callable[[Tensor], Tensor]


def _identity(x: Tensor) -> Tensor:
    return x


def _traces(
    trace_pre: Any, trace_post: Any, in_spike: Tensor, out_spike: Tensor, keep_pre: float, keep_post: float
) -> tuple[Tensor, Tensor]:
    """Decay each trace by its ``keep`` factor (a missing trace counts as zero) and add the spikes."""
    return (0.0 if trace_pre is None else trace_pre) * keep_pre + in_spike, (
        0.0 if trace_post is None else trace_post
    ) * keep_post + out_spike


def stdp_linear_single_step(
    fc: nn.Linear,
    in_spike: Tensor,
    out_spike: Tensor,
    trace_pre: Any,
    trace_post: Any,
    tau_pre: float,
    tau_post: float,
    f_pre: Fn = _identity,
    f_post: Fn = _identity,
) -> tuple[Tensor, Tensor, Tensor]:
    """One STDP step for ``fc`` with spikes ``in_spike [B, N_in]``, ``out_spike [B, N_out]``.

    Returns:
        ``(trace_pre [B, N_in], trace_post [B, N_out], delta_w [N_out, N_in])`` (summed over the batch).
    """
    w = fc.weight.data
    tr_pre, tr_post = _traces(trace_pre, trace_post, in_spike, out_spike, 1 - 1 / tau_pre, 1 - 1 / tau_post)
    dw = f_post(w) * torch.einsum("bo,bi->oi", out_spike, tr_pre) - f_pre(w) * torch.einsum(
        "bo,bi->oi", tr_post, in_spike
    )
    return tr_pre, tr_post, dw


def mstdp_linear_single_step(
    fc: nn.Linear,
    in_spike: Tensor,
    out_spike: Tensor,
    trace_pre: Any,
    trace_post: Any,
    tau_pre: float,
    tau_post: float,
    f_pre: Fn = _identity,
    f_post: Fn = _identity,
) -> tuple[Tensor, Tensor, Tensor]:
    """Reward-modulated STDP step (exponential trace decay); returns the per-sample eligibility
    ``[B, N_out, N_in]`` instead of a summed weight change."""
    w = fc.weight.data
    tr_pre, tr_post = _traces(
        trace_pre, trace_post, in_spike, out_spike, math.exp(-1 / tau_pre), math.exp(-1 / tau_post)
    )
    elig = f_post(w) * (out_spike.unsqueeze(2) * tr_pre.unsqueeze(1)) - f_pre(w) * (
        tr_post.unsqueeze(2) * in_spike.unsqueeze(1)
    )
    return tr_pre, tr_post, elig


def mstdpet_linear_single_step(
    fc: nn.Linear,
    in_spike: Tensor,
    out_spike: Tensor,
    trace_pre: Any,
    trace_post: Any,
    tau_pre: float,
    tau_post: float,
    tau_trace: float,
    f_pre: Fn = _identity,
    f_post: Fn = _identity,
) -> tuple[Tensor, Tensor, Tensor]:
    """MSTDP-ET step for one unbatched sample (``in_spike [N_in]``, ``out_spike [N_out]``); returns the
    eligibility ``[N_out, N_in]``. ``tau_trace`` (the eligibility trace's time constant) is applied by the
    caller when it accumulates eligibilities, as in snntorch."""
    del tau_trace
    w = fc.weight.data
    tr_pre, tr_post = _traces(
        trace_pre, trace_post, in_spike, out_spike, math.exp(-1 / tau_pre), math.exp(-1 / tau_post)
    )
    elig = f_post(w) * torch.outer(out_spike, tr_pre) - f_pre(w) * torch.outer(tr_post, in_spike)
    return tr_pre, tr_post, elig


def _conv_step(
    conv: nn.Conv1d | nn.Conv2d,
    in_spike: Tensor,
    out_spike: Tensor,
    trace_pre: Any,
    trace_post: Any,
    tau_pre: float,
    tau_post: float,
    f_pre: Fn,
    f_post: Fn,
    dims: int,
) -> tuple[Tensor, Tensor, Tensor]:
    if any(d != 1 for d in conv.dilation):
        raise NotImplementedError(f"STDP for Conv{dims}d with dilation != 1 is not implemented")
    if conv.groups != 1:
        raise NotImplementedError(f"STDP for Conv{dims}d with groups != 1 is not implemented")
    if any(p != 0 for p in conv.padding):
        if conv.padding_mode == "zeros":
            in_spike = F.pad(in_spike, [p for p in reversed(conv.padding) for _ in range(2)])
        else:
            in_spike = F.pad(in_spike, conv._reversed_padding_repeated_twice, mode=conv.padding_mode)
    tr_pre, tr_post = _traces(trace_pre, trace_post, in_spike, out_spike, 1 - 1 / tau_pre, 1 - 1 / tau_post)
    as2d = (lambda x: x.unsqueeze(2)) if dims == 1 else (lambda x: x)
    kernel = conv.weight.shape[2:] if dims == 2 else (1, conv.weight.shape[2])
    stride = conv.stride if dims == 2 else (1, conv.stride[0])

    def patches(x: Tensor) -> Tensor:  # [B, I * prod(kernel), L]
        return F.unfold(as2d(x), kernel, stride=stride)

    b, o = out_spike.shape[:2]
    post, trp = out_spike.reshape(b, o, -1), tr_post.reshape(b, o, -1)
    w = conv.weight.data
    ltp = torch.einsum("bol,bkl->ok", post, patches(tr_pre)).reshape(w.shape)
    ltd = torch.einsum("bol,bkl->ok", trp, patches(in_spike)).reshape(w.shape)
    return tr_pre, tr_post, f_post(w) * ltp - f_pre(w) * ltd


def stdp_conv2d_single_step(
    conv: nn.Conv2d,
    in_spike: Tensor,
    out_spike: Tensor,
    trace_pre: Tensor | None,
    trace_post: Tensor | None,
    tau_pre: float,
    tau_post: float,
    f_pre: Fn = _identity,
    f_post: Fn = _identity,
) -> tuple[Tensor, Tensor, Tensor]:
    """STDP step for ``conv`` (``in_spike [B, C_in, H, W]``, ``out_spike [B, C_out, H', W']``); the pre
    trace lives on the padded input. Returns ``(trace_pre, trace_post, delta_w like conv.weight)``.

    Raises:
        NotImplementedError: dilation != 1 or groups != 1.
    """
    return _conv_step(conv, in_spike, out_spike, trace_pre, trace_post, tau_pre, tau_post, f_pre, f_post, 2)


def stdp_conv1d_single_step(
    conv: nn.Conv1d,
    in_spike: Tensor,
    out_spike: Tensor,
    trace_pre: Tensor | None,
    trace_post: Tensor | None,
    tau_pre: float,
    tau_post: float,
    f_pre: Fn = _identity,
    f_post: Fn = _identity,
) -> tuple[Tensor, Tensor, Tensor]:
    """STDP step for a ``Conv1d`` (``[B, C, L]`` spikes); as `stdp_conv2d_single_step`."""
    return _conv_step(conv, in_spike, out_spike, trace_pre, trace_post, tau_pre, tau_post, f_pre, f_post, 1)


class STDPLearner(nn.Module):
    """Collect the input spikes of ``synapse`` and the output spikes of ``sn`` and turn them into STDP
    weight changes. ``sn`` must return only its spike tensor (``init_hidden=True, output=False``).

    Raises:
        NotImplementedError: from ``step`` if ``synapse`` is not Linear, Conv1d or Conv2d.
    """

    def __init__(
        self,
        synapse: nn.Module,
        sn: nn.Module,
        tau_pre: float,
        tau_post: float,
        f_pre: Fn = _identity,
        f_post: Fn = _identity,
    ) -> None:
        super().__init__()
        self.tau_pre, self.tau_post, self.f_pre, self.f_post = tau_pre, tau_post, f_pre, f_post
        self.synapse = synapse
        self.in_spike_monitor = InputMonitor(synapse)
        self.out_spike_monitor = OutputMonitor(sn)
        self.trace_pre: Tensor | None = None
        self.trace_post: Tensor | None = None

    def reset(self) -> None:
        """Forget the traces and the recorded spikes."""
        self.trace_pre = self.trace_post = None
        self.in_spike_monitor.clear_recorded_data()
        self.out_spike_monitor.clear_recorded_data()

    def disable(self) -> None:
        self.in_spike_monitor.disable()
        self.out_spike_monitor.disable()

    def enable(self) -> None:
        self.in_spike_monitor.enable()
        self.out_spike_monitor.enable()

    def step(self, on_grad: bool = True, scale: float = 1.0) -> Tensor | None:
        """Consume every recorded step; subtract the summed ``scale * delta_w`` from ``weight.grad``
        (``on_grad=True``, so an optimiser step follows STDP) or return it."""
        if isinstance(self.synapse, nn.Linear):
            fn: Callable[..., tuple[Tensor, Tensor, Tensor]] = stdp_linear_single_step
        elif isinstance(self.synapse, nn.Conv2d):
            fn = stdp_conv2d_single_step
        elif isinstance(self.synapse, nn.Conv1d):
            fn = stdp_conv1d_single_step
        else:
            raise NotImplementedError(f"STDP is implemented for Linear, Conv1d, Conv2d; got {self.synapse}")
        total = torch.zeros_like(self.synapse.weight.data)
        pairs = list(zip(self.in_spike_monitor.records, self.out_spike_monitor.records))
        self.in_spike_monitor.clear_recorded_data()
        self.out_spike_monitor.clear_recorded_data()
        for s_in, s_out in pairs:
            self.trace_pre, self.trace_post, dw = fn(
                self.synapse,
                s_in,
                s_out,
                self.trace_pre,
                self.trace_post,
                self.tau_pre,
                self.tau_post,
                self.f_pre,
                self.f_post,
            )
            total = total + scale * dw
        if not on_grad:
            return total
        w = self.synapse.weight
        w.grad = -total if w.grad is None else w.grad - total
        return None
