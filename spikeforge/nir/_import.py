"""NIR -> spikeforge: `import_from_nir`.

Every node type of nir 1.0.8 maps to a module of `spikeforge.nir._modules` or ``torch.nn``;
nirtorch's default maps are not used where ``shared/NIR.md`` section 2.4 shows them wrong (Affine
bias, Conv channel order, Flatten batch shift, SumPool2d padding).
"""

from __future__ import annotations

import math
import os
import warnings
from typing import Any

import nir
import numpy as np
import torch
from torch import nn

from . import _modules as m
from ._graph import NIRGraphModule
from ._read import NIRReadError, NIRReadWarning, read_lenient

DEFAULT_DT = 1e-4


class _Identity(nn.Identity):
    """``Input``/``Output``: pass the value through."""


def _arr(node: nir.NIRNode, name: str, default: Any = None) -> np.ndarray | None:
    v = getattr(node, name, None)
    if v is None:
        return None if default is None else np.asarray(default, dtype=np.float64)
    return np.asarray(v)


def _pair(v: Any, name: str, node: str) -> tuple[int, int]:
    a = np.asarray(v).astype(np.int64).ravel()
    if a.size == 1:
        return int(a[0]), int(a[0])
    if a.size == 2:
        return int(a[0]), int(a[1])
    raise NIRReadError(f"node {node!r}: {name} must have 1 or 2 entries, got {a.tolist()}")


def _dense(name: str, node: nir.Affine | nir.Linear, dtype: torch.dtype) -> nn.Linear:
    w = np.asarray(node.weight)
    if w.ndim != 2:
        raise NIRReadError(
            f"node {name!r} ({type(node).__name__}): weight must be 2-D [out, in], got {w.shape}"
        )
    bias = getattr(node, "bias", None)
    lin = nn.Linear(w.shape[1], w.shape[0], bias=bias is not None, dtype=dtype)
    with torch.no_grad():
        lin.weight.copy_(torch.as_tensor(w))
        if bias is not None:
            b = np.broadcast_to(np.asarray(bias), (w.shape[0],))
            lin.bias.copy_(torch.as_tensor(b.copy()))
    return lin


def _conv(name: str, node: nir.Conv1d | nir.Conv2d, dtype: torch.dtype) -> nn.Module:
    w = np.asarray(node.weight)
    two = isinstance(node, nir.Conv2d)
    if w.ndim != (4 if two else 3):
        raise NIRReadError(f"node {name!r}: {type(node).__name__} weight has shape {w.shape}")
    groups = int(node.groups)
    pad = node.padding
    if isinstance(pad, str):
        padding: Any = pad
    else:
        padding = _pair(pad, "padding", name) if two else int(np.ravel(pad)[0])
    stride = _pair(node.stride, "stride", name) if two else int(np.ravel(node.stride)[0])
    dilation = _pair(node.dilation, "dilation", name) if two else int(np.ravel(node.dilation)[0])
    cls = nn.Conv2d if two else nn.Conv1d
    conv = cls(w.shape[1] * groups, w.shape[0], w.shape[2:], stride=stride, padding=padding,
               dilation=dilation, groups=groups, bias=node.bias is not None, dtype=dtype)
    with torch.no_grad():
        conv.weight.copy_(torch.as_tensor(w))
        if node.bias is not None:
            conv.bias.copy_(torch.as_tensor(np.broadcast_to(np.asarray(node.bias), (w.shape[0],)).copy()))
    return conv


def _builder(dt: float, dtype: torch.dtype) -> Any:
    def build(name: str, node: nir.NIRNode) -> nn.Module:
        try:
            return _build(name, node)
        except (NIRReadError, NotImplementedError):
            raise
        except Exception as err:  # noqa: BLE001 - re-raised with the node's name
            raise NIRReadError(f"node {name!r} ({type(node).__name__}): {err}") from err

    def _build(name: str, node: nir.NIRNode) -> nn.Module:
        if isinstance(node, nir.NIRGraph):
            return NIRGraphModule(node, build, store_state=False)
        if isinstance(node, (nir.Input, nir.Output)):
            return _Identity()
        if isinstance(node, (nir.Affine, nir.Linear)):
            return _dense(name, node, dtype)
        if isinstance(node, (nir.Conv1d, nir.Conv2d)):
            return _conv(name, node, dtype)
        if isinstance(node, nir.Scale):
            return m.Scale(node.scale, dtype)
        if isinstance(node, nir.Threshold):
            return m.Threshold(node.threshold, dtype)
        if isinstance(node, nir.Flatten):
            return m.Flatten(int(node.start_dim), int(node.end_dim))
        if isinstance(node, (nir.SumPool2d, nir.AvgPool2d)):
            k, s, p = (_pair(getattr(node, a), a, name) for a in ("kernel_size", "stride", "padding"))
            return m.SumPool2d(k, s, p) if isinstance(node, nir.SumPool2d) else nn.AvgPool2d(k, s, p)
        if isinstance(node, nir.Delay):
            return m.Delay(node.delay, dt)
        if isinstance(node, (nir.LIF, nir.LI)):
            spiking = isinstance(node, nir.LIF)
            return m.LIFModule(
                node.tau, node.r, node.v_leak, node.v_threshold if spiking else None,
                _arr(node, "v_reset", 0.0) if spiking else None, dt, dtype,
            )
        if isinstance(node, (nir.CubaLIF, nir.CubaLI)):
            spiking = isinstance(node, nir.CubaLIF)
            return m.CubaLIFModule(
                node.tau_syn, node.tau_mem, node.r, node.v_leak, node.v_threshold if spiking else None,
                _arr(node, "v_reset", 0.0) if spiking else None, _arr(node, "w_in", 1.0), dt, dtype,
            )
        if isinstance(node, (nir.IF, nir.I)):
            spiking = isinstance(node, nir.IF)
            return m.IFModule(
                node.r, node.v_threshold if spiking else None,
                _arr(node, "v_reset", 0.0) if spiking else None, dtype,
            )
        raise NotImplementedError(f"node {name!r}: NIR node type {type(node).__name__} is not supported")

    return build


