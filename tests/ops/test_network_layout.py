"""How ``SequentialSNN`` runs its layers: channels-last frames for 2-D convolutions and poolings on
CPU (element-wise neurons on a permuted view), contiguous frames for custom layers, and time chunks
without autograd. Every path must compute what the plain path (contiguous frames, whole sequence)
computes; the expected values come from the hand-stepped loop or from that plain path."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

import spikeforge as snn
from spikeforge import _seqplan as plan

CL = torch.channels_last


def _conv_net(**leaky: object) -> snn.SequentialSNN:
    torch.manual_seed(3)
    return snn.SequentialSNN(
        nn.Conv2d(2, 4, 3, padding=1), nn.MaxPool2d(2), snn.Leaky(beta=0.7, **leaky),
        nn.Conv2d(4, 6, 3), snn.Leaky(beta=0.8, init_hidden=True), nn.Flatten(), nn.Linear(6 * 2 * 2, 5),
        snn.Leaky(beta=0.9, threshold=0.1),
    )


def _plain(monkeypatch: pytest.MonkeyPatch) -> None:
    """Switch the channels-last rule off: every layer gets contiguous frames, as before."""
    monkeypatch.setattr(plan, "CHANNELS_LAST", ())


def _run(net: snn.SequentialSNN, x: Tensor) -> tuple[Tensor, list[Tensor], list[Tensor]]:
    spk, traces = net(x, record=True)
    loss = spk.sum() + sum(t.states["mem"].pow(2).mean() for t in traces)
    params = [p for p in net.parameters() if p.requires_grad]
    return spk, [t.states["mem"] for t in traces], list(torch.autograd.grad(loss, params))


def test_channels_last_path_equals_contiguous_path(monkeypatch: pytest.MonkeyPatch) -> None:
    net = _conv_net()
    x = torch.rand(7, 3, 2, 8, 8) * 4
    spk, mems, grads = _run(net, x)
    with monkeypatch.context() as m:
        _plain(m)
        want_spk, want_mems, want_grads = _run(net, x)
    assert spk.sum() > 0 and spk.is_contiguous()
    torch.testing.assert_close(spk, want_spk, rtol=0, atol=0)
    for a, b in zip(mems + grads, want_mems + want_grads):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert mems[0].permute(0, 1, 3, 4, 2).is_contiguous()  # the first neuron ran on NHWC frames


def test_per_channel_neuron_after_conv_is_not_permuted(monkeypatch: pytest.MonkeyPatch) -> None:
    beta = torch.tensor([0.5, 0.6, 0.7, 0.8]).view(4, 1, 1)
    net = _conv_net(learn_beta=True)
    net[2].beta = nn.Parameter(beta.clone())
    assert not plan.elementwise(net[2])
    x = torch.rand(5, 2, 2, 8, 8) * 4
    spk, mems, grads = _run(net, x)
    with monkeypatch.context() as m:
        _plain(m)
        want_spk, want_mems, want_grads = _run(net, x)
    torch.testing.assert_close(spk, want_spk, rtol=0, atol=0)
    for a, b in zip(mems + grads, want_mems + want_grads):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


class _ViewFlatten(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return x.view(x.size(0), -1)  # fails on channels-last frames


def test_custom_layer_gets_contiguous_frames() -> None:
    net = snn.SequentialSNN(nn.Conv2d(1, 2, 3), snn.Leaky(beta=0.9), _ViewFlatten(), nn.Linear(2 * 4 * 4, 3))
    out = net(torch.rand(4, 2, 1, 6, 6))
    assert out.shape == (4, 2, 3)


def test_layout_rule() -> None:
    frames = torch.rand(6, 3, 5, 5)
    assert plan.layout(nn.Conv2d(3, 4, 3), frames).is_contiguous(memory_format=CL)
    assert plan.layout(nn.MaxPool2d(2), frames).stride(1) == 1
    one = plan.layout(nn.Conv2d(1, 2, 3), torch.rand(6, 1, 5, 5))
    assert one.stride() == (25, 1, 5, 1)  # one channel: channels-last strides, so the conv picks NHWC
    assert plan.layout(nn.Linear(5, 2), frames) is frames
    cl = frames.contiguous(memory_format=CL)
    assert plan.layout(_ViewFlatten(), cl).is_contiguous()
    assert plan.layout(nn.Conv2d(3, 4, 3), cl) is cl  # already channels-last: no copy
    assert plan.layout(nn.Conv1d(3, 4, 3), torch.rand(6, 3, 5)).is_contiguous()


class _MixingConv(nn.Conv2d):
    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x - x.mean(0))  # mixes frames


@pytest.mark.parametrize(
    ("layer", "train", "want"),
    [
        (nn.Conv2d(1, 1, 1), True, True), (nn.Linear(2, 2), True, True), (nn.Flatten(), True, True),
        (nn.Flatten(0), True, False), (nn.BatchNorm2d(2), True, False), (nn.BatchNorm2d(2), False, True),
        (nn.Dropout(0.5), True, False), (nn.Dropout(0.5), False, True), (_MixingConv(1, 1, 1), True, False),
        (_ViewFlatten(), True, False), (nn.ZeroPad2d(1), True, True),
    ],
)
def test_per_frame(layer: nn.Module, train: bool, want: bool) -> None:
    assert plan.per_frame(layer.train(train)) is want


def test_dense_order_and_inverse() -> None:
    h = torch.rand(3, 2, 4, 5, 6).permute(0, 1, 4, 2, 3)  # [T, B, C, H, W] stored as [T, B, H, W, C]
    perm = plan.dense_order(h)
    assert perm == (0, 1, 3, 4, 2) and h.permute(perm).is_contiguous()
    assert h.permute(perm).permute(plan.inverse(perm)).stride() == h.stride()
    assert plan.dense_order(torch.rand(3, 2, 4, 5, 6)) is None
    assert plan.dense_order(torch.rand(3, 2, 4, 5, 6)[..., ::2]) is None  # no permutation is dense


def test_elementwise_rule() -> None:
    assert plan.elementwise(snn.Leaky(beta=0.9))
    assert plan.elementwise(snn.Synaptic(alpha=0.8, beta=0.9))
    assert plan.elementwise(snn.RLeaky(beta=0.9, all_to_all=False))
    assert not plan.elementwise(snn.RLeaky(beta=0.9, linear_features=3))
    assert not plan.elementwise(snn.Leaky(beta=torch.full((3,), 0.9)))
    with pytest.warns(UserWarning):
        assert not plan.elementwise(snn.Leaky(beta=0.9, inhibition=True))


def _mlp() -> snn.SequentialSNN:
    torch.manual_seed(5)
    return snn.SequentialSNN(nn.Linear(6, 16), snn.Leaky(beta=0.9, init_hidden=True), nn.Linear(16, 4),
                             snn.Synaptic(alpha=0.8, beta=0.9), carry_state=True)


def _rows_seen(net: snn.SequentialSNN) -> list[int]:
    """The frame counts the first layer gets, per call (a wrapped ``forward``, not a hook: a layer with
    hooks runs the whole sequence at once)."""
    rows: list[int] = []
    layer = net[0]
    forward = layer.forward

    def counting(x: Tensor) -> Tensor:
        rows.append(x.shape[0])
        return forward(x)

    layer.forward = counting
    return rows


def test_inference_runs_in_time_chunks_and_equals_whole_run(monkeypatch: pytest.MonkeyPatch) -> None:
    x = torch.rand(9, 3, 6) * 2
    whole_net = _mlp()
    want, _ = whole_net(x, record=True)  # recording: one pass over the whole sequence
    rows_whole = _rows_seen(whole_net)
    whole_net.reset_state()
    whole_net(x, record=True)
    assert rows_whole == [27]
    monkeypatch.setattr(plan, "CHUNK_BYTES", 2 * 3 * 16 * 4)  # two steps of the widest layer (16)
    net = _mlp()
    rows = _rows_seen(net)
    with torch.no_grad():
        got = net(x)
    assert rows == [3, 6, 6, 6, 6]  # one step to size the chunks, then two steps per chunk
    assert got.sum() > 0 and got.shape == (9, 3, 4)
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    for i in (1, 3):  # the carried final states are copies, equal to the whole run's
        for a, b in zip(net._carried[i], whole_net._carried[i]):
            assert a._base is None
            torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert net[1].mem._base is None and net[1].mem.shape == (3, 16)


def test_no_time_chunks_while_a_program_is_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks small enough that the eager run would take several (inference and autograd budgets):
    exported with dynamic T and B under ``no_grad`` (the chunk count, from the example's sizes, once
    made the export fail), the program equals the eager run on another T and B; traced, one pass over
    the whole sequence is recorded, and a longer input is never silently cut to the example's steps."""
    monkeypatch.setattr(plan, "CHUNK_BYTES", 2 * 3 * 16 * 4)
    monkeypatch.setattr(plan, "GRAD_CHUNK_BYTES", 2 * 3 * 16 * 4)
    torch.manual_seed(5)
    net = snn.SequentialSNN(nn.Linear(6, 16), snn.Leaky(beta=0.9), nn.Linear(16, 4),
                            snn.Synaptic(alpha=0.8, beta=0.9)).eval()  # no state kept between calls
    x = torch.rand(9, 3, 6) * 2
    T, B = torch.export.Dim("T", min=2, max=64), torch.export.Dim("B", min=2, max=64)
    with torch.no_grad():
        program = torch.export.export(net, (x,), dynamic_shapes=({0: T, 1: B},)).module()
        x2 = torch.rand(13, 5, 6) * 2
        got, want = program(x2), net(x2)
    assert got.shape == (13, 5, 4) and 0 < got.mean() < 1
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    rows = _rows_seen(net)
    with torch.no_grad():
        traced = torch.jit.trace(net, (x,), check_trace=False)
    assert rows == [27]  # one pass over all 9 * 3 frames while tracing
    with torch.no_grad():
        x3 = torch.rand(9, 3, 6) * 2
        torch.testing.assert_close(traced(x3), net(x3), rtol=0, atol=0)
        longer = torch.rand(12, 3, 6) * 2
        try:
            out = traced(longer)
        except RuntimeError:
            pass  # torch.jit.trace records the example's number of steps: loud, not wrong
        else:
            torch.testing.assert_close(out, net(longer), rtol=0, atol=0)


