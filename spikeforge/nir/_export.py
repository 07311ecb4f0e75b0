"""spikeforge -> NIR: `export_to_nir`.

The model is traced with ``torch.fx`` (neurons and ``torch.nn`` layers are leaves) and run once on
``sample_data`` with ``ShapeProp`` to get every layer's width, so scalar parameters can be broadcast
and ``Conv.input_shape`` set (and the values of sizes computed in ``forward``, e.g. ``x.shape[2:]``).
Additions become summed edges; Identity and Dropout are bypassed; ``F.avg_pool2d`` becomes AvgPool2d.
Node names follow snntorch: ``"input"``, the module path (``"0"``, ``"fc1"``), ``"<path>.lif"`` and
``"<path>.w_rec"`` for recurrent neurons, ``"output"``.
"""

from __future__ import annotations

import copy
import math
import operator
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import nir
import torch
import torch.nn.functional as F
from torch import Tensor, fx, nn
from torch.fx.passes.shape_prop import ShapeProp

from .._version import __version__
from ..neurons import Alpha, Lapicque, Leaky, RLeaky, RSynaptic, Synaptic
from ..neurons._base import SpikingNeuron
from ._import import DEFAULT_DT
from ._maps import (
    NIRExportError,
    avg_pool_node,
    flatten_node,
    layer_node,
    leaky_node,
    lossy_features,
    recurrent_nodes,
    synaptic_node,
)

_BYPASS = (nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.AlphaDropout)
_ADD = {operator.add, operator.iadd, torch.add}
_AVG_POOL_ARGS = (
    ("input", None), ("kernel_size", None), ("stride", None), ("padding", 0), ("ceil_mode", False),
    ("count_include_pad", True), ("divisor_override", None),
)


class NIRLossyExportWarning(UserWarning):
    """Export dropped a feature NIR cannot express (also recorded in the graph's metadata)."""


class _Tracer(fx.Tracer):
    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return isinstance(m, SpikingNeuron) or super().is_leaf_module(m, qualname)


class _ShapeProp(ShapeProp):
    """``ShapeProp`` that also keeps the value of every size computed in ``forward`` (``meta["value"]``)."""

    def run_node(self, n: fx.Node) -> Any:
        result = super().run_node(n)
        if isinstance(result, int) or (
            isinstance(result, (tuple, list)) and all(isinstance(v, int) for v in result)
        ):
            n.meta["value"] = result
        return result


def _avg_pool_args(n: fx.Node) -> dict[str, Any]:
    """The arguments of a traced ``F.avg_pool2d`` call by name (defaults filled in)."""
    names = [a for a, _ in _AVG_POOL_ARGS]
    out = dict(_AVG_POOL_ARGS)
    out.update(zip(names, n.args))
    out.update(n.kwargs)
    return out


def _meta_shape(node: fx.Node) -> tuple[int, ...]:
    meta = node.meta.get("tensor_meta")
    if isinstance(meta, (tuple, list)) and not hasattr(meta, "shape"):
        meta = meta[0]
    if meta is None:
        raise NIRExportError(f"no shape recorded for {node.name!r}; is it a tensor?")
    return tuple(int(s) for s in meta.shape)


def _merged_span(before: tuple[int, ...], after: tuple[int, ...]) -> tuple[int, int] | None:
    """``(start, end)`` when reshaping ``before`` to ``after`` merges dimensions ``start..end`` into one
    (``x.view(B, -1)`` is ``(1, len(before) - 1)``; an unchanged shape gives ``(k, k)``); else None."""
    merged = len(before) - len(after)
    if merged < 0:
        return None
    for start in [*range(1, len(after)), 0]:  # a span that keeps the batch dimension first
        end = start + merged
        if (before[:start] == after[:start] and before[end + 1:] == after[start + 1:]
                and math.prod(before[start:end + 1]) == after[start]):
            return start, end
    return None


class _StepChain(nn.Sequential):
    """One step through a layer chain; a neuron returning ``(spk, *states)`` passes ``spk`` on."""

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        for m in self:
            x = m(x)
            if isinstance(m, SpikingNeuron) and (m.output or not m.init_hidden):
                x = x[0]
        return x


def _is_sequence_container(model: nn.Module) -> bool:
    try:
        from ..network import SequentialSNN
    except ImportError:  # pragma: no cover - the container is optional
        return False
    return isinstance(model, SequentialSNN)


