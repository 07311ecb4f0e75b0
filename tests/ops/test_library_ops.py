"""The LIF-family and alpha sequence ops as ``torch.library`` operators: ``opcheck``, the trace-free
inference mode against the step loop, ``torch.compile(fullgraph=True)`` and ``torch.export`` of a
`SequentialSNN` against eager, and the autograd-function fallback for torch without custom ops."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

import spikeforge as snn
import spikeforge.ops  # noqa: F401 - registers the kernels
from spikeforge import surrogate
from spikeforge.core import AlphaParams, AlphaState, Firing, LeakyParams, LeakyState, alpha_step, leaky_step
from spikeforge.ops._library import HAS_CUSTOM_OP
from spikeforge.runner import run

pytest.importorskip("numba")
needs_custom_op = pytest.mark.skipif(not HAS_CUSTOM_OP, reason="torch.library.custom_op needs torch >= 2.4")
ROOT = Path(__file__).resolve().parents[2]

# (syn, rec, reset, immediate, sid, p1, p2): Leaky subtract/ATan, Synaptic zero-reset immediate/sigmoid,
# RLeaky immediate subtract/fast sigmoid, RSynaptic no reset/no gradient, Leaky's zero reset immediate
LIF_CONFIGS = [
    (False, False, 0, False, 0, 2.0, 0.0),
    (True, False, 3, True, 2, 5.0, 0.0),
    (False, True, 0, True, 1, 10.0, 0.0),
    (True, True, 2, False, -1, 0.0, 0.0),
    (False, False, 1, True, 0, 2.0, 0.0),
]


def _rand(gen: torch.Generator, dtype: torch.dtype, *shape: int) -> torch.Tensor:
    return torch.rand(*shape, generator=gen, dtype=dtype)


def _lif_args(dtype: torch.dtype, cfg: tuple, trace: bool, grad: bool) -> tuple:
    syn, rec = cfg[:2]
    gen = torch.Generator().manual_seed(3)
    T, n = 7, 5
    zeros = torch.zeros(n, dtype=dtype)
    xs = _rand(gen, dtype, T, n) * 2 - 0.3
    u0, beta, theta = _rand(gen, dtype, n), _rand(gen, dtype, n) * 0.9, _rand(gen, dtype, n) + 0.5
    g = torch.full((n,), 1.5, dtype=dtype)
    i0, alpha = (_rand(gen, dtype, n), _rand(gen, dtype, n) * 0.9) if syn else (zeros, zeros.clone())
    if rec:
        s0, vrec = (_rand(gen, dtype, n) > 0.5).to(dtype), _rand(gen, dtype, n) - 0.5
    else:
        s0, vrec = zeros.clone(), zeros.clone()
    used = [xs, u0, beta, theta, g] + ([i0, alpha] if syn else []) + ([s0, vrec] if rec else [])
    if grad:
        for t in used:
            t.requires_grad_()
    return (xs, u0, i0, s0, alpha, beta, theta, g, vrec, *cfg, trace)


def _alpha_args(dtype: torch.dtype, reset: int, sid: int, trace: bool, grad: bool) -> tuple:
    gen = torch.Generator().manual_seed(4)
    T, n = 6, 4
    ts = [_rand(gen, dtype, T, n) * 2] + [_rand(gen, dtype, n) for _ in range(8)]
    ts[4] = ts[4] * 0.9  # alpha
    ts[5] = ts[5] * 0.8  # beta
    ts[7] = ts[7] + 0.3  # threshold
    if grad:
        for i, t in enumerate(ts):
            if i != 3:  # the initial membrane has no gradient (it only enters the detached reset mask)
                t.requires_grad_()
    return (*ts, reset, sid, 2.0, 0.0, trace)


@needs_custom_op
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("cfg", LIF_CONFIGS, ids=str)
@pytest.mark.parametrize("grad", [False, True])
def test_opcheck_lif(dtype, cfg, grad):
    torch.library.opcheck(torch.ops.spikeforge.lif_forward.default, _lif_args(dtype, cfg, True, grad))
    if not grad:  # inference without traces
        torch.library.opcheck(torch.ops.spikeforge.lif_forward.default, _lif_args(dtype, cfg, False, False))


@needs_custom_op
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("reset,sid", [(0, 0), (1, 2), (2, -1)])
@pytest.mark.parametrize("grad", [False, True])
def test_opcheck_alpha(dtype, reset, sid, grad):
    op = torch.ops.spikeforge.alpha_forward.default
    torch.library.opcheck(op, _alpha_args(dtype, reset, sid, True, grad))
    if not grad:
        torch.library.opcheck(op, _alpha_args(dtype, reset, sid, False, False))


@needs_custom_op
@pytest.mark.parametrize("params", [0, 1, 2])  # none, all parameters' gradients but g's, all
@pytest.mark.parametrize("cfg", LIF_CONFIGS[:3], ids=str)
def test_opcheck_backward_ops(cfg, params):
    args = _lif_args(torch.float64, cfg, True, False)
    spk, mem, cur, pre, spk_last, mem_last, _ = torch.ops.spikeforge.lif_forward(*args)
    syn, rec = cfg[:2]
    gs = torch.rand_like(spk)
    saved = (*args[1:9], spk if rec else mem.new_empty(0), mem, cur, pre)
    last = (torch.rand_like(spk_last) if rec else None, torch.rand_like(mem_last), None)  # final states'
    torch.library.opcheck(torch.ops.spikeforge.lif_backward.default,
                          (gs, torch.rand_like(mem), None, *last, *saved, *cfg, params))
    a = _alpha_args(torch.float64, 0, 0, True, False)
    _, e, n, u = torch.ops.spikeforge.alpha_forward(*a)
    torch.library.opcheck(torch.ops.spikeforge.alpha_backward.default,
                          (torch.rand_like(e), None, torch.rand_like(n), None, *a[:9], e, n, u, *a[9:13],
                           bool(params)))


def test_inference_keeps_only_the_last_states():
    """Without autograd and without ``record`` the ops return ``[1, N]`` states: the step loop's last."""
    gen = torch.Generator().manual_seed(5)
    xs = torch.rand(9, 2, 6, generator=gen) * 1.5
    f = Firing(spike_fn=surrogate.atan(), reset=0, reset_delay=False)
    p = LeakyParams(beta=torch.tensor(0.8), threshold=torch.tensor(1.0), graded=torch.tensor(1.0))
    want = run(leaky_step, xs, LeakyState(torch.zeros(2, 6)), p, f, fused=False)
    with torch.no_grad():
        got = run(leaky_step, xs, LeakyState(torch.zeros(2, 6)), p, f)
        spk, mem, cur, pre, spk_last, mem_last, cur_last = torch.ops.spikeforge.lif_forward(
            xs.reshape(9, 12), torch.zeros(12), torch.zeros(12), torch.zeros(12), torch.zeros(12),
            torch.full((12,), 0.8), torch.ones(12), torch.ones(12), torch.zeros(12), False, False, 0, True,
            0, 2.0, 0.0, False)
    assert torch.equal(got.spk, want.spk) and torch.equal(got.final.mem, want.final.mem)
    assert mem.shape == (1, 12) and cur.numel() == 0 and pre.numel() == 0
    assert torch.equal(spk.view(9, 2, 6), want.spk) and torch.equal(mem.view(2, 6), want.final.mem)
    # the final states of their own: the membrane; no spike state (no recurrence), no current
    assert torch.equal(mem_last.view(2, 6), want.final.mem)
    assert spk_last.numel() == 0 and cur_last.numel() == 0

    pa = AlphaParams(alpha=torch.tensor(0.9), beta=torch.tensor(0.8), threshold=torch.tensor(0.5),
                     graded=torch.tensor(1.0))
    s0 = AlphaState(*(torch.zeros(2, 6) for _ in range(3)))
    want = run(alpha_step, xs, s0, pa, f, fused=False)
    with torch.no_grad():
        got = run(alpha_step, xs, s0, pa, f)
    assert torch.equal(got.spk, want.spk)
    for a, b in zip(got.final, want.final):
        assert torch.equal(a, b)


