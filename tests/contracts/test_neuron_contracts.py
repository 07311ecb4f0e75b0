"""Contracts that every registered stateful neuron must keep (see ``specs.py`` for the registry).

Written once, parametrised over ``NEURON_SPECS``: stepping equals ``forward_sequence``; explicit
state equals ``init_hidden=True``; reset/detach; ``utils.reset``; pickling and deepcopy; float64;
state_dict round trips; ``torch.compile(fullgraph=True)``; DataParallel replicas; the reset
mechanism as live state; no class-level list that keeps neurons alive.
"""

from __future__ import annotations

import copy
import gc
import io
import weakref
from typing import Any

import pytest
import torch
from torch import Tensor, nn

from spikeforge import utils
from spikeforge.core import RESET_CODES

from .specs import NEURON_SPECS, NeuronSpec

T = 6
pytestmark = pytest.mark.filterwarnings("ignore:inhibition is only defined:UserWarning")


def _inputs(spec: NeuronSpec, dtype: torch.dtype = torch.float32, steps: int = T) -> Tensor:
    g = torch.Generator().manual_seed(1234)
    return ((torch.randn(steps, *spec.input_shape, generator=g) * 0.9 + 0.5) * spec.input_gain).to(dtype)


def _build_pair(spec: NeuronSpec, **overrides: Any) -> tuple[nn.Module, nn.Module]:
    """Two neurons with identical parameters (the second built with ``overrides``)."""
    a = spec.build()
    return a, _like(a, spec, **overrides)


def _like(src: nn.Module, spec: NeuronSpec, **overrides: Any) -> nn.Module:
    """A new neuron built with ``overrides`` that has ``src``'s parameters."""
    n = spec.build(**overrides)
    n.load_state_dict(src.state_dict())
    return n


def _replicate(module: nn.Module) -> nn.Module:
    """What ``nn.parallel.replicate`` does for one device, on CPU: replicas made with
    ``_replicate_for_data_parallel``, parameters set as (non-leaf) plain tensors, buffers shared."""
    copies = {m: m._replicate_for_data_parallel() for m in module.modules()}
    for m, r in copies.items():
        for key, child in m._modules.items():
            setattr(r, key, copies[child])
        for key, p in m._parameters.items():
            setattr(r, key, p * 1)
    return copies[module]


def _step_all(n: nn.Module, spec: NeuronSpec, xs: Tensor) -> tuple[Tensor, list[Tensor]]:
    """Call ``forward`` T times passing the state explicitly; stack spikes and every step's states."""
    spikes, traces, args = [], [], ()
    for x in xs.unbind(0):
        spk, *states = n(x, *args)
        assert len(states) == spec.n_states
        args = spec.state_args(spk, tuple(states))
        spikes.append(spk)
        traces.append(states)
    return torch.stack(spikes), [torch.stack(s) for s in zip(*traces)]


def _stored(n: nn.Module) -> list[Tensor]:
    return [getattr(n, name) for name in n._state_names]


def _loss(spk: Tensor, states: list[Tensor]) -> Tensor:
    g = torch.Generator().manual_seed(7)
    total = (spk * torch.rand(spk.shape, generator=g, dtype=spk.dtype)).sum()
    for s in states:
        total = total + 0.3 * (s * torch.rand(s.shape, generator=g, dtype=s.dtype)).sum()
    return total


def _grads(n: nn.Module, xs: Tensor, loss: Tensor) -> list[Tensor]:
    params = [p for p in n.parameters() if p.requires_grad]
    return list(torch.autograd.grad(loss, [xs, *params], allow_unused=True))


def _assert_all_close(a: list[Tensor | None], b: list[Tensor | None], **tol: Any) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert (x is None) == (y is None)
        if x is not None:
            torch.testing.assert_close(x, y, **tol)


