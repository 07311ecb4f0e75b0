"""Run a NIR graph step by step: `NIRGraphModule`.

Semantics (``shared/NIR.md`` section 0, item 6): per time step every node runs once in topological
order; several edges into a node are summed; a feed-forward edge carries the value of the same step;
an edge that closes a cycle carries the value of the previous step (zero at the first step). Cycles
are cut at the edges leaving a neuron, so a recurrent layer ``lif <-> w_rec`` computes
``lif(x[t] + w_rec(z[t-1]))`` with ``w_rec(0) = bias`` at the first step, as snntorch's ``RLeaky``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import nir
import numpy as np
import torch
from torch import Tensor, nn

from ._read import NIRReadError, NIRReadWarning

_PREV = "__prev__"


def _sccs(names: list[str], succ: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components (recursive; NIR graphs are small)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in succ[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(comp)

    for v in names:
        if v not in index:
            visit(v)
    return out


def _toposort(names: list[str], edges: list[tuple[str, str]]) -> list[str] | None:
    """Kahn's algorithm with the nodes' own order as tie-break; None if a cycle remains."""
    indeg = {n: 0 for n in names}
    for _, b in edges:
        indeg[b] += 1
    order: list[str] = []
    ready = [n for n in names if indeg[n] == 0]
    while ready:
        n = ready.pop(0)
        order.append(n)
        for a, b in edges:
            if a == n:
                indeg[b] -= 1
                if indeg[b] == 0:
                    ready.append(b)
        ready.sort(key=names.index)
    return order if len(order) == len(names) else None


def _endpoint(graph: nir.NIRGraph, kind: type, names: list[str], has_in: set[str], has_out: set[str]) -> str:
    marked = [n for n in names if isinstance(graph.nodes[n], kind)]
    if not marked:  # old files without Input/Output nodes: the unique source or sink
        marked = [n for n in names if n not in (has_in if kind is nir.Input else has_out)]
    word = "input" if kind is nir.Input else "output"
    if len(marked) != 1:
        raise NotImplementedError(
            f"the graph has {len(marked)} {word} nodes ({marked}); "
            f"spikeforge runs graphs with exactly one {word}"
        )
    return marked[0]


def _takes(node: nir.NIRNode) -> tuple[int | None, ...] | None:
    """The input shape (no batch) that a weighted node's weights imply; None: unknown or unchecked."""
    w = np.asarray(getattr(node, "weight", None))
    if isinstance(node, (nir.Affine, nir.Linear)) and w.ndim == 2:
        return (int(w.shape[1]),)
    if isinstance(node, (nir.Conv1d, nir.Conv2d)) and w.ndim in (3, 4):
        size = np.asarray(node.input_shape if node.input_shape is not None else [None] * (w.ndim - 2))
        return (int(w.shape[1]) * int(node.groups), *(None if s is None else int(s) for s in size.ravel()))
    return None


def _input_shape(graph: nir.NIRGraph, entry: str, edges: list[tuple[str, str]]) -> tuple[int, ...] | None:
    """The shape (no batch) the graph's input is checked against: the ``Input`` node's declared shape,
    or, where that disagrees with the weights of the layers it feeds, theirs (with a warning; some
    exporters write the batch dimension or another width into ``Input``). None: not checked."""
    node = graph.nodes[entry]
    shape = node.input_type.get("input") if isinstance(node, nir.Input) else None
    if shape is None or not len(shape):
        return None
    declared = tuple(int(s) for s in np.asarray(shape).ravel())
    takes = {b: t for a, b in edges if a == entry and (t := _takes(graph.nodes[b])) is not None}

    def fits(want: tuple[int | None, ...], have: tuple[int | None, ...]) -> bool:
        return len(want) == len(have) and all(w is None or h is None or w == h for w, h in zip(want, have))

    wrong = {b: t for b, t in takes.items() if not fits(t, declared)}
    if not wrong:
        return declared
    first, want = next(iter(wrong.items()))
    if any(not fits(t, want) for t in takes.values()):
        raise NIRReadError(
            f"the layers fed by the graph's input {entry!r} take different shapes "
            f"({ {b: list(t) for b, t in takes.items()} }); the graph cannot run"
        )
    text = ", ".join("?" if s is None else str(s) for s in want)
    warnings.warn(
        f"the graph's input {entry!r} declares shape {list(declared)} but its layer {first!r} "
        f"({type(graph.nodes[first]).__name__}) takes [{text}] by its weights; reading the input as "
        f"[B, {text}] (the Input node is ignored)",
        NIRReadWarning,
        stacklevel=4,
    )
    return None if None in want else tuple(int(s) for s in want if s is not None)