def _network() -> snn.SequentialSNN:
    torch.manual_seed(2)
    return snn.SequentialSNN(
        nn.Linear(4, 8), snn.Leaky(beta=0.9, reset_delay=False, threshold=0.3),
        nn.Linear(8, 8),
        snn.Synaptic(alpha=0.8, beta=0.9, learn_beta=True, reset_mechanism="zero", threshold=0.3),
        nn.Linear(8, 8), snn.Alpha(alpha=0.9, beta=0.8, spike_grad=surrogate.fast_sigmoid(), threshold=0.2),
        nn.Linear(8, 6), snn.RLeaky(beta=0.9, all_to_all=False, learn_recurrent=True, threshold=0.2),
    )


def _recording_backend(seen: list[str]):  # noqa: ANN202 - a torch.compile backend
    aot_eager = torch._dynamo.lookup_backend("aot_eager")

    def backend(gm: torch.fx.GraphModule, example_inputs: list) -> object:
        seen.extend(str(n.target) for n in gm.graph.nodes if n.op == "call_function")
        return aot_eager(gm, example_inputs)

    return backend


@needs_custom_op
def test_compile_fullgraph_sequential_snn_equals_eager():
    """``torch.compile(fullgraph=True)`` (aot_eager) of a network of every fused family: one op node
    per neuron layer; values and gradients as eager."""
    torch._dynamo.reset()
    net = _network()
    seen: list[str] = []
    compiled = torch.compile(net, fullgraph=True, backend=_recording_backend(seen))
    x = torch.rand(12, 3, 4) * 3
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_e, out_c = net(xa), compiled(xb)
    assert out_e.sum() > 0
    assert torch.equal(out_c, out_e)
    ops = sorted(s for s in seen if "spikeforge" in s)
    assert ops == ["spikeforge.alpha_forward"] + ["spikeforge.lif_forward"] * 3
    params = list(net.parameters())
    g_e = torch.autograd.grad((out_e * torch.arange(6.0)).sum(), [xa, *params])
    g_c = torch.autograd.grad((out_c * torch.arange(6.0)).sum(), [xb, *params])
    assert any(g.abs().sum() > 0 for g in g_e)
    for a, b in zip(g_c, g_e):  # eager runs time in chunks, compiled the whole sequence: float32
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)  # sums over time grouped otherwise
    with torch.no_grad():
        assert torch.equal(compiled(x), net(x))


