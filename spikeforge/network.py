"""``SequentialSNN``: a feed-forward spiking network run over whole time-major sequences.

Stateless layers (Linear, Conv, pooling, dropout, flatten, batch norm, ...) are applied once to the
``T*B`` samples of the sequence; spiking neurons run through `SpikingNeuron.forward_sequence`
(a fused kernel when one fits, else the step loop). No Python loop per time step is needed. How each
layer is run (memory layout, time chunks, spikes kept as bool masks) is decided in ``spikeforge._seqplan``.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from . import _seqplan as _plan
from ._hooks import hooked
from .neurons import SpikingNeuron


class LayerTrace(NamedTuple):
    """What one neuron layer of a `SequentialSNN` produced over the sequence.

    Attributes:
        index: the layer's position in the container.
        spk: spikes ``[T, B, ...]``.
        states: every hidden state by name (e.g. ``{"mem": [T, B, ...]}``), at every step.
    """

    index: int
    spk: Tensor
    states: dict[str, Tensor]


def _is_sequence_neuron(layer: nn.Module) -> bool:
    return isinstance(layer, SpikingNeuron) and type(layer)._step_fn is not None


def _expected_input(layer: nn.Module, x: Tensor) -> str | None:
    """What ``[T, B, ...]`` input the first layer needs, when ``x`` does not give it (else None).

    Known for ``nn.Linear`` (last dim ``in_features``) and ``nn.ConvNd`` (``[T, B, C, *spatial]``);
    other layers (and lazy ones) are not checked here.
    """
    if isinstance(layer, nn.modules.lazy.LazyModuleMixin):
        return None
    if isinstance(layer, nn.Linear):
        if x.dim() >= 3 and x.shape[-1] == layer.in_features:
            return None
        return f"[T, B, ..., {layer.in_features}] for its first layer {layer!r}"
    if isinstance(layer, nn.modules.conv._ConvNd):
        n = len(layer.kernel_size)
        if x.dim() == 3 + n and x.shape[2] == layer.in_channels:
            return None
        spatial = ", ".join(("L",) if n == 1 else ("H", "W") if n == 2 else ("D", "H", "W"))
        return f"[T, B, {layer.in_channels}, {spatial}] for its first layer {layer!r}"
    return None


def _check_input(net: nn.Sequential, x: object) -> None:
    """Raise a clear error unless ``x`` is a time-major ``[T, B, ...]`` tensor with T >= 1 that fits
    the first layer (where that layer's input is known)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"SequentialSNN: x must be a time-major tensor [T, B, ...], got {type(x).__name__}")
    if x.dim() < 2:
        raise ValueError(
            f"SequentialSNN: x must be a time-major tensor [T, B, ...], got shape {tuple(x.shape)}"
        )
    if x.shape[0] == 0:
        raise ValueError(
            f"SequentialSNN: x must have T >= 1 time steps (dim 0 of [T, B, ...]), got shape {tuple(x.shape)}"
        )
    need = _expected_input(net[0], x) if len(net) else None
    if need is not None:
        one_step = _expected_input(net[0], x.unsqueeze(0)) is None
        hint = " (one time step without the time axis? use x.unsqueeze(0))" if one_step else ""
        raise ValueError(
            f"SequentialSNN: x must be time-major [T, B, ...]; got shape {tuple(x.shape)} (read as "
            f"T={x.shape[0]}, B={x.shape[1]}, per-sample {tuple(x.shape[2:])}) but the network needs "
            f"{need}{hint}"
        )


class SequentialSNN(nn.Sequential):
    """A ``nn.Sequential`` of stateless layers and spiking neurons over time-major input.

    Args:
        *layers: modules applied in order. Neurons from `spikeforge.neurons` that have a step
            function (``Leaky``, ``Synaptic``, ``Alpha``, ``Lapicque``, ``RLeaky``, ``RSynaptic``) run
            over the sequence; any other module is treated as stateless and applied to ``[T*B, ...]``.
        carry_state: keep each neuron's final state and start the next call from it (for truncated
            BPTT over consecutive chunks of one stream; call `reset_state` between streams).
            Default False: every call starts from zero states, so nothing leaks between batches.

    Shapes: input ``[T, B, ...]``; output spikes of the last layer ``[T, B, ...]`` (a stateless last
    layer gives its output). dtype and device follow the input. On CPU, 2-D convolutions and
    poolings run on channels-last frames (faster; results agree to rounding); custom layers get
    contiguous frames. A neuron with ``init_hidden=True`` stores a detached copy of its last state.

    Raises:
        TypeError: if the input is not a tensor.
        ValueError: if the input is not ``[T, B, ...]`` with ``T >= 1``, or (for a first layer that is
            an ``nn.Linear`` or ``nn.ConvNd``) its per-sample shape does not fit that layer.

    Example:
        >>> import torch, spikeforge as snn
        >>> net = snn.SequentialSNN(torch.nn.Linear(4, 3), snn.Leaky(beta=0.9))
        >>> net(torch.rand(10, 2, 4)).shape
        torch.Size([10, 2, 3])
    """

    def __init__(self, *layers: nn.Module, carry_state: bool = False) -> None:
        super().__init__(*layers)
        self.carry_state = carry_state
        self._carried: dict[int, tuple[Tensor, ...]] = {}

    def reset_state(self) -> None:
        """Forget carried states (called by `spikeforge.utils.reset`)."""
        self._carried = {}

    def forward(  # type: ignore[override]
        self, x: Tensor, record: bool | Sequence[int] = False
    ) -> Tensor | tuple[Tensor, list[LayerTrace]]:
        """Run the network over ``x[T, B, ...]``.

        Unless every layer is recorded (``record=True``), and when every stateless layer acts on each
        frame alone (not batch norm or dropout in training mode) and no layer has hooks, the sequence
        runs in chunks of time steps, the states carried from chunk to chunk (not while compiled or
        under ``torch.func`` transforms). Without autograd (under
        ``torch.no_grad()``, or when nothing requires grad) no layer then holds more than a few MB of
        activations: only the output is whole. With autograd each chunk is its own graph, the
        states' gradients flowing back from chunk to chunk: training keeps what the backward needs
        (the layers' inputs, spikes as bool masks, the neurons' membrane traces) but only one
        chunk's transient activations and gradients at a time. Results equal the whole-sequence run
        (gradients to rounding: sums over time are grouped by chunk).

        Args:
            x: time-major input ``[T, B, ...]``. A static input, the same frames at every step (direct
                encoding), given as a view with stride 0 over time (``x0.expand(T, *x0.shape)``), has
                the stateless layers before the first neuron run once on one step's frames rather than
                on all ``T*B`` (their gradients then sum over time before the layer's backward; the
                results are the same up to rounding).
            record: also return a `LayerTrace` (spikes and every state at every step) per neuron
                layer, e.g. for membrane or spike-count losses: True for every neuron layer (in
                container order), or a list of the positions in the container of the ones wanted,
                traces returned in that order (e.g. ``[-1]``: the output layer's membrane for a
                loss, without keeping the hidden layers' traces alive). With True, traces of layers
                run on channels-last frames are channels-last (strided) views.

        Returns:
            ``out[T, B, ...]`` (contiguous), or ``(out, traces)`` when recording.

        Raises:
            ValueError: if ``record`` is neither a bool nor a list of integer positions, or names a
                position outside the container, a layer that is not a neuron, or one layer twice.
        """
        _check_input(self, x)
        wanted = self._wanted(record)
        starts = self._starts(x.shape[1])
        traces: list[LayerTrace] = []
        prefix = self._prefix(x)
        if not wanted and _plan.time_chunks(self, x, False):
            out, traces, finals = self._run_chunked(x, starts, (), _plan.CHUNK_BYTES, prefix)
        elif record is not True and _plan.grad_chunks(self, False):
            out, traces, finals = self._run_chunked(x, starts, wanted, _plan.GRAD_CHUNK_BYTES, prefix)
        else:
            out, traces, finals, _ = self._run(x, starts, wanted, prefix)
        if self.carry_state:
            # rebind, never mutate: DataParallel replicas share the attribute dict with the original;
            # a copy of the last step, so the whole state trace is not kept alive
            self._carried = {i: tuple(s.detach().clone() for s in st) for i, st in finals.items()}
        out = out.contiguous()
        if record is False:
            return out
        by_index = {t.index: t for t in traces}
        return out, [by_index[i] for i in wanted]  # in the order asked for

    def _wanted(self, record: object) -> tuple[int, ...]:
        """The positions of the neuron layers to record, in the order asked for."""
        neurons = [i for i, m in enumerate(self) if _is_sequence_neuron(m)]
        if isinstance(record, bool):
            return tuple(neurons) if record else ()
        if not isinstance(record, (list, tuple, range)):
            raise ValueError(f"SequentialSNN: record must be True, False or a list of positions of neuron "
                             f"layers (here {neurons}), got {record!r}")
        out: list[int] = []
        for r in record:
            try:
                if isinstance(r, bool) or "bool" in str(getattr(r, "dtype", "")):
                    raise TypeError
                i = operator.index(r)  # also numpy integers and integer 0-d tensors
            except TypeError:
                raise ValueError(f"SequentialSNN: record must be True, False or a list of positions of "
                                 f"neuron layers (here {neurons}), got {record!r}") from None
            if not -len(self) <= i < len(self):
                raise ValueError(f"SequentialSNN: record names position {i}, outside the container's "
                                 f"{len(self)} layers; the neuron layers are at {neurons}")
            if i % len(self) not in neurons:
                raise ValueError(f"SequentialSNN: record names layer {i} ({type(self[i]).__name__}), which "
                                 f"is not a neuron layer; the neuron layers are at {neurons}")
            if i % len(self) in out:
                raise ValueError(f"SequentialSNN: record names layer {i % len(self)} twice ({record!r})")
            out.append(i % len(self))
        return tuple(out)

    def _starts(self, batch: int) -> dict[int, tuple[Tensor, ...]]:
        if not self.carry_state:
            return {}
        return {i: st for i, st in self._carried.items() if st[0].shape[0] == batch}

    def _prefix(self, x: Tensor) -> tuple[Tensor, int] | None:
        """For a static input (`_plan.static_input`: one step's frames viewed at every step), the
        output of the stateless layers before the first neuron run once on ``x[:1]``, and the position of
        the first layer not run: ``(h[1, B, ...], j)``; else None. Only layers that act per frame and have
        no hooks (a hooked layer sees all ``T*B`` frames) take part."""
        if not _plan.static_input(x):
            return None
        h, j = x[:1], 0
        for j, layer in enumerate(self):  # noqa: B007 - j is the first layer not run
            if _is_sequence_neuron(layer) or not _plan.per_frame(layer) or hooked(layer, backward=True):
                break
            h = _plan.apply_layer(layer, h)
        else:
            j = len(self)
        return (h, j) if j else None

    def _run(self, x: Tensor, starts: dict[int, tuple[Tensor, ...]], record: tuple[int, ...],
             prefix: tuple[Tensor, int] | None = None,
             ) -> tuple[Tensor, list[LayerTrace], dict[int, tuple[Tensor, ...]], int]:
        """One pass over ``x``: output, traces, final states by layer, widest activation per frame.
        ``prefix`` (`_prefix`): the first layers' output for one step, viewed at each of ``x``'s steps."""
        h = x
        traces: list[LayerTrace] = []
        finals: dict[int, tuple[Tensor, ...]] = {}
        widest = math.prod(h.shape[2:])
        spikes = False  # h holds only 0s and 1s
        skip = 0
        if prefix is not None:
            h0, skip = prefix
            h = h0.expand(x.shape[0], *h0.shape[1:])
            widest = max(widest, math.prod(h.shape[2:]))
        for i, layer in enumerate(self):
            if i < skip:
                continue
            if _is_sequence_neuron(layer):
                h, trace, finals[i] = _run_neuron(i, layer, h, starts.get(i), i in record)
                spikes = _plan.spike_output(layer)
                if trace is not None:
                    traces.append(trace)
            else:
                h = _plan.apply_layer(layer, h, spikes)
                spikes = spikes and _plan.keeps_spikes(layer)
            widest = max(widest, math.prod(h.shape[2:]))
        return h, traces, finals, widest

    def _run_chunked(self, x: Tensor, starts: dict[int, tuple[Tensor, ...]], record: tuple[int, ...],
                     budget: int, prefix: tuple[Tensor, int] | None = None,
                     ) -> tuple[Tensor, list[LayerTrace], dict[int, tuple[Tensor, ...]]]:
        """`_run` over chunks of time steps, each starting from the previous chunk's final states (with
        autograd their gradients flow back through them, so the backward holds one chunk's gradients at
        a time), the output and the recorded traces placed chunk by chunk into tensors for the whole
        sequence (`_Whole`). The first chunk is one step: it measures the widest activation per frame,
        which sizes the others under ``budget`` bytes. The chunks depend only on the shapes, never on
        earlier calls, so that a run resumed in a new process rounds as the uninterrupted one did."""
        T, B = x.shape[:2]
        first, first_traces, states, widest = self._run(x[:1], starts, record, prefix)
        if T == 1:
            return first, first_traces, states
        whole = _Whole(T, first, first_traces)
        del first, first_traces
        k = _plan.chunk_steps(T - 1, B, widest, x.element_size(), budget)
        for t in range(1, T, k):
            # each chunk starts from the last step's own memory: a view into a trace would keep the
            # previous chunk's whole trace alive (the float spike trace of a recurrent layer, which its
            # op saves as bools); the fused ops already return their final states as copies
            states = {i: tuple(_own(s) for s in st) for i, st in states.items()}
            h, traces, states, _ = self._run(x[t:t + k], states, record, prefix)
            whole.place(t, h, traces)
        return whole.out, whole.traces(), states


def _own(state: Tensor) -> Tensor:
    """``state``, or a copy of it when it is a view into a larger tensor (a row of a trace). Not
    `spikeforge.ops._masks._owner`, which also compares storage offsets: ``torch.compile`` cannot trace
    ``storage_offset()``, and chunks run under it."""
    base = state._base
    return state if base is None or base.numel() == state.numel() else state.clone()


class _Whole:
    """Tensors for the whole sequence (output, recorded spikes and states), filled chunk by chunk."""

    def __init__(self, T: int, out: Tensor, traces: list[LayerTrace]) -> None:
        def alloc(piece: Tensor) -> Tensor:
            return _place(piece.new_empty((T, *piece.shape[1:])), piece, 0)

        self.out = alloc(out)
        self._traces = [(tr.index, alloc(tr.spk), {k: alloc(v) for k, v in tr.states.items()})
                        for tr in traces]

    def place(self, t: int, out: Tensor, traces: list[LayerTrace]) -> None:
        self.out = _place(self.out, out, t)
        for j, tr in enumerate(traces):
            i, spk, states = self._traces[j]
            self._traces[j] = (i, _place(spk, tr.spk, t),
                               {k: _place(v, tr.states[k], t) for k, v in states.items()})

    def traces(self) -> list[LayerTrace]:
        return [LayerTrace(i, spk, states) for i, spk, states in self._traces]


def _place(whole: Tensor, piece: Tensor, t: int) -> Tensor:
    """``whole[t:t + n] = piece``: through `_Place` when a gradient must flow back to ``piece``, else a
    plain copy (inference, and what ``torch.compile`` traces there)."""
    if piece.requires_grad:
        return _Place.apply(whole, piece, t)
    whole[t:t + piece.shape[0]] = piece
    return whole


class _Place(torch.autograd.Function):
    """``out[t:t + n] = piece`` in place (``out`` preallocated for the whole sequence, so that no chunk's
    output outlives its copy, as the pieces of a ``torch.cat`` would). The backward gives ``piece`` its
    slice of the gradient and hands the gradient on unchanged to the earlier pieces (a view, no copy:
    the pieces' slices never overlap, and the first ``out`` needs no gradient)."""

    @staticmethod
    def forward(ctx: Any, out: Tensor, piece: Tensor, t: int) -> Tensor:
        out[t:t + piece.shape[0]] = piece
        ctx.mark_dirty(out)
        ctx.span = (t, piece.shape[0])
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, Tensor, None]:
        t, n = ctx.span
        return grad, grad[t:t + n], None


