"""The dense-recurrent op seen through RLeaky/RSynaptic and SequentialSNN, when it must not be used, and
as a ``torch.library`` operator (``opcheck``, ``torch.compile(fullgraph=True)``)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import spikeforge as snn
import spikeforge.ops  # noqa: F401 - registers the kernels
from spikeforge import surrogate
from spikeforge.core import RLeakyParams, RLeakyState, rleaky_step
from spikeforge.ops.recurrent import run_rleaky_dense, run_rsynaptic_dense
from spikeforge.runner import find_kernel

pytest.importorskip("numba")

LEARN = {"learn_beta": True, "learn_threshold": True}


def _neuron(name: str, kind: str, **kw) -> nn.Module:  # noqa: ANN003
    torch.manual_seed(2)
    shape_kw = {"linear_features": 6} if kind == "linear" else {"conv2d_channels": 2, "kernel_size": 3}
    if name == "RSynaptic":
        kw = {"alpha": 0.7, "learn_alpha": True, **kw}
    n = getattr(snn, name)(beta=0.8, threshold=0.7, **shape_kw, **LEARN, **kw)
    with torch.no_grad():
        n.recurrent.weight.mul_(3.0)
    return n


def _input(kind: str, T: int = 15) -> torch.Tensor:
    gen = torch.Generator().manual_seed(4)
    shape = (T, 3, 6) if kind == "linear" else (T, 2, 2, 4, 4)
    return torch.rand(shape, generator=gen) * 1.2


@pytest.mark.parametrize("name", ["RLeaky", "RSynaptic"])
@pytest.mark.parametrize("kind", ["linear", "conv"])
@pytest.mark.parametrize("reset,delay", [("subtract", True), ("zero", False), ("none", True)])
def test_forward_sequence_equals_stepping_forward(name, kind, reset, delay):
    """Same spikes and final states bit for bit as T calls of ``forward``; same gradients of every
    parameter (beta, threshold, alpha, W, b) and of the input."""
    seq = _neuron(name, kind, reset_mechanism=reset, reset_delay=delay)
    stepped = _neuron(name, kind, reset_mechanism=reset, reset_delay=delay)
    xa = _input(kind).requires_grad_()
    xb = xa.detach().clone().requires_grad_()
    state = seq._state_tuple(tuple(torch.zeros(xa.shape[1:]) for _ in seq._state_names))
    assert find_kernel(type(seq)._step_fn, xa, state, seq.params(), seq.firing()) in (
        run_rleaky_dense, run_rsynaptic_dense)
    spk, *final = seq.forward_sequence(xa)
    states = [torch.zeros(xb.shape[1:]) for _ in stepped._state_names]
    spikes = []
    for x_t in xb.unbind(0):
        out = stepped(x_t, *states)
        spikes.append(out[0])
        states = list(out)
    assert 0 < spk.sum() < spk.numel()
    assert torch.equal(spk, torch.stack(spikes))
    for a, b in zip(final, states):
        assert torch.equal(a, b)
    loss_a = spk.sum() + final[-1].pow(2).sum()
    loss_b = torch.stack(spikes).sum() + states[-1].pow(2).sum()
    got = torch.autograd.grad(loss_a, [xa, *seq.parameters()])
    want = torch.autograd.grad(loss_b, [xb, *stepped.parameters()])
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_sequential_snn_with_recurrent_layer_equals_step_loop():
    torch.manual_seed(3)
    fc1, rlif, fc2 = nn.Linear(5, 8), snn.RLeaky(beta=0.9, linear_features=8), nn.Linear(8, 3)
    with torch.no_grad():
        fc2.weight.mul_(4.0)
        fc2.bias.add_(0.3)
    net = snn.SequentialSNN(fc1, rlif, fc2, snn.Leaky(beta=0.8))
    x = torch.rand(20, 4, 5) * 2
    out = net(x)
    spk1, mem1 = torch.zeros(4, 8), torch.zeros(4, 8)
    mem2 = torch.zeros(4, 3)
    want = []
    for x_t in x.unbind(0):
        spk1, st = rleaky_step(fc1(x_t), RLeakyState(spk1, mem1), rlif.params(), rlif.firing())
        mem1 = st.mem
        spk2, mem2 = net[3](fc2(spk1), mem2)
        want.append(spk2)
    want = torch.stack(want)
    assert out.sum() > 0
    assert torch.equal(out, want)
    got = torch.autograd.grad(out.sum(), [fc1.weight, rlif.recurrent.weight])
    ref = torch.autograd.grad(want.sum(), [fc1.weight, rlif.recurrent.weight])
    for a, b in zip(got, ref):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def _find(rec: nn.Module, xs: torch.Tensor, **firing) -> object:  # noqa: ANN003
    shape = xs.shape[1:]
    state = RLeakyState(torch.zeros(shape, dtype=xs.dtype), torch.zeros(shape, dtype=xs.dtype))
    one = torch.tensor(1.0, dtype=xs.dtype)
    params = RLeakyParams(one * 0.9, one, one, rec)
    return find_kernel(rleaky_step, xs, state, params, snn.core.Firing(surrogate.atan(), **firing))


class _MyLinear(nn.Linear):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x) * 2


def test_the_op_is_not_used_where_it_would_differ():
    x = torch.rand(4, 2, 3)
    assert _find(nn.Linear(3, 3), x) is run_rleaky_dense
    hooked = nn.Linear(3, 3)
    hooked.register_forward_hook(lambda m, i, o: o * 0)
    assert _find(hooked, x) is None  # the hook would be skipped
    assert _find(_MyLinear(3, 3), x) is None  # its own forward
    assert _find(nn.Linear(3, 3).double(), x) is None  # the step loop raises its dtype error
    assert _find(nn.Linear(3, 4), x) is None
    assert _find(nn.Linear(3, 3), x, inhibition=True) is None
    assert _find(nn.Linear(3, 3), x, state_quant=lambda t: t.round()) is None
    xc = torch.rand(4, 2, 2, 5, 5)
    assert _find(nn.Conv2d(2, 2, 3, padding=1), xc) is run_rleaky_dense
    assert _find(nn.Conv2d(2, 2, 3, padding=1, padding_mode="circular"), xc) is None
    assert _find(nn.Conv2d(2, 2, 3, padding="same"), xc) is None
    assert _find(nn.Conv2d(2, 2, 3, padding=1, stride=2), xc) is None
    assert _find(nn.Conv2d(2, 2, 4, padding=2), xc) is None  # 6 x 6 out of 5 x 5


def test_a_hooked_recurrence_still_runs_its_hook_every_step():
    lif = snn.RLeaky(beta=0.9, linear_features=3)
    calls = []
    lif.recurrent.register_forward_hook(lambda m, i, o: calls.append(1))
    lif.forward_sequence(torch.rand(6, 2, 3))
    assert len(calls) == 6


def _op_args(requires_grad: bool) -> tuple:
    gen = torch.Generator().manual_seed(0)
    xs = torch.randn(4, 2, 3, generator=gen, dtype=torch.float64) + 0.5
    spk0, syn0, mem0 = (torch.randn(2, 3, generator=gen, dtype=torch.float64) for _ in range(3))
    alpha, beta = torch.tensor(0.6, dtype=torch.float64), torch.rand(3, generator=gen, dtype=torch.float64)
    theta, g = torch.rand(3, generator=gen, dtype=torch.float64) + 0.3, torch.tensor(1.5, dtype=torch.float64)
    w = torch.randn(3, 3, generator=gen, dtype=torch.float64)
    b = torch.randn(3, generator=gen, dtype=torch.float64)
    tensors = [xs, spk0, syn0, mem0, alpha, beta, theta, g, w, b]
    if requires_grad:
        tensors = [t.requires_grad_() for t in tensors]
    return (*tensors, [], True, 0, True, 0, 2.0, 0.0)


@pytest.mark.parametrize("requires_grad", [False, True])
def test_opcheck(requires_grad):
    """Schema, fake (meta) implementation, autograd registration and AOT dispatch (what
    ``torch.compile`` traces) of the ``torch.library`` op."""
    torch.library.opcheck(torch.ops.spikeforge.recurrent_lif.default, _op_args(requires_grad))


def test_torch_compile_fullgraph_sees_one_op():
    """``torch.compile(fullgraph=True)`` (aot_eager: no graph break is the contract) of a neuron's
    sequence gives the eager values and gradients."""
    torch._dynamo.reset()
    lif = snn.RLeaky(beta=0.9, linear_features=4)
    x = torch.rand(6, 2, 4) * 2

    def run(x: torch.Tensor) -> torch.Tensor:
        spk, _, mem = lif.forward_sequence(x)
        return spk.sum() + mem.sum()

    compiled = torch.compile(run, fullgraph=True, backend="aot_eager")
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_e, out_c = run(xa), compiled(xb)
    torch.testing.assert_close(out_c, out_e)
    g_e = torch.autograd.grad(out_e, [xa, lif.recurrent.weight])
    g_c = torch.autograd.grad(out_c, [xb, lif.recurrent.weight])
    for a, b in zip(g_c, g_e):
        torch.testing.assert_close(a, b)
