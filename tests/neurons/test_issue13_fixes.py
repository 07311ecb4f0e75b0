"""Fixed drop-in bugs: zeroing a leaf that requires grad, LeakyParallel dropout, calling BNTT like a layer."""

from __future__ import annotations

import warnings

import pytest
import snntorch
import torch
from torch import nn

import spikeforge as snn
from spikeforge.neurons._base import SpikingNeuron


def test_zeros_on_a_leaf_that_requires_grad_zeroes_it_in_place() -> None:
    p = nn.Parameter(torch.tensor([1.0, -2.0, 3.0]))
    leaf = torch.tensor([[4.0, 5.0]], requires_grad=True)
    plain = torch.ones(2, 2)
    SpikingNeuron.zeros(p, leaf, plain)
    for t, shape in ((p, (3,)), (leaf, (1, 2)), (plain, (2, 2))):
        assert torch.equal(t, torch.zeros(shape))
    # still the same trainable leaves
    assert p.is_leaf and p.requires_grad and leaf.is_leaf and leaf.requires_grad
    # zeroed outside autograd: a later use differentiates as usual, d(sum(2*p))/dp = 2
    (2 * p).sum().backward()
    assert torch.equal(p.grad, torch.full((3,), 2.0))


def test_zeros_on_a_non_leaf_zeroes_it_through_autograd() -> None:
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    snn.Leaky.zeros(y)
    assert torch.equal(y, torch.zeros(2))
    # y no longer depends on x: d(sum y)/dx = 0
    y.sum().backward()
    assert torch.equal(x.grad, torch.zeros(2))


def _parallel(dropout: float) -> snn.LeakyParallel:
    # W_ih = 1, b_ih = b_hh = 0.5, W_hh = beta*I with beta = 0.5: for an all-ones input of 2 features,
    # U[0] = 2 + 1 = 3 and U[t] = 3 + 0.5*U[t-1] > 1 = threshold, so every neuron spikes at every step
    lp = snn.LeakyParallel(2, 3, beta=0.5, dropout=dropout)
    with torch.no_grad():
        lp.rnn.weight_ih_l0.fill_(1.0)
        lp.rnn.bias_ih_l0.fill_(0.5)
        lp.rnn.bias_hh_l0.fill_(0.5)
    return lp


def test_leaky_parallel_dropout_one_silences_training_mode() -> None:
    x = torch.ones(6, 4, 2)
    lp = _parallel(1.0)
    lp.train()
    spk, mem = lp.forward_sequence(x)
    # dropout with p = 1 zeroes U; H(0 - 1) = 0: no spike anywhere
    assert torch.equal(mem, torch.zeros(6, 4, 3))
    assert torch.equal(lp(x), torch.zeros(6, 4, 3))
    assert torch.equal(spk, torch.zeros(6, 4, 3))
    lp.eval()  # dropout is off in eval mode: every neuron fires (derivation in _parallel)
    assert torch.equal(lp(x), torch.ones(6, 4, 3))


def test_leaky_parallel_dropout_keeps_or_scales_each_membrane() -> None:
    x = torch.ones(5, 8, 2)
    lp = _parallel(0.5)
    # eval membrane: U[0] = 3, U[t] = 3 + 0.5*U[t-1]
    u = [3.0]
    for _ in range(4):
        u.append(3.0 + 0.5 * u[-1])
    ref = torch.tensor(u).reshape(5, 1, 1).expand(5, 8, 3)
    lp.eval()
    assert torch.allclose(lp.forward_sequence(x)[1], ref)
    lp.train()
    _, mem = lp.forward_sequence(x)
    kept = mem != 0
    # inverted dropout: each element is 0 or U / (1 - 0.5); both occur among 120 draws
    assert torch.allclose(mem[kept], 2 * ref[kept])
    assert 0 < int(kept.sum()) < kept.numel()


def test_leaky_parallel_dropout_has_no_torch_warning_and_checks_its_range() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lp = snn.LeakyParallel(2, 3, dropout=0.3)  # torch warns about dropout in a 1-layer nn.RNN
    assert lp.dropout == 0.3
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="dropout"):
            snn.LeakyParallel(2, 3, dropout=bad)


@pytest.mark.parametrize(
    ("make", "x"),
    [("BatchNormTT1d", torch.rand(4, 3)), ("BatchNormTT2d", torch.rand(4, 3, 2, 2))],
)
def test_calling_bntt_like_a_layer_says_to_index_it(make: str, x: torch.Tensor) -> None:
    bn = getattr(snn, make)(3, 5)
    with pytest.raises(TypeError, match=r"5 BatchNorm\dd layers.*bn\[t\]\(x\)"):
        bn(x)
    # still snntorch's ModuleList: same repr, same state_dict keys, usable per step
    ref = getattr(snntorch, make)(3, 5)
    assert isinstance(bn, nn.ModuleList)
    assert repr(bn) == repr(ref)
    assert list(bn.state_dict()) == list(ref.state_dict())
    bn.eval()
    # eval with fresh statistics (mean 0, var 1), weight 1, no bias: x / sqrt(1 + eps)
    assert torch.allclose(bn[2](x), x / (1 + 1e-5) ** 0.5)


class _PerStep(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.bn = snn.BatchNormTT1d(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = []
        for t, bn in enumerate(self.bn):
            out.append(bn(x[t]))
        return torch.stack(out)


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_a_model_looping_over_bntt_still_scripts() -> None:
    model = _PerStep().eval()
    x = torch.rand(2, 4, 3)
    assert torch.equal(torch.jit.script(model)(x), model(x))
