"""``SequentialSNN`` equals the same layers stepped by hand, and keeps no state between calls."""

from __future__ import annotations

import torch
from torch import nn

import spikeforge as snn
from spikeforge.utils import reset


def _layers() -> tuple[nn.Module, ...]:
    torch.manual_seed(1)
    return (
        nn.Conv2d(1, 2, 3, padding=1), nn.MaxPool2d(2), snn.Leaky(beta=0.8, init_hidden=True), nn.Flatten(),
        nn.Linear(2 * 2 * 2, 5), snn.Synaptic(alpha=0.7, beta=0.9, learn_beta=True, reset_mechanism="zero"),
    )


def _stepped(layers: tuple[nn.Module, ...], x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    conv, pool, lif1, flat, fc, lif2 = layers
    mem1 = torch.zeros(x.shape[1], 2, 2, 2)
    syn2 = mem2 = torch.zeros(x.shape[1], 5)
    out, mems = [], []
    for xt in x.unbind(0):
        spk1, mem1 = lif1._step_fn(pool(conv(xt)), lif1._state_type(mem1), lif1.params(), lif1.firing())
        spk1, mem1 = spk1, mem1.mem
        spk2, st = lif2._step_fn(fc(flat(spk1)), lif2._state_type(syn2, mem2), lif2.params(), lif2.firing())
        syn2, mem2 = st
        out.append(spk2)
        mems.append(mem2)
    return torch.stack(out), torch.stack(mems)


def test_sequential_matches_step_loop_values_and_gradients():
    layers = _layers()
    net = snn.SequentialSNN(*layers)
    x = torch.rand(12, 3, 1, 4, 4) * 3
    spk, traces = net(x, record=True)
    want_spk, want_mem = _stepped(layers, x)
    assert spk.shape == (12, 3, 5) and spk.sum() > 0
    torch.testing.assert_close(spk, want_spk, rtol=0, atol=0)
    assert [t.index for t in traces] == [2, 5] and set(traces[1].states) == {"syn", "mem"}
    torch.testing.assert_close(traces[1].states["mem"], want_mem, rtol=1e-6, atol=1e-6)
    loss = spk.sum() + traces[1].states["mem"].pow(2).mean()
    got = torch.autograd.grad(loss, [layers[0].weight, layers[5].beta])
    want = torch.autograd.grad(want_spk.sum() + want_mem.pow(2).mean(), [layers[0].weight, layers[5].beta])
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_no_state_leaks_between_calls_unless_carried():
    net = snn.SequentialSNN(nn.Linear(3, 4), snn.Leaky(beta=0.9, init_hidden=True))
    x = torch.rand(6, 2, 3) * 2
    first = net(x)
    assert torch.equal(net(x), first)  # the stored state of the first call is not used
    carried = snn.SequentialSNN(net[0], snn.Leaky(beta=0.9), carry_state=True)
    a = carried(x)
    b = carried(x)
    whole = snn.SequentialSNN(net[0], snn.Leaky(beta=0.9))(torch.cat([x, x]))
    torch.testing.assert_close(torch.cat([a, b]), whole, rtol=0, atol=0)
    reset(carried)
    assert torch.equal(carried(x), first)


def test_bad_input_is_rejected():
    net = snn.SequentialSNN(nn.Linear(3, 4), snn.Leaky(beta=0.9))
    try:
        net(torch.rand(3))
    except ValueError as e:
        assert "[T, B, ...]" in str(e)
    else:
        raise AssertionError("a 1-d input must raise")


def test_data_parallel_replica_keeps_its_own_carried_state() -> None:
    net = snn.SequentialSNN(torch.nn.Linear(3, 4), snn.Leaky(beta=0.9), carry_state=True)
    replica = net._replicate_for_data_parallel()
    replica(torch.rand(5, 2, 3))
    assert net._carried == {}  # the original never saw a forward, so it carries nothing
    assert set(replica._carried) == {1}


def test_a_learnable_graded_factor_raises_no_autograd_warning() -> None:
    """Reading the factor's value to plan the run must not convert a tensor that requires grad (torch
    warns then, an error under ``-W error``); its gradient still reaches it."""
    import warnings

    torch.manual_seed(0)
    net = snn.SequentialSNN(nn.Linear(4, 3), snn.Leaky(beta=0.9, learn_graded_spikes_factor=True))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spk = net(torch.rand(5, 2, 4) * 3)
        spk.sum().backward()
    g = net[1].graded_spikes_factor
    assert g.grad is not None and g.grad.item() == spk.detach().sum().item()  # d(g * H)/dg = H, summed