def _train_net() -> snn.SequentialSNN:
    """Every kind of carried state: membrane, synaptic current, the dense recurrence's spikes; learnable
    one-value parameters (their gradients sum over neurons and chunks)."""
    torch.manual_seed(6)
    return snn.SequentialSNN(
        nn.Linear(6, 16), snn.Leaky(beta=0.9, learn_beta=True, learn_threshold=True),
        nn.Linear(16, 8), snn.Synaptic(alpha=0.8, beta=0.9, learn_alpha=True),
        nn.Linear(8, 4), snn.RLeaky(beta=0.8, linear_features=4, threshold=0.5), carry_state=True,
    ).double()


def _loss_and_grads(net: snn.SequentialSNN, x: Tensor, record: bool) -> tuple[Tensor, list[Tensor]]:
    out = net(x, record=True)[0] if record else net(x)
    weight = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).reshape(out.shape)
    loss = (out * weight).sum() + out.sum(0).pow(2).mean()
    return out, list(torch.autograd.grad(loss, [x, *net.parameters()]))


def test_training_runs_in_time_chunks_and_equals_whole_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """With autograd the sequence also runs in chunks (one graph per chunk, states and their gradients
    carried between chunks); spikes equal the whole run's exactly, gradients (of the input and of
    every parameter) to float64 rounding (only the order of sums over time and batch changes)."""
    x = (torch.rand(9, 3, 6, dtype=torch.float64) * 3).requires_grad_()
    whole_net = _train_net()
    rows_whole = _rows_seen(whole_net)
    want, want_grads = _loss_and_grads(whole_net, x, record=True)  # recording runs the whole sequence
    assert rows_whole == [27]
    monkeypatch.setattr(plan, "GRAD_CHUNK_BYTES", 2 * 3 * 16 * 8)  # two steps of the widest layer
    net = _train_net()
    rows = _rows_seen(net)
    got, got_grads = _loss_and_grads(net, x, record=False)
    assert rows == [3, 6, 6, 6, 6]  # one step to size the chunks, then two steps per chunk
    assert 0 < got.mean() < 1  # some spikes, not all
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    assert all(g.abs().sum() > 0 for g in want_grads)
    for g, w in zip(got_grads, want_grads, strict=True):
        torch.testing.assert_close(g, w, rtol=1e-12, atol=1e-12)
    for i in (1, 3, 5):  # the carried final states equal the whole run's (a Linear over fewer rows
        for a, b in zip(net._carried[i], whole_net._carried[i], strict=True):  # may round otherwise)
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_training_chunks_only_where_frames_stay_apart() -> None:
    net = snn.SequentialSNN(nn.Linear(6, 8), nn.BatchNorm1d(8), snn.Leaky(beta=0.9))
    assert not plan.grad_chunks(net, record=False)  # batch statistics over every frame of the sequence
    assert plan.grad_chunks(net.eval(), record=False)
    assert not plan.grad_chunks(net, record=True)
    rows = _rows_seen(net.train())
    net(torch.rand(20, 3, 6)).sum().backward()
    assert rows == [60]