def _recorded_dt(graph: nir.NIRNode) -> float | None:
    """The ``dt`` a graph's metadata records (spikeforge's exporter writes it), or None."""
    value = getattr(graph, "metadata", None) or {}
    value = value.get("dt") if isinstance(value, dict) else None
    if value is None:
        return None
    try:
        dt = float(value)
    except (TypeError, ValueError):
        dt = math.nan
    if not (math.isfinite(dt) and dt > 0):
        warnings.warn(
            f"the graph's metadata records dt={value!r}, which is not a positive number of seconds; ignored",
            NIRReadWarning,
            stacklevel=3,
        )
        return None
    return dt


def import_from_nir(
    graph: nir.NIRNode | str | os.PathLike[str],
    dt: float | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> NIRGraphModule:
    """Build a runnable spikeforge module from a NIR graph (snntorch ``import_from_nir`` + ``dt``).

    Args:
        graph: a `nir.NIRGraph` (or a single node), or the path of a ``.nir`` file (read
            leniently: older files with 0-d parameters, no ``v_reset``/``input_shape``, nested graphs).
        dt: the time step in seconds used to discretise the neuron ODEs by forward Euler. None (the
            default): the ``dt`` recorded in the graph's metadata (``metadata["dt"]``, which
            `export_to_nir` writes), else ``1e-4`` (the snntorch convention and the NIR paper's). A
            ``dt`` other than the recorded one is used, with a `NIRReadWarning`. IF and I nodes
            integrate ``v += r*x`` per step whatever ``dt`` (``docs/nir.md``).
        dtype: floating dtype of the parameters (inputs must match it).
        device: where to put the module.

    Returns:
        `NIRGraphModule`: ``out, state = model(x_t, state)`` steps a ``[B, ...]`` input;
        ``model.forward_sequence(x)`` runs ``[T, B, ...]``; ``model.reset_state()`` restarts.

    Warns:
        NIRReadWarning: a ``dt`` that differs from the recorded one; an ``Input`` node whose shape
            disagrees with the weights of the layer it feeds (the weights win: some exporters write the
            batch dimension or another width there).

    Raises:
        ValueError: ``dt`` not positive.
        FileNotFoundError: a path that does not exist.
        NIRReadError: a corrupt file, a dangling edge, a node whose parameters do not fit (names it).
        NotImplementedError: a graph with several inputs or outputs, or an unknown node type.
    """
    if dt is not None and (not isinstance(dt, (int, float)) or not dt > 0):
        raise ValueError(f"dt must be a positive number of seconds, got {dt!r}")
    if isinstance(graph, (str, os.PathLike)):
        graph = read_lenient(graph)
    if not isinstance(graph, nir.NIRNode):
        raise TypeError(f"graph must be a nir.NIRGraph, a NIR node or a path, got {type(graph).__name__}")
    recorded = _recorded_dt(graph)
    if dt is None:
        dt = recorded if recorded is not None else DEFAULT_DT
    elif recorded is not None and not math.isclose(dt, recorded, rel_tol=1e-9):
        warnings.warn(
            f"importing with dt={dt:g} s, but the graph records that it was exported with dt={recorded:g} s; "
            "its neurons then decay differently per step (pass dt=None to use the recorded one)",
            NIRReadWarning,
            stacklevel=2,
        )
    build = _builder(float(dt), dtype)
    if not isinstance(graph, nir.NIRGraph):
        graph = nir.NIRGraph(nodes={"node": graph}, edges=[], type_check=False)
    model = NIRGraphModule(graph, build, store_state=True)
    return model.to(device) if device is not None else model
