"""TorchScript support of the neurons: what ``torch.jit.trace`` needs, and the one error of
``torch.jit.script``.

Tracing records tensor operations only, so a neuron's stored state (``init_hidden=True``, or the
state continued when no state is passed) would be read once at trace time and never written back.
Under tracing the neurons therefore (1) make the stored state buffers fit the input *outside* the
recorded graph, so that every trace of the same network records the same operations, and (2) write
each new state into its buffer in place (``copy_``), which the trace records: the traced module then
carries its state from call to call as the eager module does.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import Tensor

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