def test_no_time_chunks_when_a_layer_mixes_frames() -> None:
    net = snn.SequentialSNN(nn.Linear(6, 8), nn.BatchNorm1d(8), snn.Leaky(beta=0.9))
    rows = _rows_seen(net)
    with torch.no_grad():
        net(torch.rand(20, 3, 6))
    assert rows == [60]
    x = torch.rand(2, 3, 6)
    with torch.no_grad():
        assert not plan.time_chunks(net, x, record=False)
        assert plan.time_chunks(net.eval(), x, record=False)
        assert not plan.time_chunks(net, x, record=True)
    assert not plan.time_chunks(net, x, record=False)  # parameters need grad
    net.requires_grad_(False)
    assert plan.time_chunks(net, x, record=False)
    assert not plan.time_chunks(net, x.requires_grad_(), record=False)


def test_chunk_steps() -> None:
    assert plan.chunk_steps(T=10**6, B=4, widest=1024, itemsize=4) == plan.CHUNK_BYTES // (4 * 1024 * 4)
    assert plan.chunk_steps(T=5, B=4, widest=1, itemsize=4) == 5
    assert plan.chunk_steps(T=5, B=1 << 20, widest=1 << 10, itemsize=8) == 1
    # 10 steps fit the budget; 24 steps run as 8 + 8 + 8 rather than 10 + 10 + 4
    assert plan.chunk_steps(T=24, B=1, widest=1, itemsize=4, budget=40) == 8
    assert plan.chunk_steps(T=20, B=1, widest=1, itemsize=4, budget=40) == 10


