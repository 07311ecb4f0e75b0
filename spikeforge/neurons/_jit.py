"""TorchScript support of the neurons: what ``torch.jit.trace`` needs, and the one error of
``torch.jit.script``.

Tracing records tensor operations only, so a neuron's stored state (``init_hidden=True``, or the
state continued when no state is passed) would be read once at trace time and never written back.
Under tracing the neurons therefore (1) make the stored state buffers fit the input *outside* the
recorded graph, so that every trace of the same network records the same operations, (2) write
each new state into its buffer in place (``copy_``), which the trace records: the traced module then
carries its state from call to call as the eager module does, and (3) spike through `TraceableSpike`
(tensor operations only, no Python autograd function), so the traced module can be saved with
``torch.jit.save`` and still has the surrogate gradient.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor

from ..surrogate import Surrogate

#: the message of the error raised by ``torch.jit.script`` on a module that holds a spikeforge neuron
SCRIPT_ERROR = (
    "{cls} cannot be compiled by torch.jit.script: spikeforge neurons take surrogate objects, "
    "NamedTuple states and Python step functions that TorchScript cannot type. Use torch.jit.trace "
    "on a network stepped once per call (the traced module keeps and updates the neurons' state), "
    "or torch.compile / torch.export."
)


def is_tracing() -> bool:
    """True while ``torch.jit.trace`` records (``torch.jit.is_tracing`` outside TorchScript)."""
    return torch._C._get_tracing_state() is not None


@contextmanager
def not_traced() -> Iterator[None]:
    """Run the body without recording it in the current ``torch.jit.trace`` graph."""
    state = torch._C._get_tracing_state()
    torch._C._set_tracing_state(None)
    try:
        yield
    finally:
        torch._C._set_tracing_state(state)


def fit_buffers(buffers: Sequence[Tensor], shapes: Sequence[torch.Size], like: Tensor) -> None:
    """Give each stored state buffer the shape in ``shapes`` (zeros in ``like``'s dtype and device)
    where it does not have it, keeping the buffer object (``.data`` is replaced; call untraced)."""
    with torch.no_grad():
        for buf, shape in zip(buffers, shapes):
            if buf.shape != shape or buf.dtype != like.dtype or buf.device != like.device:
                buf.data = like.new_zeros(shape)


def write_buffers(buffers: Sequence[Tensor], states: Sequence[Tensor]) -> None:
    """Write each new state into its buffer in place, so that the trace records the update."""
    for buf, new in zip(buffers, states):
        buf.copy_(new)


@dataclass(frozen=True)
class TraceableSpike:
    """``S = H(x) + (x - sg(x)) * sg(surrogate.grad(x))`` (``sg``: stop-gradient): the value is the
    strict step ``H(x)`` exactly (the second term is an exact zero for a finite gradient) and the
    derivative is ``surrogate.grad(x)``, the same as the surrogate's autograd function, written with
    tensor operations that ``torch.jit.trace`` records and ``torch.jit.save`` can store."""

    surrogate: Surrogate

    def __call__(self, x: Tensor) -> Tensor:
        return (x > 0).to(x.dtype) + (x - x.detach()) * self.surrogate.grad(x).detach()


def traceable(spike_fn: Callable[[Tensor], Tensor]) -> Callable[[Tensor], Tensor]:
    """`TraceableSpike` for a surrogate whose vector-Jacobian product is ``grad_out * grad(x)``;
    any other spike function (a user's callable, `spikeforge.surrogate.CustomSurrogate`) as it is."""
    if isinstance(spike_fn, Surrogate) and type(spike_fn).vjp is Surrogate.vjp:
        return TraceableSpike(spike_fn)
    return spike_fn


def reset_traced(module: torch.nn.Module) -> None:
    """Zero the neuron states held by a ``torch.jit.trace``-d network, detached from any graph.

    A traced network keeps each neuron's state in its buffers (``mem``, ``syn``, ...) and updates them
    at every call; tracing itself runs the network a few times (the trace and its check), so call this
    before the first step and between sequences (`spikeforge.utils.reset` does the same for the eager
    network).

    Args:
        module: the traced module (``torch.jit.ScriptModule``); its submodules are recognised as
            spikeforge neurons by their class name. Eager modules are left alone.
    """
    from ._base import SpikingNeuron

    states: dict[str, tuple[str, ...]] = {}
    pending = [SpikingNeuron]
    while pending:
        cls = pending.pop()
        states[cls.__name__] = cls._state_names
        pending += cls.__subclasses__()
    with torch.no_grad():
        for sub in module.modules():
            if isinstance(sub, torch.jit.ScriptModule):
                for name in states.get(getattr(sub, "original_name", ""), ()):
                    getattr(sub, name).detach_().zero_()