# ----------------------------------------------------------------------------------- sequences
@pytest.mark.parametrize("spec", NEURON_SPECS, ids=str)
def test_stepping_equals_forward_sequence(spec: NeuronSpec) -> None:
    a, b = _build_pair(spec)
    xs_a = _inputs(spec).requires_grad_(True)
    xs_b = xs_a.detach().clone().requires_grad_(True)
    spk_a, trace_a = _step_all(a, spec, xs_a)
    spk_b, *final_b = b.forward_sequence(xs_b)
    assert spk_a.sum() > 0, "test input must make the neuron spike"
    torch.testing.assert_close(spk_b, spk_a)
    for s_a, s_b in zip(trace_a, final_b[-spec.n_states :]):
        torch.testing.assert_close(s_b, s_a[-1])

    spk_r, *rec = b.forward_sequence(xs_b, record=True)
    torch.testing.assert_close(spk_r, spk_a)
    for s_a, s_r in zip(trace_a, rec[-spec.n_states :]):
        torch.testing.assert_close(s_r, s_a)
    _assert_all_close(
        _grads(a, xs_a, _loss(spk_a, trace_a)), _grads(b, xs_b, _loss(spk_r, rec[-spec.n_states :]))
    )


@pytest.mark.parametrize("spec", NEURON_SPECS, ids=str)
def test_forward_sequence_with_init_hidden_continues_and_stores(spec: NeuronSpec) -> None:
    a, b = _build_pair(spec, init_hidden=True, output=True)
    x_next = _inputs(spec, steps=1)
    xs = torch.cat([_inputs(spec), x_next])
    spk_a, trace_a = _step_all(_like(a, spec), spec, xs)
    b.forward_sequence(xs[:3])
    spk_b, *final = b.forward_sequence(xs[3:-1])
    torch.testing.assert_close(spk_b, spk_a[3:-1])
    # the stored state is the final one: the next single step continues from it
    spk_next, *states_next = b(xs[-1])
    torch.testing.assert_close(spk_next, spk_a[-1])
    for s_next, s_a in zip(states_next, trace_a):
        torch.testing.assert_close(s_next, s_a[-1])


@pytest.mark.parametrize("spec", NEURON_SPECS, ids=str)
def test_explicit_state_equals_init_hidden(spec: NeuronSpec) -> None:
    explicit, hidden = _build_pair(spec, init_hidden=True)
    with_output = _like(explicit, spec, init_hidden=True, output=True)
    xs = _inputs(spec)
    spk_e, trace_e = _step_all(explicit, spec, xs)
    for t, x in enumerate(xs.unbind(0)):
        spk_h = hidden(x)
        assert isinstance(spk_h, Tensor)
        torch.testing.assert_close(spk_h, spk_e[t])
        spk_o, *states_o = with_output(x)
        torch.testing.assert_close(spk_o, spk_e[t])
        assert len(states_o) == spec.n_states
        for s_o, s_e in zip(states_o, trace_e):
            torch.testing.assert_close(s_o, s_e[t])


# ----------------------------------------------------------------------------------- state management
@pytest.mark.parametrize("spec", NEURON_SPECS, ids=str)
def test_reset_and_detach_hidden_on_one_instance(spec: NeuronSpec) -> None:
    n = spec.build(init_hidden=True)
    other, fresh = _like(n, spec, init_hidden=True), _like(n, spec, init_hidden=True)
    xs = _inputs(spec).requires_grad_(True)
    for x in xs.unbind(0):
        n(x)
        other(x)
    assert any(s.grad_fn is not None for s in _stored(n))
    before = [s.detach().clone() for s in _stored(n)]
    n.detach_hidden()
    for s, b in zip(_stored(n), before):
        assert s.grad_fn is None and not s.requires_grad
        torch.testing.assert_close(s, b)
    n.reset_hidden()
    for s, b in zip(_stored(n), before):
        assert s.shape == b.shape and not s.any()
    assert any(s.any() for s in _stored(other)), "reset_hidden on one instance must not touch another"
    torch.testing.assert_close(n(xs[0].detach()), fresh(xs[0].detach()))


