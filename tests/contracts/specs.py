"""Registry of the stateful neurons that the contract suite (``test_neuron_contracts.py``) runs over.

Spec format (append one ``NeuronSpec`` per neuron/variant to ``NEURON_SPECS``; keep it small):

* ``name``: unique test id, e.g. ``"leaky-zero"``.
* ``cls``: the neuron class; built as ``cls(**kwargs, **overrides)``.
* ``kwargs``: constructor keyword arguments (no ``init_hidden``/``output``: the suite sets those).
* ``factory``: optional ``(**overrides) -> module`` used instead of ``cls(**kwargs)`` when a neuron
  needs more than keyword arguments (it must accept ``init_hidden=`` and ``output=`` overrides).
* ``input_shape``: the per-step input shape ``[B, ...]`` (sequences are ``[T, *input_shape]``).
* ``n_states``: how many states the non-``init_hidden`` forward returns after ``spk``; the forward
  takes them back in the same order (``spk, *states = n(x, *states)``; RLeaky/RSynaptic are the
  exception handled by ``state_args``).
* ``state_args``: maps the returned states to forward's state arguments (default: identity).
* ``input_gain``: scale of the random test input (so that the neuron spikes within a few steps).
* ``compile``: also run the (slow) ``torch.compile(fullgraph=True)`` contract for this spec; mark
  one small spec per family.
* ``skip``: names of contracts that do not apply (e.g. ``"reset_mechanism"`` for a neuron without
  resets); each skip should say why in a comment.

Every module must: step with ``forward(x, *state_args)``, run ``forward_sequence(xs, *states,
record=False)``, have ``reset_hidden``/``detach_hidden``, and follow the snntorch output rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import Tensor, nn

import spikeforge as snn
from spikeforge import surrogate


def _identity(spk: Tensor, states: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
    return states


def _with_spike(spk: Tensor, states: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
    """RLeaky/RSynaptic: forward returns ``(spk, *rest)`` and takes ``(x, spk, *rest)``."""
    return (spk, *states)


@dataclass(frozen=True)
class NeuronSpec:
    name: str
    cls: type[nn.Module]
    kwargs: dict[str, Any]
    input_shape: tuple[int, ...]
    n_states: int
    factory: Callable[..., nn.Module] | None = None
    state_args: Callable[[Tensor, tuple[Tensor, ...]], tuple[Tensor, ...]] = _identity
    input_gain: float = 1.0
    compile: bool = False
    skip: frozenset[str] = field(default_factory=frozenset)

    def build(self, **overrides: Any) -> nn.Module:
        if self.factory is not None:
            return self.factory(**overrides)
        return self.cls(**{**self.kwargs, **overrides})

    def __str__(self) -> str:
        return self.name


_LEARN = {"learn_beta": True, "learn_threshold": True}

NEURON_SPECS: list[NeuronSpec] = [
    # Leaky: every reset, immediate reset, graded/learnable spikes, per-neuron parameters, quant-free
    NeuronSpec("leaky", snn.Leaky, {"beta": 0.8, **_LEARN}, (3, 4), 1, compile=True),
    NeuronSpec("leaky-zero", snn.Leaky, {"beta": 0.8, "reset_mechanism": "zero"}, (3, 4), 1),
    NeuronSpec("leaky-none", snn.Leaky, {"beta": 0.8, "reset_mechanism": "none"}, (3, 4), 1),
    NeuronSpec(
        "leaky-nodelay-graded",
        snn.Leaky,
        {"beta": 0.7, "reset_delay": False, "graded_spikes_factor": 2.0, "learn_graded_spikes_factor": True},
        (3, 4),
        1,
    ),
    NeuronSpec(
        "leaky-zero-nodelay-perneuron",
        snn.Leaky,
        {
            "beta": [0.2, 0.5, 0.8, 0.95],
            "threshold": [0.5, 1.0, 1.5, 0.8],
            "reset_mechanism": "zero",
            "reset_delay": False,
            "spike_grad": surrogate.fast_sigmoid(slope=10),
        },
        (3, 4),
        1,
    ),
    NeuronSpec("leaky-inhibition", snn.Leaky, {"beta": 0.8, "inhibition": True}, (3, 5), 1),
    NeuronSpec("leaky-conv", snn.Leaky, {"beta": 0.9, "spike_grad": surrogate.sigmoid()}, (2, 2, 3, 3), 1),
    # Synaptic
    NeuronSpec(
        "synaptic",
        snn.Synaptic,
        {"alpha": 0.9, "beta": 0.8, "learn_alpha": True, **_LEARN},
        (3, 4),
        2,
        compile=True,
    ),
    NeuronSpec(
        "synaptic-zero-nodelay",
        snn.Synaptic,
        {"alpha": 0.7, "beta": 0.6, "reset_mechanism": "zero", "reset_delay": False},
        (3, 4),
        2,
    ),
    NeuronSpec(
        "synaptic-none", snn.Synaptic, {"alpha": 0.7, "beta": 0.6, "reset_mechanism": "none"}, (3, 4), 2
    ),
    # Alpha (default reset "zero")
    NeuronSpec(
        "alpha",
        snn.Alpha,
        {"alpha": 0.9, "beta": 0.8, "learn_alpha": True, **_LEARN},
        (3, 4),
        3,
        compile=True,
    ),
    NeuronSpec(
        "alpha-subtract", snn.Alpha, {"alpha": 0.7, "beta": 0.5, "reset_mechanism": "subtract"}, (3, 4), 3
    ),
    NeuronSpec("alpha-none", snn.Alpha, {"alpha": 0.7, "beta": 0.5, "reset_mechanism": "none"}, (3, 4), 3),
    # Lapicque
    NeuronSpec(
        "lapicque-beta", snn.Lapicque, {"beta": 0.3, "learn_threshold": True}, (3, 4), 1, compile=True
    ),
    NeuronSpec(
        "lapicque-rc-zero",
        snn.Lapicque,
        {"R": 5.1, "C": 5e-3, "time_step": 1e-3, "reset_mechanism": "zero"},
        (3, 4),
        1,
        input_gain=4.0,
    ),
    # RLeaky: one-to-one, linear, conv
    NeuronSpec(
        "rleaky-one2one",
        snn.RLeaky,
        {"beta": 0.8, "V": 0.5, "all_to_all": False, **_LEARN},
        (3, 4),
        1,
        state_args=_with_spike,
        compile=True,
    ),
    NeuronSpec(
        "rleaky-linear-zero",
        snn.RLeaky,
        {"beta": 0.8, "linear_features": 4, "reset_mechanism": "zero"},
        (3, 4),
        1,
        state_args=_with_spike,
    ),
    NeuronSpec(
        "rleaky-linear-nodelay",
        snn.RLeaky,
        {"beta": 0.8, "linear_features": 4, "reset_delay": False, "learn_recurrent": False},
        (3, 4),
        1,
        state_args=_with_spike,
    ),
    NeuronSpec(
        "rleaky-conv",
        snn.RLeaky,
        {"beta": 0.8, "conv2d_channels": 2, "kernel_size": 3, "reset_mechanism": "none"},
        (2, 2, 4, 4),
        1,
        state_args=_with_spike,
    ),
    # RSynaptic
    NeuronSpec(
        "rsynaptic-linear",
        snn.RSynaptic,
        {"alpha": 0.9, "beta": 0.8, "linear_features": 4, "learn_alpha": True, **_LEARN},
        (3, 4),
        2,
        state_args=_with_spike,
        compile=True,
    ),
    NeuronSpec(
        "rsynaptic-one2one-nodelay",
        snn.RSynaptic,
        {"alpha": 0.7, "beta": 0.6, "V": 0.5, "all_to_all": False, "reset_delay": False},
        (3, 4),
        2,
        state_args=_with_spike,
    ),
    NeuronSpec(
        "rsynaptic-conv-zero",
        snn.RSynaptic,
        {"alpha": 0.7, "beta": 0.6, "conv2d_channels": 2, "kernel_size": 3, "reset_mechanism": "zero"},
        (2, 2, 4, 4),
        2,
        state_args=_with_spike,
    ),
]

# SLSTM / SConv2dLSTM (spikeforge/neurons/lstm.py): low thresholds because |h| < 1; input_size !=
# hidden_size on purpose (snntorch 1.0.0 loses the state in that case).
NEURON_SPECS += [
    NeuronSpec("slstm", snn.SLSTM, {"input_size": 4, "hidden_size": 5, "threshold": 0.05}, (3, 4), 2,
               compile=True),
    NeuronSpec(
        "slstm-subtract-nobias",
        snn.SLSTM,
        {"input_size": 4, "hidden_size": 3, "threshold": 0.05, "reset_mechanism": "subtract",
         "learn_threshold": True},
        (3, 4),
        2,
    ),
    NeuronSpec(
        "sconv2dlstm-maxpool-zero",
        snn.SConv2dLSTM,
        {"in_channels": 2, "out_channels": 3, "kernel_size": 3, "max_pool": 2, "threshold": 0.05,
         "reset_mechanism": "zero"},
        (2, 2, 4, 4),
        2,
    ),
]