# ----------------------------------------------------------------------------- spikes kept as bool masks
def _spiking_net(dtype: torch.dtype, **last: object) -> snn.SequentialSNN:
    """Conv and Linear layers whose inputs are spikes (after a neuron, a max pooling, a flatten)."""
    torch.manual_seed(8)
    return snn.SequentialSNN(
        nn.Conv2d(2, 4, 3, padding=1), snn.Leaky(beta=0.7), nn.MaxPool2d(2), nn.Conv2d(4, 6, 3),
        snn.Leaky(beta=0.8), nn.Flatten(), nn.Linear(6 * 2 * 2, 5),
        snn.Leaky(beta=0.9, threshold=0.1, **last), nn.Linear(5, 3), snn.Synaptic(alpha=0.5, beta=0.5),
    ).to(dtype)


def _saved(net: snn.SequentialSNN, x: Tensor) -> tuple[Tensor, list[Tensor], list[torch.dtype]]:
    """Output, gradients of the input and every parameter, and the dtypes of every saved tensor."""
    dtypes: list[torch.dtype] = []

    def pack(t: Tensor) -> Tensor:
        dtypes.append(t.dtype)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = net(x)
    loss = (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).reshape(out.shape)).sum()
    loss = loss + out.sum(0).pow(2).mean()
    return out, list(torch.autograd.grad(loss, [x, *net.parameters()])), dtypes


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_layers_over_spikes_keep_bool_masks_and_equal_torch_layers(monkeypatch: pytest.MonkeyPatch,
                                                                   dtype: torch.dtype) -> None:
    """A Linear or convolution whose input is spikes keeps it as a bool mask for the weight gradient;
    the outputs and every gradient are bit-identical to torch's own layers (the floats rebuilt from
    the mask are exactly the 0s and 1s the layer got)."""
    x = (torch.rand(7, 3, 2, 8, 8, dtype=dtype) * 3).requires_grad_()
    got, got_grads, got_saved = _saved(_spiking_net(dtype), x)
    monkeypatch.setattr(plan.SpikeInput, "fits", staticmethod(lambda layer, frames: False))
    want, want_grads, want_saved = _saved(_spiking_net(dtype), x)
    assert 0 < got.mean() < 1
    assert torch.equal(got, want)
    for g, w in zip(got_grads, want_grads, strict=True):
        assert torch.equal(g, w)
    # three layers over spikes (conv 2, both Linears) save, in every time chunk, a mask where torch
    # saved the floats
    masks = got_saved.count(torch.bool) - want_saved.count(torch.bool)
    assert masks > 0 and masks % 3 == 0
    assert got_saved.count(dtype) == want_saved.count(dtype) - masks