@pytest.mark.parametrize("spec", NEURON_SPECS, ids=str)
def test_utils_reset_touches_exactly_the_reachable_neurons(spec: NeuronSpec) -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.top = spec.build(init_hidden=True)
            self.blocks = nn.ModuleList([nn.Sequential(nn.Identity(), spec.build(init_hidden=True))])

        def forward(self, x: Tensor) -> Tensor:
            return self.top(x) + self.blocks[0](x)

    net, outside = Net(), spec.build(init_hidden=True)
    for x in _inputs(spec).unbind(0):
        net(x)
        outside(x)
    inner = net.blocks[0][1]
    assert any(s.any() for s in _stored(net.top) + _stored(inner))
    assert utils.reset(net) is net
    for s in _stored(net.top) + _stored(inner):
        assert not s.any() and s.grad_fn is None
    assert any(s.any() for s in _stored(outside)), "utils.reset must not reach other networks"

    # the class-level call keeps snntorch's meaning: every live instance of that class
    for x in _inputs(spec).unbind(0):
        net(x)
    type(outside).reset_hidden()
    for s in _stored(net.top) + _stored(inner) + _stored(outside):
        assert not s.any()


@pytest.mark.parametrize("spec", NEURON_SPECS, ids=str)
def test_deleted_neuron_is_collected(spec: NeuronSpec) -> None:
    n = spec.build(init_hidden=True)
    n(_inputs(spec)[0])
    ref = weakref.ref(n)
    del n
    gc.collect()
    assert ref() is None, "a class-level registry keeps the neuron alive"


# ----------------------------------------------------------------------------------- serialisation
def _continue(n: nn.Module, spec: NeuronSpec) -> Tensor:
    return torch.stack([n(x) for x in _inputs(spec).unbind(0)])


@pytest.mark.parametrize("spec", NEURON_SPECS, ids=str)
def test_whole_model_pickle_and_deepcopy(spec: NeuronSpec, tmp_path: Any) -> None:
    n = spec.build(init_hidden=True)
    for x in _inputs(spec)[:3].unbind(0):
        n(x)
    path = tmp_path / "model.pt"
    torch.save(n, path)
    loaded = torch.load(path, weights_only=False)
    copied = copy.deepcopy(n)
    buf = io.BytesIO()
    torch.save(nn.Sequential(n), buf)
    buf.seek(0)
    in_seq = torch.load(buf, weights_only=False)[0]
    expected = _continue(n, spec)
    for clone in (loaded, copied, in_seq):
        assert type(clone) is type(n) and clone.reset_mechanism == n.reset_mechanism
        torch.testing.assert_close(_continue(clone, spec), expected)


@pytest.mark.parametrize("spec", NEURON_SPECS, ids=str)
def test_state_dict_round_trip(spec: NeuronSpec) -> None:
    torch.manual_seed(1)
    src = spec.build()
    with torch.no_grad():
        for p in src.parameters():
            p.mul_(0.9).add_(0.01)
    torch.manual_seed(2)
    dst = spec.build()
    missing, unexpected = dst.load_state_dict(src.state_dict())
    assert not missing and not unexpected
    assert list(dst.state_dict()) == list(src.state_dict())
    xs = _inputs(spec)
    torch.testing.assert_close(dst.forward_sequence(xs)[0], src.forward_sequence(xs)[0])
    for s in ("mem", "syn", "syn_exc", "syn_inh", "spk"):
        assert s not in src.state_dict(), "hidden states must not be persistent"


@pytest.mark.parametrize("spec", NEURON_SPECS, ids=str)
def test_float64_end_to_end(spec: NeuronSpec) -> None:
    a, b = _build_pair(spec)
    b = b.double()
    xs32 = _inputs(spec)
    xs64 = xs32.double()
    spk64, trace64 = _step_all(b, spec, xs64)
    spk_seq, *states_seq = b.forward_sequence(xs64)
    for t in (spk64, *trace64, spk_seq, *states_seq):
        assert t.dtype == torch.float64
    spk32, _ = _step_all(a, spec, xs32)
    assert spk32.dtype == torch.float32
    if any(m is not b for m in b.modules()):
        return  # a float32 nn.Linear/Conv2d inside cannot take float64 spikes (torch's rule)
    # float64 input into float32 parameters still gives float64 spikes and states
    c = spec.build()
    c.load_state_dict(a.state_dict())
    spk_mixed, *states_mixed = c(xs64[0])
    assert spk_mixed.dtype == torch.float64 and all(s.dtype == torch.float64 for s in states_mixed)


