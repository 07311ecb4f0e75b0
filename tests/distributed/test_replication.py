"""nn.DataParallel-style replicas of every neuron class compute like the original, each with its own state.

``nn.parallel.replicate`` builds replicas with ``module._replicate_for_data_parallel()``, sets the
parameters as non-leaf copies and, on the source device, hands the replica the original's buffer
tensors themselves. :func:`_replicate` does the same on CPU (buffers shared, the worst case), so an
in-place write to a hidden state, or a state stored on the original module, would show here.
The reference is the original module run on the whole batch: a replica must not change what the
neuron computes, only where.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable

import pytest
import torch
from torch import Tensor, nn

import spikeforge as snn
from spikeforge.neurons import SpikingNeuron
from tests.contracts.specs import NEURON_SPECS

pytestmark = pytest.mark.filterwarnings("ignore:inhibition is only defined:UserWarning")
T = 4


def _replicate(module: nn.Module, n: int) -> list[nn.Module]:
    """``n`` replicas as ``nn.parallel.replicate`` makes them for the source device, on CPU."""
    out = []
    for _ in range(n):
        copies = {m: m._replicate_for_data_parallel() for m in module.modules()}
        for m, r in copies.items():
            for key, child in m._modules.items():
                setattr(r, key, copies[child])
            for key, p in m._parameters.items():
                setattr(r, key, p.view_as(p))
        out.append(copies[module])
    return out


# (name, factory, per-step input shape [B, ...] with an even B); the specs cover the stepping families
_EXTRA: list[tuple[str, Callable[..., nn.Module], tuple[int, ...]]] = [
    ("deltaleaky", lambda **kw: snn.DeltaLeaky(beta=0.8, delta_threshold=0.2, **kw), (4, 3)),
    ("stateleaky", lambda **kw: snn.StateLeaky(beta=0.8, channels=3, **kw), (4, 3)),
    ("linearleaky", lambda **kw: snn.LinearLeaky(beta=0.8, in_features=3, out_features=5, **kw), (4, 3)),
    ("leakyparallel", lambda **kw: snn.LeakyParallel(input_size=3, hidden_size=5, beta=0.8, **kw), (4, 3)),
    (
        "associativeleaky",
        lambda **kw: snn.AssociativeLeaky(in_dim=3, d_value=2, d_key=2, num_spiking_neurons=4, **kw),
        (4, 3),
    ),
]
_CASES = [(s.name, s.build, (2 * s.input_shape[0], *s.input_shape[1:])) for s in NEURON_SPECS] + _EXTRA


def _has_state(build: Callable[..., nn.Module]) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module = build()
    return isinstance(module, SpikingNeuron) and bool(module._state_names)


_STEPPING = [c for c in _CASES if _has_state(c[1])]


def test_every_public_neuron_class_is_covered() -> None:
    classes = {type(build()) for _, build, _ in _CASES}
    names = [name for name in snn.neurons.__all__ if name not in ("SpikingNeuron", "LIF")]
    exported = [getattr(snn.neurons, name) for name in names]
    public = {obj for obj in exported if isinstance(obj, type)} - {  # classes (not reset_traced)
        snn.neurons.RecurrentOneToOne  # a building block of RLeaky (covered through it), not a neuron
    }
    assert public <= classes, f"no replication case for {sorted(c.__name__ for c in public - classes)}"


def _inputs(shape: tuple[int, ...], gain: float = 1.5) -> Tensor:
    g = torch.Generator().manual_seed(11)
    return torch.rand(T, *shape, generator=g) * gain


def _first(out: object) -> Tensor:
    return out[0] if isinstance(out, tuple) else out  # type: ignore[index,return-value]


def _grads(module: nn.Module) -> list[Tensor]:
    return [p.grad.clone() for p in module.parameters() if p.grad is not None]


@pytest.mark.parametrize(("name", "build", "shape"), _CASES, ids=[c[0] for c in _CASES])
def test_replicas_of_a_split_batch_equal_the_original_on_the_whole_batch(
    name: str, build: Callable[..., nn.Module], shape: tuple[int, ...]
) -> None:
    """forward_sequence on two replicas with half the batch each == the original on the full batch:
    outputs, and the gradients that reach the input and the original's parameters."""
    original = build()
    reference = copy.deepcopy(original)
    xs, xs_ref = _inputs(shape).requires_grad_(), _inputs(shape).requires_grad_()
    half = shape[0] // 2
    replicas = _replicate(original, 2)
    parts = [r.forward_sequence(xs[:, i * half:(i + 1) * half]) for i, r in enumerate(replicas)]
    spk = torch.cat([_first(p) for p in parts], 1)
    spk_ref = _first(reference.forward_sequence(xs_ref))
    torch.testing.assert_close(spk, spk_ref)
    weights = torch.linspace(0.5, 1.5, spk_ref.numel()).reshape(spk_ref.shape)
    (spk * weights).sum().backward()
    (spk_ref * weights).sum().backward()
    torch.testing.assert_close(xs.grad, xs_ref.grad)
    got, want = _grads(original), _grads(reference)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize(("name", "build", "shape"), _STEPPING, ids=[c[0] for c in _STEPPING])
def test_init_hidden_replicas_keep_their_own_state(
    name: str, build: Callable[..., nn.Module], shape: tuple[int, ...]
) -> None:
    """init_hidden=True: each replica steps with its own state; the original's state is untouched."""
    original = build(init_hidden=True)
    xs = _inputs(shape)
    original(xs[0])  # the original holds a state of the full batch
    stored = [getattr(original, s).clone() for s in original._state_names]
    reference = copy.deepcopy(original)
    reference.reset_hidden()  # replicas see a batch of another size, so they start from zero
    replicas = _replicate(original, 2)
    half = shape[0] // 2
    spikes: list[list[Tensor]] = [[], []]
    for x in xs[1:]:
        for i, r in enumerate(replicas):
            spikes[i].append(_first(r(x[i * half:(i + 1) * half])))
    want = [_first(reference(x)) for x in xs[1:]]
    for t, w in enumerate(want):
        torch.testing.assert_close(torch.cat([spikes[0][t], spikes[1][t]]), w)
    for s, before in zip(original._state_names, stored):
        torch.testing.assert_close(getattr(original, s), before, atol=0, rtol=0)
    for s in original._state_names:
        owners = [getattr(m, s) for m in (original, *replicas)]
        assert [o.shape[0] for o in owners] == [shape[0], half, half]
        ptrs = {o.untyped_storage().data_ptr() for o in owners}
        assert len(ptrs) == 3, f"{s} shares storage between the original and a replica"
        torch.testing.assert_close(torch.cat(owners[1:]), getattr(reference, s))


def test_linearleaky_replica_does_not_store_its_membrane_on_the_original() -> None:
    original = snn.LinearLeaky(beta=0.8, in_features=3, out_features=5)
    (replica,) = _replicate(original, 1)
    replica(_inputs((4, 3)))
    assert replica.mem.shape == (T, 4, 5)
    assert getattr(original, "mem", None) is None
