"""Spiking LSTM cells (snntorch ``SLSTM`` and ``SConv2dLSTM``; Hochreiter & Schmidhuber 1997, Shi et al.
2015 for the convolutional cell).

The LSTM hidden state ``h`` plays the membrane ``U`` (``mem``) and the cell state ``c`` plays the synaptic
current (``syn``). With ``R = [H(U[t-1] - theta)]`` (detached) and ``(h, c) = cell(X[t], U[t-1], c[t-1])``:
subtract ``U[t] = h - R*theta``; zero ``U[t] = (1 - R)*h``; none ``U[t] = h``; ``c`` is never reset.
Spikes ``S[t] = H(P(U[t]) - theta)*g`` where ``P`` is an optional 2-D max or average pooling (conv only).

Convolutional cell: ``Z = conv([X, U[t-1]])`` (channel concatenation), split into ``(i, f, o, g)`` in that
order, ``c = sigmoid(f)*c[t-1] + sigmoid(i)*tanh(g)``, ``h = sigmoid(o)*tanh(c)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from ._firing import SUBTRACT, ZERO, Firing, fire, quantise, reset_mask


class LSTMState(NamedTuple):
    syn: Tensor
    mem: Tensor


class SLSTMParams(NamedTuple):
    threshold: Tensor
    graded: Tensor
    #: an ``nn.LSTMCell``: ``cell(x, (h, c)) -> (h, c)``
    cell: Callable[[Tensor, tuple[Tensor, Tensor]], tuple[Tensor, Tensor]]


class SConv2dLSTMParams(NamedTuple):
    threshold: Tensor
    graded: Tensor
    #: the gate convolution ``[B, C_in + C_out, H, W] -> [B, 4*C_out, H, W]`` (after ``pad``)
    conv: Callable[[Tensor], Tensor]
    out_channels: int
    max_pool: int
    avg_pool: int
    #: extra ``F.pad`` widths (left, right, top, bottom) that keep ``[H, W]`` (even kernels), or None
    pad: tuple[int, int, int, int] | None = None


def _reset(h: Tensor, r: Tensor, threshold: Tensor, f: Firing) -> Tensor:
    if f.reset == SUBTRACT:
        return h - r * threshold
    if f.reset == ZERO:
        return h - r * h
    return h


def slstm_step(x: Tensor, state: LSTMState, p: SLSTMParams, f: Firing) -> tuple[Tensor, LSTMState]:
    """One step of the spiking LSTM; ``x`` is ``[B, input_size]``, the states ``[B, hidden_size]``.

    Returns ``(spk, LSTMState(syn, mem))``.
    """
    r = reset_mask(state.mem, p.threshold, f)
    h, c = p.cell(x, (state.mem, state.syn))
    mem = _reset(h, r, p.threshold, f)
    syn, mem = quantise(f, c, mem)
    spk = fire(mem, p.threshold, p.graded, f)
    return spk, LSTMState(syn, mem)


def sconv2dlstm_step(
    x: Tensor, state: LSTMState, p: SConv2dLSTMParams, f: Firing
) -> tuple[Tensor, LSTMState]:
    """One step of the convolutional spiking LSTM; ``x`` is ``[B, C_in, H, W]``, the states
    ``[B, C_out, H, W]``; ``spk`` is ``[B, C_out, H/pool, W/pool]`` with pooling, else the state's shape.

    Returns ``(spk, LSTMState(syn, mem))``.
    """
    r = reset_mask(state.mem, p.threshold, f)
    z = torch.cat([x, state.mem], dim=1)
    z = p.conv(z if p.pad is None else F.pad(z, p.pad))
    zi, zf, zo, zg = torch.split(z, p.out_channels, dim=1)
    c = torch.sigmoid(zf) * state.syn + torch.sigmoid(zi) * torch.tanh(zg)
    h = torch.sigmoid(zo) * torch.tanh(c)
    mem = _reset(h, r, p.threshold, f)
    syn, mem = quantise(f, c, mem)
    if p.max_pool:
        pooled = F.max_pool2d(mem, p.max_pool)
    elif p.avg_pool:
        pooled = F.avg_pool2d(mem, p.avg_pool)
    else:
        pooled = mem
    spk = fire(pooled, p.threshold, p.graded, f)
    return spk, LSTMState(syn, mem)
