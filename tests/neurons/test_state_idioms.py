"""snntorch's state idioms keep working when the batch size changes; forward_sequence starts clean."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

import spikeforge as snn


def _net(lib: object) -> nn.Module:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 3)
            self.lif = lib.Leaky(beta=0.8)  # type: ignore[attr-defined]
            self.syn = lib.Synaptic(alpha=0.7, beta=0.8)  # type: ignore[attr-defined]

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            mem = self.lif.init_leaky()  # snntorch tutorials reset like this at every batch
            syn, mem2 = self.syn.init_synaptic()
            out = []
            for xt in x.unbind(0):
                spk, mem = self.lif(self.fc(xt), mem)
                spk2, syn, mem2 = self.syn(spk, syn, mem2)
                out.append(spk2)
            return torch.stack(out)

    return Net()


def test_init_leaky_idiom_with_changing_batch_size_matches_snntorch() -> None:
    st = pytest.importorskip("snntorch")
    torch.manual_seed(0)
    ours = _net(snn)
    theirs = _net(st)
    theirs.load_state_dict(ours.state_dict())
    for batch in (5, 2, 7):  # a full batch, a short last batch, a larger test batch
        x = torch.rand(6, batch, 4) * 3
        torch.testing.assert_close(ours(x), theirs(x))


def test_a_zero_state_of_another_shape_restarts_from_zero_silently() -> None:
    """snntorch replaces a passed state of the wrong shape by zeros; a zero one changes nothing.
    From zero: U = 0.5*0 + X - 0 = X = 1 (no spike yet: the reset uses the previous membrane)."""
    lif = snn.Leaky(beta=0.5)
    lif(torch.ones(3, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spk, mem = lif(torch.ones(3, 2), torch.zeros(2, 2))
    assert torch.equal(mem, torch.ones(3, 2)) and torch.equal(spk, torch.zeros(3, 2))


def test_forward_sequence_without_state_starts_from_zero_after_a_forward_call() -> None:
    lif = snn.Leaky(beta=0.5)
    lif(torch.full((1, 1), 0.7))  # leaves mem = 0.7 stored
    spk, mem = lif.forward_sequence(torch.full((2, 1, 1), 0.4))
    # from zero: U0 = 0.4, U1 = 0.5*0.4 + 0.4 = 0.6 (no spike, no reset)
    assert mem.item() == pytest.approx(0.6)
    assert spk.sum().item() == 0


def test_fixed_one_to_one_recurrence_is_callable_and_keeps_snntorch_keys() -> None:
    lif = snn.RLeaky(beta=0.5, V=torch.tensor([0.5, -1.0]), all_to_all=False, learn_recurrent=False)
    torch.testing.assert_close(lif.recurrent(torch.ones(2)), torch.tensor([0.5, -1.0]))
    assert "recurrent.V" not in lif.state_dict() and "V" in lif.state_dict()


def test_forward_sequence_states_continue_the_sequence() -> None:
    lif = snn.RLeaky(beta=0.7, V=0.4, all_to_all=False)
    x = torch.rand(8, 2, 3) * 2
    spk_all, *_ = lif.forward_sequence(x)
    spk_a, *states = lif.forward_sequence(x[:5])
    spk_b, *_ = lif.forward_sequence(x[5:], *states)
    torch.testing.assert_close(torch.cat([spk_a, spk_b]), spk_all)


def test_recurrent_sizes_refuse_bools() -> None:
    with pytest.raises(ValueError, match="linear_features must be a positive int, got True"):
        snn.RLeaky(beta=0.5, linear_features=True)
    with pytest.raises(ValueError, match="kernel_size must be a positive int, got 0"):
        snn.RSynaptic(alpha=0.6, beta=0.5, conv2d_channels=2, kernel_size=0)