@needs_custom_op
def test_compile_forward_sequence_records_traces():
    torch._dynamo.reset()
    lif = snn.Synaptic(alpha=0.7, beta=0.9)
    x = torch.rand(6, 2, 5) * 2

    def trace(x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return lif.forward_sequence(x, record=True)

    got = torch.compile(trace, fullgraph=True, backend="aot_eager")(x)
    for a, b in zip(got, trace(x)):
        assert torch.equal(a, b)


@needs_custom_op
def test_export_sequential_snn_equals_eager():
    torch.manual_seed(3)
    net = snn.SequentialSNN(nn.Linear(4, 8), snn.Leaky(beta=0.9), nn.Linear(8, 3), snn.Leaky(beta=0.8))
    x = torch.rand(10, 2, 4) * 2
    ep = torch.export.export(net, (x,))
    targets = [str(n.target) for n in ep.graph.nodes if n.op == "call_function"]
    assert targets.count("spikeforge.lif_forward.default") == 2
    want = net(x)
    assert want.sum() > 0
    assert torch.equal(ep.module()(x), want)
    x2 = torch.rand(10, 2, 4) * 2
    assert torch.equal(ep.module()(x2), net(x2))


@needs_custom_op
@pytest.mark.parametrize("make", [lambda: snn.Leaky(beta=0.9), lambda: snn.Synaptic(alpha=0.7, beta=0.9),
                                  lambda: snn.Alpha(alpha=0.9, beta=0.8),
                                  lambda: snn.RLeaky(beta=0.9, all_to_all=False),
                                  lambda: snn.RLeaky(beta=0.9, linear_features=6)],
                         ids=["leaky", "synaptic", "alpha", "rleaky", "rleaky-linear"])
def test_export_with_dynamic_time_and_batch_equals_eager(make):
    """One exported program for every sequence length and batch size (``Dim`` on dims 0 and 1)."""
    torch.manual_seed(5)
    net = snn.SequentialSNN(nn.Linear(4, 6), make())
    x = torch.rand(8, 3, 4) * 2
    dims = {0: torch.export.Dim("T", min=2, max=64), 1: torch.export.Dim("B", min=2, max=64)}
    ep = torch.export.export(net, (x,), dynamic_shapes=(dims,))
    for shape in [(8, 3, 4), (5, 7, 4), (12, 2, 4)]:
        xi = torch.rand(*shape) * 2
        want = net(xi)
        assert want.shape[:2] == shape[:2] and want.sum() > 0
        assert torch.equal(ep.module()(xi), want)


@needs_custom_op
def test_inductor_compiles_a_small_network_for_inference():
    """The default backend (inductor) around the op; inference only: with the backward a cold compile
    took about 40 s on two cores (10 s warm), too slow for this suite."""
    torch._dynamo.reset()
    torch.manual_seed(4)
    net = snn.SequentialSNN(nn.Linear(4, 8), snn.Leaky(beta=0.9))
    x = torch.rand(6, 3, 4) * 2
    with torch.no_grad():
        assert torch.equal(torch.compile(net, fullgraph=True)(x), net(x))


_FALLBACK = """
import torch
custom_op = torch.library.custom_op
del torch.library.custom_op  # as torch 2.3 (none) while spikeforge defines its ops; torch needs it later
import spikeforge as snn
torch.library.custom_op = custom_op
from spikeforge.ops._library import HAS_CUSTOM_OP
from spikeforge.runner import run
assert not HAS_CUSTOM_OP
torch.manual_seed(0)
x = torch.rand(7, 2, 5) * 2
for neuron in (snn.Leaky(beta=0.9, reset_delay=False), snn.Synaptic(alpha=0.8, beta=0.9),
               snn.Alpha(alpha=0.9, beta=0.8), snn.RLeaky(beta=0.9, all_to_all=False),
               snn.RLeaky(beta=0.9, linear_features=5)):
    shapes = neuron._state_shapes(x[0])
    state = neuron._state_type(*(torch.zeros(s) for s in shapes))
    step, p, f = type(neuron)._step_fn, neuron.params(), neuron.firing()
    outs = []
    for fused in (True, False):
        xs = x.clone().requires_grad_()
        res = run(step, xs, state, p, f, record=True, fused=fused)
        loss = res.spk.sum() + sum(t.pow(2).sum() for t in res.trace)
        outs.append((res.spk, *res.trace, *torch.autograd.grad(loss, xs)))
    for a, b in zip(*outs):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        assert torch.equal(run(step, x, state, p, f).spk, run(step, x, state, p, f, fused=False).spk)
print("fallback OK")
"""


def test_fallback_without_custom_op_equals_step_loop():
    """torch 2.3 has no ``torch.library.custom_op``: the ops run as autograd functions (in a fresh
    interpreter where it is hidden while spikeforge is imported)."""
    path = f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"
    proc = subprocess.run([sys.executable, "-c", _FALLBACK], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, PYTHONPATH=path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "fallback OK" in proc.stdout


@pytest.mark.parametrize("neuron", ["leaky", "synaptic", "alpha", "rleaky"])
def test_parameter_gradients_skipped_only_when_not_needed(neuron, monkeypatch):
    """The backward skips the parameter gradients when no parameter needs one: the input gradient is
    the same either way (computed by the step loop with learnable parameters as the reference), and
    with learnable parameters their gradients equal the step loop's."""
    import spikeforge as snn
    from spikeforge.runner import _loop

    find_kernel = _loop.find_kernel

    def make(learn: bool):
        kw = dict(learn_beta=learn, learn_threshold=learn)
        return {"leaky": lambda: snn.Leaky(beta=0.8, **kw),
                "synaptic": lambda: snn.Synaptic(alpha=0.7, beta=0.8, learn_alpha=learn, **kw),
                "alpha": lambda: snn.Alpha(alpha=0.8, beta=0.7, learn_alpha=learn, **kw),
                "rleaky": lambda: snn.RLeaky(beta=0.8, all_to_all=False, **kw)}[neuron]()

    gen = torch.Generator().manual_seed(3)
    x0 = torch.rand(12, 3, 7, generator=gen, dtype=torch.float64) * 1.5
    grads = {}
    for learn in (False, True):
        for fused in (False, True):
            torch.manual_seed(0)
            n = make(learn).double()
            x = x0.clone().requires_grad_()
            monkeypatch.setattr(_loop, "find_kernel", find_kernel if fused else (lambda *a: None))
            spk = n.forward_sequence(x)[0]
            (spk * torch.linspace(0.5, 1.5, 7, dtype=torch.float64)).sum().backward()
            pgrads = [p.grad for p in n.parameters() if p.grad is not None]
            grads[learn, fused] = (x.grad, pgrads)
    ref_x, ref_p = grads[True, False]
    for key, (gx, _gp) in grads.items():
        torch.testing.assert_close(gx, ref_x, rtol=1e-12, atol=1e-12, msg=str(key))
    assert len(grads[True, True][1]) == len(ref_p) > 0
    for a, b in zip(grads[True, True][1], ref_p):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


_EAGER = """
import sys
import torch
from torch import nn
import spikeforge as snn
net = snn.SequentialSNN(nn.Linear(5, 8), snn.Leaky(beta=0.9), snn.RLeaky(beta=0.8, linear_features=8),
                        snn.Synaptic(alpha=0.7, beta=0.9), snn.Alpha(alpha=0.9, beta=0.8))
x = torch.rand(6, 3, 5) * 2
with torch.no_grad():
    net(x)
spk = net(x)
spk.sum().backward()
assert all(p.grad is not None for p in net.parameters())
print("dynamo imported:", "torch._dynamo" in sys.modules)
"""


def test_eager_calls_do_not_import_dynamo():
    """In eager mode the ops run without the custom-operator dispatch, which imports ``torch._dynamo``
    on its first call (about 140 MB and 2 s): a run that never compiles never loads it."""
    path = f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"
    proc = subprocess.run([sys.executable, "-c", _EAGER], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, PYTHONPATH=path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "dynamo imported: False" in proc.stdout


@needs_custom_op
def test_operator_seen_as_one_node_by_dispatch_modes_and_fake_tensors():
    """Where torch must see one node (a TorchDispatchMode, fake tensors) the call goes through the
    registered operator; plain eager calls do not (the mode is how the difference shows)."""
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.utils._python_dispatch import TorchDispatchMode

    class Names(TorchDispatchMode):
        def __init__(self) -> None:
            super().__init__()
            self.names: list[str] = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
            self.names.append(str(func))
            return func(*args, **(kwargs or {}))

    neuron = snn.Leaky(beta=0.9)
    x = torch.rand(5, 2, 3) * 2
    with torch.no_grad():
        want = neuron.forward_sequence(x)[0]
        with Names() as mode:
            got = neuron.forward_sequence(x)[0]
    assert torch.equal(got, want)
    assert "spikeforge.lif_forward.default" in mode.names
    xg = x.clone().requires_grad_()
    with Names() as mode:
        neuron.forward_sequence(xg)[0].sum().backward()
    assert "spikeforge.lif_forward.default" in mode.names and "spikeforge.lif_backward.default" in mode.names
    xe = x.clone().requires_grad_()
    neuron.forward_sequence(xe)[0].sum().backward()
    assert torch.equal(xg.grad, xe.grad)
    with FakeTensorMode(allow_non_fake_inputs=True):  # the neuron's beta and threshold are real
        fake = torch.empty(5, 2, 3)
        out = neuron.forward_sequence(fake)[0]
    assert out.shape == (5, 2, 3) and type(out).__name__ == "FakeTensor"


@needs_custom_op
@pytest.mark.parametrize("make", [lambda: snn.Leaky(beta=0.9), lambda: snn.Synaptic(alpha=0.8, beta=0.9),
                                  lambda: snn.RLeaky(beta=0.9, all_to_all=False),
                                  lambda: snn.RSynaptic(alpha=0.8, beta=0.9, all_to_all=False),
                                  lambda: snn.RLeaky(beta=0.9, linear_features=16),
                                  lambda: snn.Alpha(alpha=0.9, beta=0.8)],
                         ids=["leaky", "synaptic", "rleaky", "rsynaptic", "rleaky_dense", "alpha"])
def test_chunked_training_under_fake_tensors(make, monkeypatch):
    """Shapes only (``FakeTensorMode``, what ``torch.compile`` traces with): training in several time
    chunks gives every parameter a gradient of its own shape (the ops' fake backward gets the saved
    states' real shapes)."""
    from torch._subclasses.fake_tensor import FakeTensorMode

    import spikeforge._seqplan as plan

    monkeypatch.setattr(plan, "GRAD_CHUNK_BYTES", 3 * 16 * 4 * 4)  # chunks of 4 steps
    with FakeTensorMode(allow_non_fake_inputs=True):
        net = snn.SequentialSNN(nn.Linear(8, 16), make())
        net(torch.rand(12, 3, 8)).sum().backward()
        for p in net.parameters():
            if p.requires_grad:
                assert p.grad is not None and p.grad.shape == p.shape
    real = snn.SequentialSNN(nn.Linear(8, 16), make())  # built outside the mode, run inside it
    with FakeTensorMode(allow_non_fake_inputs=True):
        out = real(torch.rand(12, 3, 8))
        assert out.shape == (12, 3, 16) and type(out).__name__ == "FakeTensor"


@needs_custom_op
def test_meta_device_network_gives_shapes():
    """A network moved to the meta device (shapes only, no data): inference and a training step give
    meta outputs and gradients of the right shapes (the graded factor is not read as a number there)."""
    net = snn.SequentialSNN(nn.Linear(8, 16), snn.Leaky(beta=0.9), nn.Linear(16, 4),
                            snn.Synaptic(alpha=0.8, beta=0.9)).to("meta")
    x = torch.empty(12, 3, 8, device="meta")
    with torch.no_grad():
        out = net(x)
    assert out.shape == (12, 3, 4) and out.is_meta
    net(x).sum().backward()
    assert all(p.grad is not None and p.grad.is_meta and p.grad.shape == p.shape for p in net.parameters())
