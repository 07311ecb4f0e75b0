"""`SLSTM.forward_sequence` as one ``torch.lstm`` where the spiking LSTM's dynamics are a plain LSTM's
(``reset_mechanism="none"``, its default): spikes, states and gradients against the step loop (the
``nn.LSTMCell`` stepped by ``spikeforge.core.slstm_step`` under autograd) and against snntorch 1.0.0
stepped (where snntorch is right: ``input_size == hidden_size``, else it re-zeroes its states); the
step loop wherever the kernel does not apply."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
import torch
from torch import Tensor

import spikeforge as snn
from spikeforge.ops import lstm as lstm_op

T, B = 12, 5


def _stepped(neuron: snn.SLSTM, xs: Tensor, syn: Tensor, mem: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    out = []
    for x in xs:
        spk, syn, mem = neuron(x, syn, mem)
        out.append(spk)
    return torch.stack(out), syn, mem


def _count_lstm(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = torch.lstm

    def counting(*args: Any) -> Any:
        calls.append(args[0].shape[0])
        return real(*args)

    monkeypatch.setattr(lstm_op.torch, "lstm", counting)
    return calls


CASES = [
    dict(inp=7, hid=9, bias=True, kw={}),
    dict(inp=9, hid=9, bias=False, kw=dict(spike_grad=snn.surrogate.fast_sigmoid(slope=10))),
    dict(inp=4, hid=6, bias=True, kw=dict(learn_threshold=True, threshold=torch.linspace(0.01, 0.2, 6))),
    dict(inp=5, hid=3, bias=True, kw=dict(spike_grad=snn.surrogate.sigmoid(), threshold=0.02)),
]


@pytest.mark.parametrize("case", CASES, ids=range(len(CASES)))
def test_sequence_equals_the_step_loop(case: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """float64: spikes exactly, states and every gradient (input, initial states, the cell's weights and
    biases, a learnt threshold) to 1e-10, from non-zero initial states."""
    torch.manual_seed(3)
    kw = {"threshold": 0.05, **case["kw"]}
    neuron = snn.SLSTM(case["inp"], case["hid"], bias=case["bias"], **kw).double()
    xs = ((torch.rand(T, B, case["inp"], dtype=torch.float64) < 0.4) * 1.5).double().requires_grad_()
    syn0 = (torch.randn(B, case["hid"], dtype=torch.float64) * 0.3).requires_grad_()
    mem0 = (torch.randn(B, case["hid"], dtype=torch.float64) * 0.3).requires_grad_()
    calls = _count_lstm(monkeypatch)
    spk, syn, mem = neuron.forward_sequence(xs, syn0, mem0)
    assert calls == [T]
    want_spk, want_syn, want_mem = _stepped(neuron, xs, syn0, mem0)
    assert 0.05 < want_spk.mean() < 0.95
    assert torch.equal(spk, want_spk)
    torch.testing.assert_close(syn, want_syn, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(mem, want_mem, rtol=1e-12, atol=1e-12)
    w = torch.randn(T, B, case["hid"], dtype=torch.float64)
    inputs = [xs, syn0, mem0, *neuron.parameters()]

    def grads(s: Tensor, c: Tensor, h: Tensor) -> tuple[Tensor | None, ...]:
        loss = (s * w).sum() + (c * 0.7).sum() + (h ** 2).sum()
        return torch.autograd.grad(loss, inputs, allow_unused=True)

    got, want = grads(spk, syn, mem), grads(want_spk, want_syn, want_mem)
    for i, (g, v) in enumerate(zip(got, want, strict=True)):
        assert (g is None) == (v is None), i
        if v is not None:
            assert v.abs().sum() > 0, i
            torch.testing.assert_close(g, v, rtol=1e-10, atol=1e-10, msg=f"gradient {i}")


def test_float32_to_rounding_and_snntorch_where_it_is_right() -> None:
    """input_size == hidden_size (snntorch keeps its states only then): spikes equal snntorch 1.0.0's
    stepped spikes; the final states to float32 rounding."""
    import snntorch

    torch.manual_seed(4)
    ref = snntorch.SLSTM(16, 16, threshold=0.05)
    neuron = snn.SLSTM(16, 16, threshold=0.05)
    neuron.lstm_cell.load_state_dict(ref.lstm_cell.state_dict())
    xs = (torch.rand(20, 8, 16) < 0.3).float()
    syn, mem = ref.reset_mem()
    out = []
    for x in xs:
        s, syn, mem = ref(x, syn, mem)
        out.append(s)
    spk, got_syn, got_mem = neuron.forward_sequence(xs)
    assert 0.05 < spk.mean() < 0.95
    assert torch.equal(spk, torch.stack(out))
    torch.testing.assert_close(got_mem, mem, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(got_syn, syn, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("what", ["subtract", "zero", "record", "hook", "quant", "inhibition",
                                  "backward_hook", "global_hook", "autocast", "lambda", "wide_threshold"])
def test_the_step_loop_runs_where_the_lstm_is_not_plain(what: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A reset feeds the spikes back into the cell; a trace of every cell state, hooks on the cell (its
    own forward or backward ones, or global ones), a quantiser, inhibition, autocast (``torch.lstm``
    would run in bfloat16), a spike function that is not a known element-wise surrogate, or a
    threshold wider than the state are the step loop's: ``torch.lstm`` is not called and the results
    are the loop's, bit for bit."""
    kw: dict[str, Any] = dict(threshold=0.05)
    if what == "lambda":
        kw["spike_grad"] = lambda z: (z > 0).float() * (z.abs() < z.abs().amax(1, keepdim=True)).float()
    if what == "wide_threshold":
        kw["threshold"] = torch.full((2, 1, 8), 0.05)
    if what in ("subtract", "zero"):
        kw["reset_mechanism"] = what
    if what == "quant":
        kw["state_quant"] = lambda t: torch.round(t * 64) / 64
    if what == "inhibition":
        kw["inhibition"] = True
    torch.manual_seed(5)
    with pytest.warns(UserWarning, match="inhibition") if what == "inhibition" else contextlib.nullcontext():
        neuron = snn.SLSTM(6, 8, **kw)
    seen = []
    if what == "hook":
        neuron.lstm_cell.register_forward_hook(lambda m, i, o: seen.append(1))
    if what == "backward_hook":
        neuron.lstm_cell.register_full_backward_hook(lambda m, gi, go: seen.append(1))
    handle = torch.nn.modules.module.register_module_forward_hook(lambda m, i, o: None) \
        if what == "global_hook" else None
    xs = (torch.rand(T, B, 6) < 0.4).float()
    calls = _count_lstm(monkeypatch)
    try:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=what == "autocast"):
            res = neuron.forward_sequence(xs, record=what == "record")
    finally:
        if handle is not None:
            handle.remove()
    assert calls == []
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=what == "autocast"):
        spk, syn, mem = _stepped(neuron, xs, torch.zeros(B, 8), torch.zeros(B, 8))
    assert res[0].dtype == spk.dtype and torch.equal(res[0], spk)
    if what == "record":
        assert res[1].shape == res[2].shape == (T, B, 8)
        torch.testing.assert_close(res[2][-1], mem, rtol=0, atol=0)
    else:
        torch.testing.assert_close(res[2], mem, rtol=0, atol=0)
    if what == "hook":
        assert len(seen) == 2 * T  # every step, in the sequence and in the loop