def _needed(out: fx.Node) -> set[fx.Node]:
    """The nodes the output's signal flows through (not the ones that only compute sizes or states)."""
    seen: set[fx.Node] = set()
    todo = [out]
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        if n.op == "call_module":
            args: Sequence[Any] = n.args[:1]
        elif n.op == "call_function" and n.target is F.avg_pool2d:
            args = [_avg_pool_args(n)["input"]]
        elif n.target in ("view", "reshape") or n.target is torch.reshape:  # the sizes are not signals
            args = n.args[:1]
        else:
            args = n.all_input_nodes
        todo.extend(a for a in args if isinstance(a, fx.Node))
    return seen


def export_to_nir(
    module: nn.Module,
    sample_data: Tensor,
    model_name: str = "spikeforge",
    model_fwd_args: Sequence[Any] = (),
    ignore_dims: Sequence[int] | None = None,
    dt: float = DEFAULT_DT,
    lossy: str = "warn",
) -> nir.NIRGraph:
    """Export a single-step spiking model to a NIR graph (snntorch ``export_to_nir`` + ``dt``, ``lossy``).

    Covers ``Leaky`` (-> LIF, or IF when ``beta = 1``), ``Lapicque`` (-> LIF), ``Synaptic`` (-> CubaLIF),
    ``RLeaky``/``RSynaptic`` (-> neuron ``"<name>.lif"`` + recurrent ``"<name>.w_rec"``), ``nn.Linear``,
    ``nn.Conv1d``/``nn.Conv2d``, ``nn.AvgPool2d`` and ``F.avg_pool2d`` (-> AvgPool2d; sizes may be
    computed from the input, e.g. ``F.avg_pool2d(x, x.shape[2:])``), ``nn.LPPool2d(1, ...)``
    (-> SumPool2d), ``nn.Flatten``/``torch.flatten``, additions (summed edges) and Identity/Dropout
    (bypassed).
    Parameters are broadcast to the layer width; neuron parameters are float64 (see
    ``docs/nir.md`` for the encodings).

    Args:
        module: the model; its ``forward`` takes one time step ``[B, ...]`` (no loop over time) and must
            be traceable by ``torch.fx``; a `spikeforge.network.SequentialSNN` is exported as the
            chain of its layers, and a single layer or neuron (``nn.Linear(4, 4)``, ``Leaky(...)``) as
            ``input -> "0" -> output``. It is not modified (a copy is traced and run).
        sample_data: one step of input ``[B, ...]`` (the batch dimension is not exported). A 1-D
            ``[N]`` sample is one unbatched sample: it is run as ``[1, N]`` (tensors in
            ``model_fwd_args`` get the same leading 1) and the graph's input is ``[N]``, as snntorch
            exports it.
        model_name: stored in the graph's metadata.
        model_fwd_args: extra positional arguments of ``forward`` (initial states; not exported).
        ignore_dims: dimensions of ``sample_data`` that are not part of the NIR input shape (default
            ``[0]``, the batch; snntorch required ``[0]`` explicitly). Must contain 0.
        dt: time step in seconds the discrete neurons are assumed to use (default 1e-4, snntorch's).
        lossy: what to do when a neuron uses a feature NIR cannot express (reset by subtraction, no
            reset, ``reset_delay=True`` with a refractory zero reset, graded spikes, inhibition,
            state quantisation): ``"warn"`` (default: `NIRLossyExportWarning`, and the graph's
            metadata ``"lossy"`` lists them) or ``"raise"`` (`NIRExportError`).

    Returns:
        A type-checked `nir.NIRGraph`; ``nir.write`` it and ``nir.read(type_check=True)`` reads it.

    Raises:
        NIRExportError: a module or operation NIR cannot express (named), ``Alpha``, a ``beta`` of 1 in
            only some neurons, a lossy feature with ``lossy="raise"``, a model ``torch.fx`` cannot trace.
        ValueError: a bad ``dt``, ``lossy`` or ``ignore_dims``; a 0-d ``sample_data``.
        TypeError: ``module`` not an ``nn.Module`` or ``sample_data`` not a tensor.
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    if not isinstance(sample_data, Tensor):
        raise TypeError(f"sample_data must be a torch.Tensor, got {type(sample_data).__name__}")
    if not isinstance(dt, (int, float)) or not dt > 0:
        raise ValueError(f"dt must be a positive number of seconds, got {dt!r}")
    if lossy not in ("warn", "raise"):
        raise ValueError(f"lossy must be 'warn' or 'raise', got {lossy!r}")
    if sample_data.dim() == 0:
        raise ValueError("sample_data must be one time step [B, ...] or one unbatched sample [N], not 0-d")
    if sample_data.dim() == 1:  # one unbatched sample: give it the batch dimension NIR shapes leave out
        sample_data = sample_data.unsqueeze(0)
        model_fwd_args = [a.unsqueeze(0) if isinstance(a, Tensor) else a for a in model_fwd_args]
        ignore_dims = None
    dims = sorted({d % sample_data.dim() for d in (ignore_dims if ignore_dims else [0])})
    if 0 not in dims:
        raise ValueError(f"ignore_dims must contain the batch dimension 0, got {list(ignore_dims or [])}")
    model = copy.deepcopy(module)
    if _is_sequence_container(model):  # its forward runs [T, B, ...]; export the per-step chain
        model = _StepChain(OrderedDict(model.named_children()))
    elif _Tracer().is_leaf_module(model, ""):  # a lone Linear/Conv/neuron: trace it as a chain of one
        model = _StepChain(OrderedDict([("0", model)]))
    try:
        gm = fx.GraphModule(model, _Tracer().trace(model))
    except Exception as err:  # noqa: BLE001 - any tracing failure becomes one clear error
        raise NIRExportError(
            f"torch.fx cannot trace {type(module).__name__}.forward ({err}); export a model whose forward "
            "runs one time step without Python control flow on tensors"
        ) from err
    try:
        with torch.no_grad():
            _ShapeProp(gm).propagate(sample_data, *model_fwd_args)
    except Exception as err:  # noqa: BLE001
        raise NIRExportError(f"running the model on sample_data failed: {err}") from err
    in_shape = tuple(s for i, s in enumerate(sample_data.shape) if i not in dims)
    walker = _Walker(gm, float(dt), in_shape)
    graph = walker.run()
    meta: dict[str, Any] = {"source": f"spikeforge {__version__}", "model_name": model_name, "dt": float(dt)}
    if walker.lossy:
        text = "; ".join(f"{n}: {', '.join(f)}" for n, f in walker.lossy.items())
        if lossy == "raise":
            raise NIRExportError(
                f"NIR cannot express these features (use lossy='warn' to export anyway): {text}"
            )
        warnings.warn(f"exported to NIR without: {text}", NIRLossyExportWarning, stacklevel=2)
        meta["lossy"] = text
    try:
        return nir.NIRGraph(nodes=graph[0], edges=graph[1], metadata=meta, type_check=True)
    except Exception as err:  # noqa: BLE001
        raise NIRExportError(f"the exported graph does not type-check: {err}") from err


class _Walker:
    """Turns the traced fx graph into NIR nodes and edges."""

    def __init__(self, gm: fx.GraphModule, dt: float, in_shape: tuple[int, ...]) -> None:
        self.gm, self.dt, self.in_shape = gm, dt, in_shape
        self.nodes: dict[str, nir.NIRNode] = {"input": nir.Input(input_type={"input": list(in_shape)})}
        self.edges: list[tuple[str, str]] = []
        self.src: dict[fx.Node, list[str]] = {}
        self.lossy: dict[str, list[str]] = {}

    def _name(self, base: str) -> str:
        name, i = base, 1
        while name in self.nodes or f"{name}.lif" in self.nodes:
            name, i = f"{base}_{i}", i + 1
        return name

    def _sources(self, node: Any, what: str) -> list[str]:
        if not isinstance(node, fx.Node) or node not in self.src:
            raise NIRExportError(f"{what}: its input is not a signal NIR can carry ({node!r})")
        return self.src[node]

    def _connect(self, srcs: list[str], dst: str) -> None:
        self.edges.extend((s, dst) for s in srcs)

    def run(self) -> tuple[dict[str, nir.NIRNode], list[tuple[str, str]]]:
        graph = self.gm.graph
        out_node = next(n for n in graph.nodes if n.op == "output")
        result = out_node.args[0]
        if isinstance(result, (tuple, list)):
            result = result[0]
        if not isinstance(result, fx.Node):
            raise NIRExportError(
                "forward must return a tensor (or a tuple whose first element is the output)"
            )
        needed = _needed(result)
        placeholders = [n for n in graph.nodes if n.op == "placeholder"]
        for n in graph.nodes:
            if n not in needed:
                continue
            if n.op == "placeholder":
                if n is not placeholders[0]:
                    raise NIRExportError(
                        f"the output depends on forward argument {n.name!r} (only the input is exported)"
                    )
                self.src[n] = ["input"]
            elif n.op == "call_module":
                self._module(n)
            elif n.op in ("call_function", "call_method"):
                self._function(n)
            else:
                raise NIRExportError(f"operation {n.op} {n.target!r} ({n.name}) has no NIR equivalent")
        self.nodes["output"] = nir.Output(output_type={"output": list(_meta_shape(result)[1:])})
        self._connect(self._sources(result, "output"), "output")
        return self.nodes, self.edges

    def _module(self, n: fx.Node) -> None:
        path = str(n.target)
        mod = self.gm.get_submodule(path)
        srcs = self._sources(n.args[0] if n.args else None, f"module {path!r}")
        if isinstance(mod, _BYPASS):
            self.src[n] = srcs
            return
        in_shape = _meta_shape(n.args[0])[1:]
        name = self._name(path)
        if isinstance(mod, SpikingNeuron):
            nodes = self._neuron(name, mod, in_shape)
            features = lossy_features(mod)
            if features:
                self.lossy[name] = features
        else:
            nodes = [(name, layer_node(name, mod, in_shape))]
        self.nodes.update(dict(nodes))
        head = nodes[0][0]
        self._connect(srcs, head)
        if len(nodes) == 2:  # recurrent: lif -> w_rec -> lif
            self.edges += [(head, nodes[1][0]), (nodes[1][0], head)]
        self.src[n] = [head]

    def _neuron(self, name: str, mod: SpikingNeuron, shape: tuple[int, ...]) -> list[tuple[str, nir.NIRNode]]:
        if isinstance(mod, (RLeaky, RSynaptic)):
            return recurrent_nodes(name, mod, shape, self.dt)
        if isinstance(mod, Synaptic):
            return [(name, synaptic_node(name, mod, shape, self.dt))]
        if isinstance(mod, (Leaky, Lapicque)):
            return [(name, leaky_node(name, mod, shape, self.dt))]
        why = "NIR has no alpha-kernel neuron" if isinstance(mod, Alpha) else "no NIR mapping"
        raise NIRExportError(f"module {name!r} ({type(mod).__name__}): {why}")

    def _function(self, n: fx.Node) -> None:
        t = n.target
        if t is operator.getitem:
            src = n.args[0]
            is_neuron = (
                isinstance(src, fx.Node) and src.op == "call_module"
                and isinstance(self.gm.get_submodule(str(src.target)), SpikingNeuron)
            )
            if not is_neuron or n.args[1] != 0:
                raise NIRExportError(
                    f"{n.name}: only the spikes (item 0) of a neuron's output can be exported, "
                    f"not item {n.args[1]!r}"
                )
            self.src[n] = self._sources(src, n.name)
        elif t in _ADD or t == "add" or t == "__add__":
            if len(n.args) != 2 or n.kwargs or not all(isinstance(a, fx.Node) for a in n.args):
                raise NIRExportError(f"{n.name}: only the sum of two signals can be exported")
            self.src[n] = self._sources(n.args[0], n.name) + self._sources(n.args[1], n.name)
        elif t is F.avg_pool2d:
            self._avg_pool(n)
        elif t is torch.flatten or t == "flatten":
            start = n.kwargs.get("start_dim", n.args[1] if len(n.args) > 1 else 0)
            end = n.kwargs.get("end_dim", n.args[2] if len(n.args) > 2 else -1)
            self._flatten(n, int(start), int(end))
        elif t in ("view", "reshape") or t is torch.reshape:
            before, after = _meta_shape(n.args[0]), _meta_shape(n)
            span = _merged_span(before, after)
            if span is None:
                raise NIRExportError(
                    f"{n.name}: a {getattr(t, '__name__', t)} from {before} to {after} is not a flatten of "
                    "adjacent dimensions, which is all NIR can express"
                )
            if span[0] == span[1]:  # same shape: nothing to export
                self.src[n] = self._sources(n.args[0], n.name)
            else:
                self._flatten(n, *span)
        else:
            what = getattr(t, "__name__", str(t))
            raise NIRExportError(
                f"operation {what!r} ({n.name}) has no NIR equivalent; use layers NIR knows"
            )

    def _flatten(self, n: fx.Node, start: int, end: int) -> None:
        name = self._name(n.name)
        self.nodes[name] = flatten_node(name, start, end, _meta_shape(n.args[0])[1:])
        self._connect(self._sources(n.args[0], name), name)
        self.src[n] = [name]

    def _avg_pool(self, n: fx.Node) -> None:
        args = _avg_pool_args(n)
        for key, value in args.items():
            if key != "input" and isinstance(value, fx.Node):
                if "value" not in value.meta:
                    raise NIRExportError(
                        f"{n.name}: avg_pool2d's {key} is computed in forward from something other than sizes"
                    )
                args[key] = value.meta["value"]
        src = args.pop("input")
        srcs = self._sources(src, n.name)
        rank = len(_meta_shape(src))
        if rank != 4:
            raise NIRExportError(f"{n.name}: avg_pool2d of a {rank}-D input (NIR's AvgPool2d: [B, C, H, W])")
        name = self._name(n.name)
        self.nodes[name] = avg_pool_node(f"{n.name} (avg_pool2d)", **args)
        self._connect(srcs, name)
        self.src[n] = [name]
