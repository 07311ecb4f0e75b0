"""spikeforge / torch module -> NIR node(s), one function per module type (used by the exporter).

Encodings (``docs/nir.md``), with ``k = 1 - beta = dt/tau``:

* ``Leaky`` -> ``LIF(tau=dt/(1-beta), r=1, v_leak=0, v_threshold=threshold*(1-beta), v_reset=0)``
  (the membrane in NIR units is ``v = (1-beta)*mem``; norse 1.1.0 ignores ``r``, so ``r = 1``).
  ``beta = 1`` everywhere -> ``IF(r=1, v_threshold=threshold)`` (IF integrates ``v += r*x`` per step).
* ``Synaptic`` -> ``CubaLIF(tau_syn=dt/(1-alpha), tau_mem=dt/(1-beta), r=tau_mem/dt,
  w_in=tau_syn/dt, v_leak=0, v_threshold=threshold, v_reset=0)`` (snntorch's encoding; norse and
  snntorch's importer both honour ``r`` and ``w_in`` for CubaLIF).
* ``RLeaky``/``RSynaptic`` -> the neuron as ``"<name>.lif"`` plus ``"<name>.w_rec"``: Affine/Linear
  (dense), Conv2d (convolutional), Linear(diag(V)) or Scale(V) (element-wise).
"""

from __future__ import annotations

from typing import Any

import nir
import numpy as np
from torch import Tensor, nn

from ..neurons import Lapicque, Leaky, RLeaky, RSynaptic, Synaptic
from ..neurons._base import SpikingNeuron


class NIRExportError(ValueError):
    """A module or model that NIR cannot express (the message names the module and the reason)."""


Nodes = list[tuple[str, nir.NIRNode]]


def _np(t: Any, shape: tuple[int, ...] | None = None) -> np.ndarray:
    a = t.detach().cpu().double().numpy() if isinstance(t, Tensor) else np.asarray(t, dtype=np.float64)
    return np.broadcast_to(a, shape).copy() if shape is not None else a


def lossy_features(mod: SpikingNeuron) -> list[str]:
    """What the export of neuron ``mod`` cannot represent in NIR (empty: exact)."""
    out = []
    reset = mod.reset_mechanism
    if reset == "subtract":
        out.append("reset_mechanism='subtract' (NIR neurons reset to v_reset)")
    elif reset == "none":
        out.append("reset_mechanism='none' (NIR neurons always reset)")
    elif isinstance(mod, Lapicque):  # its reset always comes from the previous step, zeroing the update
        out.append("Lapicque's reset 'zero' applies at the next step (the membrane is held at 0 for a step)")
    elif getattr(mod, "reset_delay", False) and type(mod) is not Leaky:
        out.append("reset_delay=True with reset 'zero' (the membrane is held at 0 for one step)")
    g = _np(mod.graded_spikes_factor)
    if np.any(g != 1):
        out.append("graded_spikes_factor != 1 (NIR spikes are 1)")
    if mod.inhibition:
        out.append("inhibition=True")
    if callable(mod.state_quant):
        out.append("state_quant")
    return out


