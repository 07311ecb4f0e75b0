"""`SequentialSNN` over a static input (direct encoding: the same frames at every step) given as a view
with stride 0 over time, ``x0.expand(T, *x0.shape)``: the stateless layers before the first neuron run
once on one step's frames, and the results equal those of the same input repeated in memory (every
layer over all ``T*B`` frames), in float64 to 1e-12 (values) and 1e-10 (gradients, whose sums over time
are grouped differently)."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

import spikeforge as snn

T, B = 7, 5


def _mlp() -> snn.SequentialSNN:
    return snn.SequentialSNN(nn.Linear(12, 30), snn.Leaky(beta=0.9), nn.Linear(30, 4),
                             snn.Leaky(beta=0.8, learn_beta=True))


def _csnn() -> snn.SequentialSNN:
    return snn.SequentialSNN(nn.Conv2d(2, 6, 3), nn.MaxPool2d(2), nn.ReLU(), snn.Leaky(beta=0.7),
                             nn.Flatten(), nn.Linear(6 * 4 * 4, 3), snn.Synaptic(alpha=0.8, beta=0.9))


def _dropout_first() -> snn.SequentialSNN:
    # dropout in training mode draws its own mask per frame, so it (and all after it) sees every step
    return snn.SequentialSNN(nn.Dropout(0.3), nn.Linear(12, 30), snn.Leaky(beta=0.9))


NETS = {"mlp": (_mlp, (12,)), "csnn": (_csnn, (2, 10, 10)), "dropout": (_dropout_first, (12,))}


def _pair(name: str) -> tuple[snn.SequentialSNN, snn.SequentialSNN, torch.Tensor]:
    make, shape = NETS[name]
    torch.manual_seed(0)
    a = make().double()
    b = make().double()
    b.load_state_dict(a.state_dict())
    torch.manual_seed(1)
    x0 = torch.rand(B, *shape, dtype=torch.float64) * 3
    return a, b, x0


@pytest.mark.parametrize("grad_chunks", [True, False], ids=["chunked", "whole"])
@pytest.mark.parametrize("name", ["mlp", "csnn"])
def test_static_input_equals_the_repeated_input(name: str, grad_chunks: bool,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    if not grad_chunks:  # the whole-sequence path (as under torch.compile)
        monkeypatch.setattr("spikeforge._seqplan.grad_chunks", lambda net, record: False)
    a, b, x0 = _pair(name)
    xa = x0.clone().requires_grad_()
    xb = x0.clone().requires_grad_()
    out_a = a(xa.expand(T, *xa.shape))
    out_b = b(xb.unsqueeze(0).repeat(T, *([1] * xb.dim())))
    torch.testing.assert_close(out_a, out_b, rtol=1e-12, atol=1e-12)
    assert out_a.sum() > 0  # spikes to compare
    w = torch.randn_like(out_a)
    (out_a * w).sum().backward()
    (out_b * w).sum().backward()
    torch.testing.assert_close(xa.grad, xb.grad, rtol=1e-10, atol=1e-10)
    for (n, p), q in zip(a.named_parameters(), b.parameters()):
        assert p.grad is not None, n
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-10, atol=1e-10, msg=n)


@pytest.mark.parametrize("name", ["mlp", "csnn"])
def test_static_input_inference_equals_the_repeated_input(name: str) -> None:
    """Under ``no_grad`` the sequence runs in chunks of time steps (each a stride-0 slice)."""
    a, b, x0 = _pair(name)
    with torch.no_grad():
        got = a(x0.expand(T, *x0.shape))
        want = b(x0.expand(T, *x0.shape).contiguous())
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


class _Shapes(TorchDispatchMode):
    """The rows of every product of the first layer (a Linear from 12 features, or the convolution)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[int] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        name = func.overloadpacket.__name__
        if name in ("addmm", "mm") and args[-2].dim() == 2 and args[-2].shape[1] == 12:
            self.rows.append(args[-2].shape[0])
        if name in ("convolution", "mkldnn_convolution") and args[0].shape[1] == 2:
            self.rows.append(args[0].shape[0])
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("training", [False, True], ids=["no_grad", "grad"])
@pytest.mark.parametrize("name,static", [("mlp", True), ("csnn", True), ("dropout", False)])
def test_layers_before_the_first_neuron_run_once(name: str, static: bool, training: bool) -> None:
    """With the static input the first layer runs once per call, on ``B`` rows (one step's frames),
    however the sequence is split into chunks of time steps; after a layer that is not per frame
    (dropout in training mode, which draws a mask per frame) every layer sees every step."""
    a, _, x0 = _pair(name)
    a.train()
    with torch.set_grad_enabled(training), _Shapes() as seen:
        a(x0.expand(T, *x0.shape))
    assert seen.rows, "no product recorded"
    if static:
        assert seen.rows == [B]  # once per call, whatever the chunks of time steps
    else:
        assert sum(seen.rows) == T * B


def test_a_hooked_first_layer_sees_every_step() -> None:
    a, b, x0 = _pair("mlp")
    rows = []
    a[0].register_forward_hook(lambda m, inp, out: rows.append(inp[0].shape[0]))
    got = a(x0.expand(T, *x0.shape))
    torch.testing.assert_close(got, b(x0.expand(T, *x0.shape).contiguous()), rtol=1e-12, atol=1e-12)
    assert rows == [T * B]


def test_one_step_and_time_varying_inputs_are_not_static() -> None:
    from spikeforge._seqplan import static_input

    x0 = torch.rand(B, 12)
    assert static_input(x0.expand(T, B, 12))
    assert not static_input(x0.expand(1, B, 12))
    assert not static_input(x0.expand(T, B, 12).contiguous())
    assert not static_input(torch.rand(T, B, 12))


def test_export_and_trace_with_a_static_example_serve_any_input() -> None:
    """A program exported or traced from a static example input must not bake in "every step is the
    first": run on a time-varying input it gives the eager output (found by a reviewer: it did not)."""
    import warnings

    from torch.export import Dim

    torch.manual_seed(0)
    net = _mlp()
    x0 = torch.rand(B, 12) * 3
    ep = torch.export.export(net, (x0.expand(T, B, 12),), dynamic_shapes=({0: Dim("T"), 1: Dim("B")},))
    xv = torch.rand(T + 2, B + 1, 12) * 3
    with torch.no_grad():
        torch.testing.assert_close(ep.module()(xv), net(xv), rtol=0, atol=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's warnings about Python values
            traced = torch.jit.trace(net, (x0.expand(T, B, 12),), check_trace=False)
        xv = torch.rand(T, B, 12) * 3
        torch.testing.assert_close(traced(xv), net(xv), rtol=0, atol=0)