def test_sequential_snn_and_init_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    """In `SequentialSNN` (Linear -> SLSTM -> Linear -> Leaky), with the state kept between calls:
    every step runs through ``torch.lstm`` and the output equals the stepped network's."""
    torch.manual_seed(6)
    layers = [torch.nn.Linear(10, 12), snn.SLSTM(12, 12, threshold=0.05, init_hidden=True),
              torch.nn.Linear(12, 4), snn.Leaky(beta=0.9, threshold=0.2, init_hidden=True)]
    net = snn.SequentialSNN(*layers, carry_state=True).double()
    xs = torch.rand(T, B, 10, dtype=torch.float64)
    calls = _count_lstm(monkeypatch)
    out1, out2 = net(xs), net(xs)
    assert sum(calls) == 2 * T  # every step through torch.lstm (in chunks of time steps: see SequentialSNN)
    for m in (layers[1], layers[3]):
        m.reset_mem()
    step = []
    for x in torch.cat([xs, xs]):
        h = x
        for m in layers:
            h = m(h)
        step.append(h)
    want = torch.stack(step)
    assert 0 < want.mean() < 1
    torch.testing.assert_close(torch.cat([out1, out2]), want, rtol=0, atol=0)


def _saved_bytes(fn: Any) -> int:
    seen: dict[int, int] = {}

    def pack(t: Tensor) -> Tensor:
        seen[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return sum(seen.values())


def test_training_saves_no_more_than_the_loop_and_inference_may_use_onednn(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """In training oneDNN is off for the call (its workspace would be about three times the loop's saved
    tensors): the bytes autograd keeps are at most the step loop's. Under ``no_grad`` torch picks."""
    torch.manual_seed(7)
    neuron = snn.SLSTM(20, 16, threshold=0.05)
    xs = (torch.rand(30, 8, 20) < 0.3).float()
    flags: list[bool] = []
    real = torch.lstm

    def spying(*args: Any) -> Any:
        flags.append(torch._C._get_mkldnn_enabled())
        return real(*args)

    monkeypatch.setattr(lstm_op.torch, "lstm", spying)
    fused = _saved_bytes(lambda: neuron.forward_sequence(xs))
    loop = _saved_bytes(lambda: _stepped(neuron, xs, torch.zeros(8, 16), torch.zeros(8, 16)))
    assert flags == [False] and torch._C._get_mkldnn_enabled()  # restored after the call
    assert 0 < fused <= loop
    with torch.no_grad():
        neuron.forward_sequence(xs)
    assert flags == [False, True]


def test_forward_mode_ad_equals_the_loop() -> None:
    """Forward-mode AD (dual tensors) in float32, where oneDNN, which has none, would otherwise run:
    the states' tangents as the loop's (spikes without a surrogate: the surrogates have no jvp)."""
    import torch.autograd.forward_ad as fwad

    torch.manual_seed(8)
    neuron = snn.SLSTM(6, 5, threshold=0.05, surrogate_disable=True)
    xs = torch.rand(T, B, 6)
    tangent = torch.randn_like(xs)
    with fwad.dual_level(), torch.no_grad():  # no_grad: only forward AD asks for derivatives
        dual = fwad.make_dual(xs, tangent)
        _, _, mem = neuron.forward_sequence(dual)
        got = fwad.unpack_dual(mem).tangent
        _, _, mem2 = _stepped(neuron, dual, torch.zeros(B, 5), torch.zeros(B, 5))
        want = fwad.unpack_dual(mem2).tangent
    assert want.abs().sum() > 0
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