def test_layers_over_values_that_may_not_be_0_or_1_keep_floats(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a layer whose input surely holds 0s and 1s keeps a mask: not after a neuron with a graded
    spike factor other than 1 or a custom spike function, not a layer with a hook (it must run), not
    under autocast, and nothing without autograd."""
    used: list[int] = []  # positions in the container of the layers run as SpikeInput
    real = plan.SpikeInput.run

    def spy(layer: nn.Module, frames: Tensor) -> Tensor:
        used.append(next(i for i, m in enumerate(net) if m is layer))
        return real(layer, frames)

    monkeypatch.setattr(plan.SpikeInput, "run", staticmethod(spy))
    x = torch.rand(4, 2, 2, 8, 8) * 3
    net = _spiking_net(torch.float32)
    net(x).sum().backward()
    assert set(used) == {3, 6, 8}
    for kw in ({"graded_spikes_factor": 2.0}, {"spike_grad": lambda z: torch.sigmoid(z)}):
        used.clear()
        net = _spiking_net(torch.float32, **kw)  # the neuron before layer 8
        net(x).sum().backward()
        assert set(used) == {3, 6}
    used.clear()
    net = _spiking_net(torch.float32)
    seen: list[int] = []
    net[8].register_forward_hook(lambda mod, args, out: seen.append(1))
    net(x).sum().backward()
    assert seen and set(used) == {3, 6}
    used.clear()
    net = _spiking_net(torch.float32)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # the layers compute from bfloat16 casts
        out = net(x)
    out.float().sum().backward()
    assert used == [] and net[8].weight.grad.abs().sum() > 0
    net = _spiking_net(torch.float32)
    with torch.no_grad():
        net(x)
    assert used == []


# ----------------------------------------------------------------------------- recording some layers
def test_record_some_layers_equals_recording_all(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan, "GRAD_CHUNK_BYTES", 2 * 3 * 4 * 64 * 8)  # chunks of two steps
    x = (torch.rand(9, 3, 2, 8, 8, dtype=torch.float64) * 3).requires_grad_()

    def run(record: object) -> tuple[Tensor, dict[int, snn.LayerTrace], list[Tensor]]:
        net = _spiking_net(torch.float64)
        out, traces = net(x, record=record)
        by = {t.index: t for t in traces}
        loss = out.sum() + by[9].states["mem"].pow(2).sum() + by[9].states["syn"].sum()
        loss = loss + by[1].states["mem"].sin().sum() + by[1].spk.sum()
        return out, by, list(torch.autograd.grad(loss, [x, *net.parameters()]))

    all_out, all_tr, all_grads = run(True)
    some_out, some_tr, some_grads = run([1, -1])
    assert sorted(all_tr) == [1, 4, 7, 9] and sorted(some_tr) == [1, 9]
    assert torch.equal(some_out, all_out)
    for i in (1, 9):
        assert torch.equal(some_tr[i].spk, all_tr[i].spk)
        for k in all_tr[i].states:
            assert torch.equal(some_tr[i].states[k], all_tr[i].states[k])
    for g, w in zip(some_grads, all_grads, strict=True):
        torch.testing.assert_close(g, w, rtol=1e-12, atol=1e-12)
    out, none = _spiking_net(torch.float64)(x, record=[])
    assert none == [] and torch.equal(out, all_out)


@pytest.mark.parametrize("record", [[1, 2], [10], [-11], [True], ["0"], [0.5], [1, 1], [1, -1, 9], -1, 0,
                                    None, "1", torch.tensor(True), [torch.tensor(True)], {1: 1}])
def test_record_must_name_neuron_layers(record: object) -> None:
    net = _spiking_net(torch.float32)
    with pytest.raises(ValueError, match=r"^SequentialSNN: record (names|must be)"):
        net(torch.rand(2, 1, 2, 8, 8), record=record)


def test_record_returns_traces_in_the_order_asked() -> None:
    import numpy as np

    net = _spiking_net(torch.float32)
    x = torch.rand(3, 2, 2, 8, 8) * 3
    _, traces = net(x, record=[-1, np.int64(1), torch.tensor(4)])
    assert [t.index for t in traces] == [9, 1, 4]
    _, traces = net(x, record=range(9, 0, -8))
    assert [t.index for t in traces] == [9, 1]


def test_hooked_layers_and_func_transforms_run_the_whole_sequence() -> None:
    """A forward hook sees the whole sequence in one call (monitors count calls; a hook may mix
    frames), and ``torch.func`` transforms run (the chunked path's autograd Functions have no vmap
    rule)."""
    net = _spiking_net(torch.float32)
    x = torch.rand(9, 3, 2, 8, 8) * 3
    seen: list[int] = []
    net[6].register_forward_hook(lambda mod, args, out: seen.append(args[0].shape[0]))
    net(x).sum().backward()
    assert seen == [27]
    net = _spiking_net(torch.float32)
    params = dict(net.named_parameters())
    xs = torch.rand(2, 4, 3, 2, 8, 8) * 3  # two inputs, vmapped
    out = torch.func.vmap(lambda xi: torch.func.functional_call(net, params, (xi,)))(xs)
    for i in range(2):
        assert torch.equal(out[i], net(xs[i]))


def test_empty_batch_gives_empty_output() -> None:
    net = _spiking_net(torch.float32)
    assert net(torch.rand(4, 0, 2, 8, 8)).shape == (4, 0, 3)