def _run_neuron(i: int, neuron: SpikingNeuron, h: Tensor, start: tuple[Tensor, ...] | None, record: bool,
                ) -> tuple[Tensor, LayerTrace | None, tuple[Tensor, ...]]:
    """Run ``neuron`` over ``h[T, B, ...]`` from ``start`` (None: zeros); return its spikes, its trace
    (with ``record``) and its final states. An element-wise neuron gets channels-last frames as a
    contiguous permutation (``[T, B, H, W, C]``) and gives its outputs back in ``h``'s layout."""
    perm = _plan.dense_order(h) if _plan.elementwise(neuron) else None
    if perm is not None:
        h = h.permute(perm)
        step_perm = tuple(p - 1 for p in perm[1:])
        if start is not None:
            start = tuple(s.permute(step_perm) for s in start)
    if start is None:
        start = tuple(h.new_zeros(s) for s in neuron._state_shapes(h[0]))
    spk, *states = neuron.forward_sequence(h, *start, record=record)
    finals = tuple(s[-1] for s in states) if record else tuple(states)
    if perm is not None:
        back, step_back = _plan.inverse(perm), _plan.inverse(step_perm)
        spk = spk.permute(back)
        states = [s.permute(back) for s in states] if record else states
        finals = tuple(s.permute(step_back) for s in finals)
    if neuron.init_hidden:  # its stored state: a copy of the last step, not a view of the whole trace
        neuron._set_states(tuple(s.detach().clone() for s in finals))
    trace = LayerTrace(i, spk, dict(zip(neuron._state_names, states))) if record else None
    return spk, trace, finals


__all__ = ["LayerTrace", "SequentialSNN"]
