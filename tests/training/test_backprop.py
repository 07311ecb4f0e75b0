"""backprop: windows of K steps on time-varying data, detaching, criterion dispatch, snntorch parity."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

import spikeforge as snn
import spikeforge.functional as SF
from spikeforge import backprop


def make_net(lib=snn, syn_first: bool = False) -> nn.Sequential:
    torch.manual_seed(1)
    first = (
        lib.Synaptic(alpha=0.8, beta=0.9, init_hidden=True)
        if syn_first
        else lib.Leaky(beta=0.9, init_hidden=True)
    )
    return nn.Sequential(
        nn.Linear(4, 5), first, nn.Linear(5, 3), lib.Leaky(beta=0.8, init_hidden=True, output=True)
    )


class CountingSGD(torch.optim.SGD):
    def __init__(self, params, lr: float) -> None:
        super().__init__(params, lr=lr)
        self.steps = 0

    def step(self, closure=None):  # type: ignore[override]
        self.steps += 1
        return super().step(closure)


@pytest.mark.parametrize("k, updates", [(1, 7), (2, 4), (3, 3), (7, 1), (False, 1)])
def test_tbptt_updates_every_k_steps_on_time_varying_data(k, updates: int) -> None:
    net = make_net(syn_first=True)
    opt = CountingSGD(net.parameters(), lr=0.1)
    x, y = torch.rand(7, 2, 4) * 2, torch.tensor([0, 2])
    loss = backprop.TBPTT(net, [(x, y)], opt, SF.mse_count_loss(), K=k)
    assert opt.steps == updates and loss.dim() == 0


def test_all_neurons_are_detached_between_windows() -> None:
    # Two neuron classes (snntorch detaches only one). A state left attached would make the second
    # window's backward run into the first window's freed graph and raise a RuntimeError.
    net = make_net(syn_first=True)
    opt = torch.optim.SGD(net.parameters(), 0.1)
    backprop.TBPTT(net, [(torch.rand(4, 2, 4), torch.tensor([0, 1]))], opt, SF.mse_count_loss(), K=2)
    states = [s for m in net.modules() if isinstance(m, snn.SpikingNeuron) for s in m._states()]
    assert len(states) == 3 and all(s.grad_fn is None for s in states)


def test_membrane_loss_gets_membranes_and_time_varying_labels_are_sliced() -> None:
    net = make_net()
    got = []

    class Spy(SF.mse_membrane_loss):
        def __call__(self, mem_out, targets):
            got.append((mem_out.shape, targets.shape))
            return super().__call__(mem_out, targets)

    y = torch.randint(0, 3, (6, 2))
    backprop.TBPTT(
        net,
        [(torch.rand(6, 2, 4), y)],
        torch.optim.SGD(net.parameters(), 0.1),
        Spy(time_var_targets=True),
        K=4,
    )
    assert got == [((4, 2, 3), (4, 2)), ((2, 2, 3), (2, 2))]


def test_time_first_false_and_regularisation() -> None:
    net = make_net()
    x = torch.rand(2, 5, 4)  # [B, T, ...]
    loss = backprop.BPTT(
        net,
        [(x, torch.tensor([1, 2]))],
        torch.optim.SGD(net.parameters(), 0.1),
        SF.ce_count_loss(),
        time_first=False,
        regularization=SF.l1_rate_sparsity(1.0),
    )
    assert loss.item() > 0


@pytest.mark.parametrize(
    "kw, err",
    [
        ({"num_steps": 3}, ValueError),
        ({"time_var": False}, ValueError),
        ({"time_var": False, "num_steps": 3, "time_first": False}, ValueError),
        ({"time_var": False, "num_steps": 3, "K": 4}, ValueError),
        ({"K": 0}, ValueError),
    ],
)
def test_bad_arguments(kw: dict, err: type) -> None:
    net = make_net()
    with pytest.raises(err):
        backprop.TBPTT(
            net,
            [(torch.rand(3, 2, 4), torch.tensor([0, 1]))],
            torch.optim.SGD(net.parameters(), 0.1),
            SF.ce_rate_loss(),
            **kw,
        )


def test_unknown_criterion_is_a_type_error() -> None:
    net = make_net()
    with pytest.raises(TypeError, match="criterion"):
        backprop.BPTT(
            net,
            [(torch.rand(3, 2, 4), torch.tensor([0, 1]))],
            torch.optim.SGD(net.parameters(), 0.1),
            nn.CrossEntropyLoss(),
        )


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("loss", ["mse_count_loss", "ce_rate_loss", "ce_count_loss"])
@pytest.mark.parametrize("fn, kw", [("BPTT", {}), ("TBPTT", {"K": 2}), ("RTRL", {})])
def test_matches_snntorch_on_static_data(fn: str, kw: dict, loss: str, seed: int) -> None:
    """Same returned loss, bit for bit (values and shape: 0-d for the count losses, (1,) for ce_rate_loss),
    and the same weights after the updates (K divides T, where snntorch's loss is right)."""
    torch.manual_seed(seed)
    snntorch = pytest.importorskip("snntorch")
    from snntorch import backprop as sbp
    from snntorch import functional as sF

    ours = make_net()
    theirs = make_net(snntorch)
    theirs.load_state_dict(copy.deepcopy(ours.state_dict()), strict=False)
    data = [(torch.rand(3, 4) * 2, torch.tensor([0, 2, 1])) for _ in range(2)]
    a = getattr(backprop, fn)(
        ours,
        data,
        torch.optim.SGD(ours.parameters(), lr=0.5),
        getattr(SF, loss)(),
        num_steps=6,
        time_var=False,
        **kw,
    )
    b = getattr(sbp, fn)(
        theirs,
        data,
        torch.optim.SGD(theirs.parameters(), lr=0.5),
        getattr(sF, loss)(),
        num_steps=6,
        time_var=False,
        **kw,
    )
    assert a.shape == ((1,) if loss == "ce_rate_loss" else ())
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    for (n, p), q in zip(ours.named_parameters(), theirs.parameters()):
        torch.testing.assert_close(p, q, msg=n)