@pytest.mark.parametrize("spec", [s for s in NEURON_SPECS if s.compile], ids=str)
def test_torch_compile_fullgraph_single_step(spec: NeuronSpec) -> None:
    """One small spec per family, with the ``aot_eager`` backend: the contract is "no graph break"
    and unchanged values/gradients, not generated-code speed (inductor would cost seconds each)."""
    torch._dynamo.reset()
    eager, n = _build_pair(spec)
    compiled = torch.compile(n, fullgraph=True, backend="aot_eager")
    xs = _inputs(spec)
    x_e = xs[0].clone().requires_grad_(True)
    x_c = xs[0].clone().requires_grad_(True)
    out_e = eager(x_e)
    out_c = compiled(x_c)
    for a, b in zip(out_e, out_c):
        torch.testing.assert_close(b, a)
    out_e2 = eager(xs[1], *spec.state_args(out_e[0], tuple(out_e[1:])))
    out_c2 = compiled(xs[1], *spec.state_args(out_c[0], tuple(out_c[1:])))
    for a, b in zip(out_e2, out_c2):
        torch.testing.assert_close(b, a)
    (g_e,) = torch.autograd.grad(sum(o.sum() for o in out_e2), x_e)
    (g_c,) = torch.autograd.grad(sum(o.sum() for o in out_c2), x_c)
    torch.testing.assert_close(g_c, g_e)


@pytest.mark.parametrize("spec", NEURON_SPECS, ids=str)
def test_data_parallel_replica_has_its_own_state(spec: NeuronSpec) -> None:
    n = spec.build(init_hidden=True, output=True)
    xs = _inputs(spec)
    n(xs[0])
    replica = _replicate(n)
    before = [s.clone() for s in _stored(n)]
    out_r = replica(xs[1])
    for s, b in zip(_stored(n), before):
        torch.testing.assert_close(s, b, atol=0, rtol=0)
    out_n = n(xs[1])
    for a, b in zip(out_r, out_n):
        torch.testing.assert_close(a, b)


# ----------------------------------------------------------------------------------- reset mechanism
def _other_mechanism(n: nn.Module) -> str:
    return {"subtract": "zero", "zero": "none", "none": "subtract"}[n.reset_mechanism]


@pytest.mark.parametrize("spec", NEURON_SPECS, ids=str)
def test_setting_reset_mechanism_changes_the_dynamics(spec: NeuronSpec) -> None:
    n, unchanged = _build_pair(spec)
    new = _other_mechanism(n)
    n.reset_mechanism = new
    assert int(n.reset_mechanism_val) == RESET_CODES[new]
    ref = spec.build(reset_mechanism=new)
    ref.load_state_dict(n.state_dict())
    xs = _inputs(spec) * 2
    out_n, out_ref, out_old = (m.forward_sequence(xs, record=True) for m in (n, ref, unchanged))
    for a, b in zip(out_n, out_ref):
        torch.testing.assert_close(a, b)
    assert any(not torch.equal(a, b) for a, b in zip(out_n, out_old)), "the new mechanism had no effect"
    with pytest.raises(ValueError, match="reset_mechanism"):
        n.reset_mechanism = "hard"


@pytest.mark.parametrize("spec", NEURON_SPECS, ids=str)
def test_loading_reset_mechanism_val_changes_the_dynamics(spec: NeuronSpec) -> None:
    n = spec.build()
    new = _other_mechanism(n)
    ref = spec.build(reset_mechanism=new)
    ref.load_state_dict(n.state_dict() | {"reset_mechanism_val": torch.tensor(RESET_CODES[new])})
    n.load_state_dict(ref.state_dict())
    assert n.reset_mechanism == new
    xs = _inputs(spec) * 2
    for a, b in zip(n.forward_sequence(xs, record=True), ref.forward_sequence(xs, record=True)):
        torch.testing.assert_close(a, b)
    bad = n.state_dict() | {"reset_mechanism_val": torch.tensor(7)}
    with pytest.raises(ValueError, match="reset_mechanism_val"):
        n.load_state_dict(bad)
