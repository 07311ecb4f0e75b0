"""The losses and surrogate gradients compute in snntorch 1.0.0's order of operations, so a training
loop prints snntorch's numbers digit for digit (a different summation order gives losses a few ulps
apart, which grow over optimizer steps once a spike crosses the threshold differently)."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

import spikeforge as sf
import spikeforge.functional as SF
from spikeforge import surrogate as fs
from spikeforge import utils as fu

snt = pytest.importorskip("snntorch")
snnf = pytest.importorskip("snntorch.functional")
ss = pytest.importorskip("snntorch.surrogate")
su = pytest.importorskip("snntorch.utils")

LOSSES = [
    ("ce_rate_loss", {}), ("ce_rate_loss", {"reduction": "sum"}), ("ce_rate_loss", {"reduction": "none"}),
    ("mse_count_loss", {}), ("mse_count_loss", {"correct_rate": 0.8, "incorrect_rate": 0.2}),
    ("mse_count_loss", {"reduction": "sum"}), ("mse_membrane_loss", {}),
    ("mse_membrane_loss", {"on_target": 1.05, "off_target": 0.2}), ("ce_count_loss", {}),
    ("ce_max_membrane_loss", {}),
]


@pytest.mark.parametrize(("name", "kwargs"), LOSSES, ids=[f"{n}-{k}" for n, k in LOSSES])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_loss_and_gradient_bit_for_bit(name: str, kwargs: dict, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    if "membrane" in name:
        out = torch.randn(25, 64, 10, generator=gen)
    else:
        out = (torch.rand(25, 64, 10, generator=gen) > 0.7).float()
    y = torch.randint(0, 10, (64,), generator=gen)
    a, b = out.clone().requires_grad_(), out.clone().requires_grad_()
    ours, ref = getattr(SF, name)(**kwargs)(a, y), getattr(snnf, name)(**kwargs)(b, y)
    assert torch.equal(ours.reshape(-1), ref.reshape(-1))
    ours.sum().backward()
    ref.sum().backward()
    assert torch.equal(a.grad, b.grad)


SURROGATES = [("atan", ()), ("atan", (3.0,)), ("fast_sigmoid", ()), ("fast_sigmoid", (7.0,)), ("sigmoid", ()),
              ("sigmoid", (5.0,)), ("spike_rate_escape", ()), ("SFS", ()), ("triangular", ()),
              ("straight_through_estimator", ()), ("heaviside", ())]


@pytest.mark.parametrize(("name", "args"), SURROGATES, ids=[f"{n}{a}" for n, a in SURROGATES])
def test_surrogate_gradient_bit_for_bit(name: str, args: tuple) -> None:
    """float32 (snntorch's spikes are always float32, so its float64 gradients pass through float32),
    over ``|U| <= 1.5``, where snntorch's sigmoid does not overflow (see the next test)."""
    gen = torch.Generator().manual_seed(11)
    x = torch.rand(20000, generator=gen) * 3 - 1.5
    g = torch.randn(20000, generator=gen)
    a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
    getattr(fs, name)(*args)(a).backward(g)
    getattr(ss, name)(*args)(b).backward(g)
    assert torch.equal(a.grad, b.grad)


def test_sigmoid_differs_only_where_snntorch_overflows() -> None:
    """snntorch's ``e/(e+1)^2`` overflows for ``slope*U`` below about -44 (float32): 0, then NaN. There
    spikeforge gives the true tiny positive value; everywhere else the same bits."""
    x = torch.tensor([-10.0, -2.0, -0.5, 0.0, 0.5, 10.0], requires_grad=True)  # slope * x = -250 .. 250
    fs.sigmoid()(x).sum().backward()
    ref_x = x.detach().clone().requires_grad_()
    ss.sigmoid()(ref_x).sum().backward()
    mid = slice(2, 6)  # slope * x >= -12.5: both finite, no overflow
    assert torch.equal(x.grad[mid], ref_x.grad[mid])
    assert torch.isnan(ref_x.grad[0]) and x.grad[0] == 0  # 25 e^-250 underflows to 0 in float32
    assert ref_x.grad[1] == 0  # (e^50 + 1)^2 overflows: e / inf
    torch.testing.assert_close(x.grad[1], torch.tensor(25 * 1.9287498479639178e-22), rtol=1e-5, atol=0)


def _net(m, s) -> nn.Sequential:
    g = s.fast_sigmoid(slope=25)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.MaxPool2d(2), m.Leaky(beta=0.5, spike_grad=g, init_hidden=True), nn.Flatten(),
        nn.Linear(4 * 3 * 3, 10), m.Leaky(beta=0.5, spike_grad=g, init_hidden=True, output=True),
    )


def test_a_short_training_run_prints_the_same_losses() -> None:
    """Tutorial 6's loop (conv net, fast sigmoid, ce_rate_loss, Adam) on random images: the losses of
    several steps are equal to snntorch's, not just close."""
    torch.manual_seed(4)
    data = torch.rand(16, 1, 8, 8) * 3
    targets = torch.randint(0, 10, (16,))
    ours, ref = _net(sf, fs), _net(snt, ss)
    ours.load_state_dict(ref.state_dict())
    losses = []
    for net, utils, loss_fn in ((ours, fu, SF.ce_rate_loss()), (ref, su, snnf.ce_rate_loss())):
        opt = torch.optim.Adam(net.parameters(), lr=1e-2)
        run = []
        for _ in range(4):
            utils.reset(net)
            spk = torch.stack([net(data)[0] for _ in range(10)])
            loss = loss_fn(spk, targets)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.append(loss.item())
        losses.append(run)
    assert losses[0] == losses[1]
    assert len(set(losses[0])) > 1  # the network learns: the check compares changing numbers