def _decay(name: str, what: str, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    b = np.clip(_np(value, shape), 0.0, 1.0)
    if np.any(b == 1):
        raise NIRExportError(f"module {name!r}: {what} = 1 has no finite NIR time constant")
    return b


def leaky_node(name: str, mod: Leaky | Lapicque, shape: tuple[int, ...], dt: float) -> nir.NIRNode:
    thr = _np(mod.threshold, shape)
    zeros = np.zeros(shape)
    if isinstance(mod, Lapicque):  # mem <- beta*mem + gain*x with beta = 1 - ts/(R*C), gain = ts/C
        ts, c = _np(mod.time_step), _np(mod.C, shape)
        beta = 1.0 - ts / (_np(mod.R, shape) * c)
        thr = thr * c / ts
    else:
        beta = np.clip(_np(mod.beta, shape), 0.0, 1.0)
    if np.all(beta == 1):
        return nir.IF(r=np.ones(shape), v_threshold=thr, v_reset=zeros)
    if np.any(beta == 1) or np.any(beta < 0):
        raise NIRExportError(f"module {name!r}: beta must be < 1 for every neuron or = 1 for all (IF)")
    k = 1.0 - beta
    return nir.LIF(tau=dt / k, r=np.ones(shape), v_leak=zeros, v_threshold=thr * k, v_reset=zeros)


def synaptic_node(name: str, mod: Synaptic | RSynaptic, shape: tuple[int, ...], dt: float) -> nir.CubaLIF:
    alpha = _decay(name, "alpha", mod.alpha, shape)
    beta = _decay(name, "beta", mod.beta, shape)
    tau_syn, tau_mem = dt / (1.0 - alpha), dt / (1.0 - beta)
    zeros = np.zeros(shape)
    return nir.CubaLIF(
        tau_syn=tau_syn, tau_mem=tau_mem, r=tau_mem / dt, v_leak=zeros,
        v_threshold=_np(mod.threshold, shape), v_reset=zeros, w_in=tau_syn / dt,
    )


def recurrent_nodes(name: str, mod: RLeaky | RSynaptic, shape: tuple[int, ...], dt: float) -> Nodes:
    """The flattened recurrent layer: ``name.lif`` and ``name.w_rec`` (edges added by the caller)."""
    if isinstance(mod, RSynaptic):
        lif: nir.NIRNode = synaptic_node(name, mod, shape, dt)
    else:
        lif = leaky_node(name, mod, shape, dt)
    rec = mod.recurrent
    if mod.all_to_all and isinstance(rec, nn.Linear):
        w = _np(rec.weight).astype(np.float32)
        w_rec: nir.NIRNode = (
            nir.Affine(weight=w, bias=_np(rec.bias).astype(np.float32))
            if rec.bias is not None
            else nir.Linear(weight=w)
        )
    elif mod.all_to_all and isinstance(rec, nn.Conv2d):
        w_rec = conv_node(name, rec, shape)
    else:
        v = _np(mod.V, shape)
        w_rec = nir.Linear(weight=np.diag(v)) if len(shape) == 1 else nir.Scale(scale=v)
    return [(f"{name}.lif", lif), (f"{name}.w_rec", w_rec)]


def conv_node(name: str, mod: nn.Conv1d | nn.Conv2d, in_shape: tuple[int, ...]) -> nir.NIRNode:
    if mod.padding_mode != "zeros":
        raise NIRExportError(f"module {name!r}: padding_mode={mod.padding_mode!r} (NIR pads with zeros)")
    w = _np(mod.weight).astype(np.float32)
    bias = _np(mod.bias).astype(np.float32) if mod.bias is not None else np.zeros(w.shape[0], np.float32)
    pad = mod.padding
    if isinstance(mod, nn.Conv2d):
        return nir.Conv2d(
            input_shape=tuple(in_shape[1:]), weight=w, stride=mod.stride,
            padding=pad if isinstance(pad, str) else tuple(pad), dilation=mod.dilation, groups=mod.groups,
            bias=bias,
        )
    return nir.Conv1d(
        input_shape=int(in_shape[1]), weight=w, stride=int(mod.stride[0]),
        padding=pad if isinstance(pad, str) else int(pad[0]), dilation=int(mod.dilation[0]),
        groups=mod.groups, bias=bias,
    )


def _pair(v: Any) -> np.ndarray:
    a = np.asarray(v, dtype=np.int64).ravel()
    return np.array([a[0], a[0]] if a.size == 1 else a, dtype=np.int64)


def avg_pool_node(
    what: str, kernel_size: Any, stride: Any, padding: Any, ceil_mode: bool, count_include_pad: bool,
    divisor_override: Any,
) -> nir.AvgPool2d:
    """``nn.AvgPool2d`` / ``F.avg_pool2d`` arguments -> NIR ``AvgPool2d`` (``what`` names it in errors).

    Raises:
        NIRExportError: ``ceil_mode``, ``divisor_override``, or ``count_include_pad=False`` with padding
            (NIR's AvgPool2d divides by the window size and pads with zeros).
    """
    if ceil_mode or divisor_override is not None:
        raise NIRExportError(f"{what}: AvgPool2d with ceil_mode or divisor_override")
    pad = _pair(padding)
    if not count_include_pad and np.any(pad != 0):
        raise NIRExportError(f"{what}: AvgPool2d(count_include_pad=False) with padding")
    if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0):
        stride = kernel_size  # torch's default (F.avg_pool2d also takes an empty stride)
    return nir.AvgPool2d(kernel_size=_pair(kernel_size), stride=_pair(stride), padding=pad)


def layer_node(name: str, mod: nn.Module, in_shape: tuple[int, ...]) -> nir.NIRNode:
    """A stateless layer (input ``[B, *in_shape]``) -> its NIR node.

    Raises:
        NIRExportError: for a layer (or a layer option) NIR cannot express.
    """
    if isinstance(mod, nn.Linear):
        w = _np(mod.weight).astype(np.float32)
        if mod.bias is None:
            return nir.Linear(weight=w)
        return nir.Affine(weight=w, bias=_np(mod.bias).astype(np.float32))
    if isinstance(mod, (nn.Conv1d, nn.Conv2d)):
        return conv_node(name, mod, in_shape)
    if isinstance(mod, nn.AvgPool2d):
        return avg_pool_node(
            f"module {name!r}", mod.kernel_size, mod.stride, mod.padding, mod.ceil_mode,
            mod.count_include_pad, mod.divisor_override,
        )
    if isinstance(mod, nn.LPPool2d) and float(mod.norm_type) == 1.0 and not mod.ceil_mode:
        stride = mod.stride if mod.stride is not None else mod.kernel_size
        return nir.SumPool2d(
            kernel_size=_pair(mod.kernel_size), stride=_pair(stride), padding=np.zeros(2, np.int64)
        )
    if isinstance(mod, nn.Flatten):
        return flatten_node(name, mod.start_dim, mod.end_dim, in_shape)
    raise NIRExportError(f"module {name!r} ({type(mod).__name__}) has no NIR equivalent")


def flatten_node(name: str, start: int, end: int, in_shape: tuple[int, ...]) -> nir.Flatten:
    """``flatten(start, end)`` on ``[B, *in_shape]`` -> NIR ``Flatten`` counted without the batch."""
    nd = len(in_shape) + 1
    s, e = start % nd if start < 0 else start, end % nd if end < 0 else end
    if s == 0:
        raise NIRExportError(
            f"{name!r}: flattening the batch dimension (start_dim=0) cannot be expressed"
        )
    return nir.Flatten(input_type={"input": np.array(in_shape)}, start_dim=s - 1, end_dim=e - 1)