class NIRGraphModule(nn.Module):
    """A NIR graph as a stateful PyTorch module (one time step per call, or whole sequences).

    Call ``out, state = model(x_t, state)`` with ``x_t`` of shape ``[B, *input_shape]`` (snntorch's
    calling convention); ``state`` is a dict keyed by node name (``None``: the state stored by the
    previous call, or zeros after `reset_state`, construction, or a change of batch size, dtype
    or device). `forward_sequence` runs ``[T, B, ...]``.

    Args:
        graph: the NIR graph.
        build: maps ``(name, node)`` to the module that runs it.
        store_state: keep the last state so that ``model(x)`` continues the dynamics (top level only).

    Raises:
        NIRReadError: an edge naming a missing node, a node without inputs, a recurrent state whose
            shape cannot be inferred (the message names the node).
        NotImplementedError: a graph with several Input or Output nodes.
    """

    stateful = True

    def __init__(
        self, graph: nir.NIRGraph, build: Callable[[str, nir.NIRNode], nn.Module], store_state: bool = True
    ) -> None:
        super().__init__()
        names = list(graph.nodes)
        edges = [(str(a), str(b)) for a, b in graph.edges]
        for a, b in edges:
            for n in (a, b):
                if n not in graph.nodes:
                    raise NIRReadError(f"edge ({a!r}, {b!r}) names node {n!r}, which is not in the graph")
        if len(set(edges)) != len(edges):
            dup = next(e for e in edges if edges.count(e) > 1)
            raise NIRReadError(f"edge {dup} appears twice")
        has_in = {b for _, b in edges}
        has_out = {a for a, _ in edges}
        self.entry = _endpoint(graph, nir.Input, names, has_in, has_out)
        self.exit = _endpoint(graph, nir.Output, names, has_in, has_out)
        self._keys = {n: f"n{i}_" + "".join(c if c.isalnum() else "_" for c in n)
                      for i, n in enumerate(names)}
        self.nodes_ = nn.ModuleDict({self._keys[n]: build(n, graph.nodes[n]) for n in names})
        for n in names:
            if n != self.entry and n not in has_in:
                raise NIRReadError(f"node {n!r} has no incoming edge and is not the graph's input")
        delayed = self._cut_cycles(names, edges)
        self.order = _toposort(names, [e for e in edges if e not in delayed])
        assert self.order is not None
        self.preds = {n: [(a, (a, b) in delayed) for a, b in edges if b == n] for n in names}
        self.delay_shapes: dict[str, tuple[int, ...]] = {}
        for a, _ in delayed:
            self.delay_shapes[a] = self._shape_of(a, graph.nodes[a])
        self.input_shape = _input_shape(graph, self.entry, edges)
        self.store_state = store_state
        self._stored: dict[str, Any] | None = None
        self._stored_key: tuple[Any, ...] | None = None

    def _cut_cycles(self, names: list[str], edges: list[tuple[str, str]]) -> set[tuple[str, str]]:
        succ = {n: [b for a, b in edges if a == n] for n in names}
        delayed: set[tuple[str, str]] = set()
        for comp in _sccs(names, succ):
            cs = set(comp)
            inner = [(a, b) for a, b in edges if a in cs and b in cs]
            if not inner:
                continue
            cut = {(a, b) for a, b in inner if getattr(self.node(a), "stateful", False)}
            if _toposort(comp, [e for e in inner if e not in cut]) is None:
                cut = set(inner[-1:]) | cut
                while _toposort(comp, [e for e in inner if e not in cut]) is None:
                    cut.add(next(e for e in inner if e not in cut))
            delayed |= cut
        return delayed

    def _shape_of(self, name: str, node: nir.NIRNode) -> tuple[int, ...]:
        shape = getattr(self.node(name), "shape", None)
        if shape:
            return tuple(shape)
        out = getattr(node, "output_type", None)
        if isinstance(out, dict) and out.get("output") is not None and len(out["output"]):
            return tuple(int(s) for s in out["output"])
        raise NIRReadError(
            f"node {name!r} ({type(node).__name__}) closes a cycle but its output shape is unknown; "
            "give its parameters the layer's shape"
        )

    def node(self, name: str) -> nn.Module:
        """The module that runs node ``name``."""
        return self.nodes_[self._keys[name]]

    def reset_state(self) -> None:
        """Forget the stored state: the next call without ``state`` starts from zero."""
        self._stored = None
        self._stored_key = None

    def _step(
        self, x: Tensor, state: dict[str, Any] | None
    ) -> tuple[Tensor, dict[str, Any], dict[str, Tensor]]:
        if not isinstance(x, Tensor):
            raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
        if self.input_shape is not None and tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(
                f"x has shape {tuple(x.shape)}; the graph's input {self.entry!r} expects "
                f"[B, {', '.join(map(str, self.input_shape))}] (a batch dimension first)"
            )
        state = state or {}
        prev = state.get(_PREV, {})
        values: dict[str, Tensor] = {}
        new: dict[str, Any] = {}
        for name in self.order:
            ins = [x] if name == self.entry else []
            for src, late in self.preds[name]:
                if late:
                    v = prev.get(src)
                    ins.append(x.new_zeros((x.shape[0], *self.delay_shapes[src])) if v is None else v)
                else:
                    ins.append(values[src])
            m = self.node(name)
            if getattr(m, "multi_input", False):
                inp: Any = ins
            else:
                inp = ins[0]
                for v in ins[1:]:
                    inp = inp + v
            if getattr(m, "stateful", False):
                values[name], new[name] = m(inp, state=state.get(name))
            else:
                values[name] = m(inp)
        new[_PREV] = {src: values[src] for src in self.delay_shapes}
        return values[self.exit], new, values

    def forward(self, x: Tensor, state: dict[str, Any] | None = None) -> tuple[Tensor, dict[str, Any]]:
        """One step: ``x`` ``[B, *input_shape]`` -> ``(out [B, *output_shape], state)``."""
        key = (x.shape[0], x.dtype, x.device) if isinstance(x, Tensor) else None
        if state is None and self.store_state and self._stored_key == key:
            state = self._stored
        out, new, _ = self._step(x, state)
        if self.store_state:
            self._stored, self._stored_key = new, key
        return out, new

    def forward_sequence(
        self, x: Tensor, state: dict[str, Any] | None = None, record: Sequence[str] = ()
    ) -> Tensor | tuple[Tensor, dict[str, Tensor]]:
        """Run a time-major sequence ``x`` ``[T, B, *input_shape]``.

        Args:
            x: the input sequence.
            state: the initial state (default as in `forward`).
            record: node names whose outputs to return for every step.

        Returns:
            ``out [T, B, ...]``; with ``record``, ``(out, {name: [T, B, ...]})``.

        Raises:
            ValueError: if ``x`` has no time dimension or a recorded name is not a node.
        """
        if not isinstance(x, Tensor) or x.dim() < 2 or x.shape[0] == 0:
            raise ValueError(f"x must be a [T, B, ...] tensor with T >= 1, got {getattr(x, 'shape', x)}")
        unknown = [n for n in record if n not in self._keys]
        if unknown:
            raise ValueError(f"record: {unknown} are not nodes of the graph ({list(self._keys)})")
        outs, rec = [], {n: [] for n in record}
        for t in range(x.shape[0]):
            key = (x.shape[1], x.dtype, x.device)
            if state is None and self.store_state and self._stored_key == key:
                state = self._stored
            out, state, values = self._step(x[t], state)
            if self.store_state:
                self._stored, self._stored_key = state, key
            outs.append(out)
            for n in record:
                rec[n].append(values[n])
        y = torch.stack(outs)
        return (y, {n: torch.stack(v) for n, v in rec.items()}) if record else y
