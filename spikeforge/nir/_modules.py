"""Explicit-state PyTorch modules, one per NIR node type (nir 1.0.8).

Every module works on one time step of a batch ``[B, *shape]``. Stateful modules have
``stateful = True`` and ``forward(x, state=None) -> (out, state)``; ``state=None`` starts from zero.
Neurons take a list of inputs (the incoming edges) and add them one by one after the decay term, so a
recurrent layer sums ``decay + x + recurrent`` in the same order as spikeforge's ``RLeaky``.

Time discretisation (``docs/nir.md``): forward Euler with step ``dt`` (seconds), as in the NIR paper
(Pedersen et al., *Nat. Commun.* 15, 8122, 2024) and snntorch/norse. For LIF,
``v[t] = v[t-1] + dt/tau*(v_leak - v[t-1] + r*x[t])``; spike ``v > v_threshold`` (strict); on a spike
``v <- v_reset`` in the same step. The state is stored in per-step input units ``mem = v/g`` with
``g = r*dt/tau`` (``g = 1`` gives snntorch's ``mem = beta*mem + x`` bit for bit); `voltage`
returns ``v`` in NIR units. IF and I integrate ``v += r*x`` per step (the convention of the paper's
CNN, sinabs and norse; independent of ``dt``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

Inputs = Tensor | Sequence[Tensor]


def _f64(a: object) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def _scale(g: np.ndarray) -> np.ndarray:
    """The unit scale ``s = g`` where ``g != 0``, else 1 (the state then stays in NIR units)."""
    return np.where(g != 0, g, 1.0)


def _accumulate(base: Tensor, xs: Inputs, gain: Tensor) -> Tensor:
    if isinstance(xs, Tensor):
        xs = [xs]
    for x in xs:
        base = base + gain * x
    return base


def _first(xs: Inputs) -> Tensor:
    return xs if isinstance(xs, Tensor) else xs[0]


class MemState(NamedTuple):
    """State of a one-variable neuron: ``mem`` (per-step input units)."""

    mem: Tensor


class CubaState(NamedTuple):
    """State of a current-based neuron: ``syn`` and ``mem`` (per-step input units)."""

    syn: Tensor
    mem: Tensor


class _Neuron(nn.Module):
    """Shared buffer handling of the neuron modules."""

    stateful = True
    multi_input = True
    spiking = True

    def _buffers_from(self, dtype: torch.dtype, **arrays: np.ndarray) -> None:
        shape = np.broadcast_shapes(*(a.shape for a in arrays.values()))
        self.shape: tuple[int, ...] = tuple(int(n) for n in shape)
        for name, a in arrays.items():
            self.register_buffer(name, torch.as_tensor(np.broadcast_to(a, shape).copy(), dtype=dtype))

    def _zeros(self, xs: Inputs) -> Tensor:
        x = _first(xs)
        return x.new_zeros(torch.broadcast_shapes(x.shape, (1, *self.shape)))

    def _fire(self, mem: Tensor) -> tuple[Tensor, Tensor]:
        if not self.spiking:
            return mem * self.scale, mem
        spk = (mem > self.theta).to(mem.dtype)
        return spk, torch.where(spk > 0, self.mem_reset.expand_as(mem), mem)


class LIFModule(_Neuron):
    """NIR ``LIF`` (``spiking=True``) or ``LI`` (output ``v``), forward Euler with step ``dt``.

    ``mem <- beta*mem + gain*x + leak`` with ``beta = 1 - dt/tau``, ``g = r*dt/tau``, ``s = g`` (or 1
    where ``g = 0``), ``gain = g/s``, ``leak = (dt/tau)*v_leak/s``; spike ``mem > v_threshold/s``;
    reset ``mem <- v_reset/s``. Parameters broadcast to one shape (0-d arrays of old files work).
    """

    def __init__(
        self, tau: np.ndarray, r: np.ndarray, v_leak: np.ndarray, v_threshold: np.ndarray | None,
        v_reset: np.ndarray | None, dt: float, dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        self.spiking = v_threshold is not None
        tau, r, v_leak = _f64(tau), _f64(r), _f64(v_leak)
        if np.any(tau <= 0):
            raise ValueError("tau must be positive")
        k = dt / tau
        g = r * k
        s = _scale(g)
        thr = _f64(v_threshold if v_threshold is not None else 0.0)
        rst = _f64(v_reset if v_reset is not None else 0.0)
        self._buffers_from(
            dtype, beta=1.0 - k, gain=g / s, leak=k * v_leak / s, scale=s, theta=thr / s, mem_reset=rst / s
        )
        self.has_leak = bool(np.any(v_leak != 0))

    def forward(self, xs: Inputs, state: MemState | None = None) -> tuple[Tensor, MemState]:
        mem = self._zeros(xs) if state is None else state.mem
        mem = _accumulate(self.beta * mem, xs, self.gain)
        if self.has_leak:
            mem = mem + self.leak
        out, mem = self._fire(mem)
        return out, MemState(mem)

    def voltage(self, state: MemState) -> Tensor:
        """The membrane in NIR units, ``v = mem*s``."""
        return state.mem * self.scale


class CubaLIFModule(_Neuron):
    """NIR ``CubaLIF`` (``spiking=True``) or ``CubaLI``: synapse first, then the membrane with the
    updated current (forward Euler, step ``dt``).

    ``syn <- alpha*syn + k_s*x`` (``I = s_s*syn``), ``mem <- beta*mem + k_m*syn + leak`` with
    ``alpha = 1 - dt/tau_syn``, ``beta = 1 - dt/tau_mem``, ``g_s = w_in*dt/tau_syn``,
    ``g_m = r*dt/tau_mem``, scales ``s_s = g_s``, ``s = g_m*s_s`` (1 where zero); spike
    ``mem > v_threshold/s``; reset ``mem <- v_reset/s`` (the current is not reset).
    """

    def __init__(
        self, tau_syn: np.ndarray, tau_mem: np.ndarray, r: np.ndarray, v_leak: np.ndarray,
        v_threshold: np.ndarray | None, v_reset: np.ndarray | None, w_in: np.ndarray, dt: float,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        self.spiking = v_threshold is not None
        tau_syn, tau_mem, r, v_leak, w_in = map(_f64, (tau_syn, tau_mem, r, v_leak, w_in))
        if np.any(tau_syn <= 0) or np.any(tau_mem <= 0):
            raise ValueError("tau_syn and tau_mem must be positive")
        ks, km = dt / tau_syn, dt / tau_mem
        gs = w_in * ks
        ss = _scale(gs)
        gm = r * km * ss
        s = _scale(gm)
        thr = _f64(v_threshold if v_threshold is not None else 0.0)
        rst = _f64(v_reset if v_reset is not None else 0.0)
        self._buffers_from(
            dtype, alpha=1.0 - ks, gain_syn=gs / ss, beta=1.0 - km, gain=gm / s, leak=km * v_leak / s,
            scale=s, syn_scale=ss, theta=thr / s, mem_reset=rst / s,
        )
        self.has_leak = bool(np.any(v_leak != 0))

    def forward(self, xs: Inputs, state: CubaState | None = None) -> tuple[Tensor, CubaState]:
        if state is None:
            syn = mem = self._zeros(xs)
        else:
            syn, mem = state
        syn = _accumulate(self.alpha * syn, xs, self.gain_syn)
        mem = self.beta * mem + self.gain * syn
        if self.has_leak:
            mem = mem + self.leak
        out, mem = self._fire(mem)
        return out, CubaState(syn, mem)

    def voltage(self, state: CubaState) -> Tensor:
        """The membrane in NIR units, ``v = mem*s``."""
        return state.mem * self.scale


class IFModule(_Neuron):
    """NIR ``IF`` (``spiking=True``) or ``I``, integrated per step: ``v <- v + r*x``; spike
    ``v > v_threshold``; reset ``v <- v_reset``. ``dt`` is not used (``docs/nir.md``)."""

    def __init__(
        self, r: np.ndarray, v_threshold: np.ndarray | None, v_reset: np.ndarray | None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        self.spiking = v_threshold is not None
        r = _f64(r)
        thr = _f64(v_threshold if v_threshold is not None else 0.0)
        rst = _f64(v_reset if v_reset is not None else 0.0)
        self._buffers_from(dtype, gain=r, scale=np.ones_like(r), theta=thr, mem_reset=rst)

    def forward(self, xs: Inputs, state: MemState | None = None) -> tuple[Tensor, MemState]:
        mem = self._zeros(xs) if state is None else state.mem
        out, mem = self._fire(_accumulate(mem, xs, self.gain))
        return out, MemState(mem)

    def voltage(self, state: MemState) -> Tensor:
        """The membrane ``v`` (NIR units)."""
        return state.mem


class Threshold(nn.Module):
    """NIR ``Threshold``: ``z = H(x - theta)`` with the strict step (``x == theta`` gives 0)."""

    def __init__(self, threshold: np.ndarray, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.register_buffer("threshold", torch.as_tensor(_f64(threshold), dtype=dtype))

    def forward(self, x: Tensor) -> Tensor:
        return (x > self.threshold).to(x.dtype)


class Scale(nn.Module):
    """NIR ``Scale``: ``y = s * x`` element-wise."""

    def __init__(self, scale: np.ndarray, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.register_buffer("scale", torch.as_tensor(_f64(scale), dtype=dtype))

    def forward(self, x: Tensor) -> Tensor:
        return x * self.scale


class SumPool2d(nn.Module):
    """NIR ``SumPool2d``: the sum over each window, zero padding honoured (``[B, C, H, W]``)."""

    def __init__(
        self, kernel_size: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int]
    ) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, divisor_override=1)


class Flatten(nn.Module):
    """NIR ``Flatten`` on a batch: NIR's ``start_dim``/``end_dim`` count without the batch dimension,
    so non-negative values are shifted by one (nirtorch 2.6, snntorch and norse do not shift)."""

    def __init__(self, start_dim: int, end_dim: int) -> None:
        super().__init__()
        self.start_dim = start_dim + 1 if start_dim >= 0 else start_dim
        self.end_dim = end_dim + 1 if end_dim >= 0 else end_dim

    def forward(self, x: Tensor) -> Tensor:
        return torch.flatten(x, self.start_dim, self.end_dim)


class Delay(nn.Module):
    """NIR ``Delay``: ``y[t] = x[t - n]`` with ``n = round(delay/dt)`` steps per neuron (zeros before).

    State: the last ``max(n)`` inputs, newest first, ``[max(n), B, *shape]``.
    """

    stateful = True

    def __init__(self, delay: np.ndarray, dt: float) -> None:
        super().__init__()
        steps = _f64(delay) / dt
        n = np.rint(steps)
        if np.any(np.abs(steps - n) > 1e-6 * np.maximum(1.0, np.abs(steps))):
            warnings.warn(
                f"Delay: delay/dt = {steps.ravel()[:4]}... is not a whole number of steps; rounded",
                UserWarning, stacklevel=2,
            )
        if np.any(n < 0):
            raise ValueError("Delay: delays must be non-negative")
        self.register_buffer("steps", torch.as_tensor(n, dtype=torch.long))
        self.max_steps = int(n.max()) if n.size else 0

    def forward(self, x: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        if self.max_steps == 0:
            return x, x.new_zeros((0, *x.shape))
        if state is None:
            state = x.new_zeros((self.max_steps, *x.shape))
        hist = torch.cat([x.unsqueeze(0), state], dim=0)
        idx = self.steps.expand(x.shape).unsqueeze(0)
        out = torch.gather(hist, 0, idx).squeeze(0)
        return out, hist[:-1]
