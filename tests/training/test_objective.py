"""`--loss` names: each maps to the library's loss on the right output (spikes or membrane), and its
readout predicts the class the matching accuracy measure counts as correct."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import spikeforge.functional as SF
from spikeforge.training._objective import Objective
from spikeforge.training.trainer import LOSSES

# 4 steps, 3 samples, 3 classes
SPK = torch.tensor([
    [[0, 1, 0], [1, 1, 0], [0, 0, 0]],
    [[1, 1, 0], [1, 1, 0], [0, 0, 0]],
    [[0, 1, 1], [0, 0, 1], [0, 0, 0]],
    [[0, 0, 0], [0, 0, 1], [0, 0, 0]],
], dtype=torch.float32)
# counts: sample 0 (1, 3, 1), sample 1 (2, 2, 2), sample 2 (0, 0, 0)
MEM = torch.tensor([
    [[0.1, 0.2, 0.9], [0.5, 0.1, 0.0], [0.0, 0.0, 0.0]],
    [[0.3, 0.2, 0.0], [0.5, 0.6, 0.0], [0.0, -1.0, 0.0]],
], dtype=torch.float32)


def test_count_readout_by_hand() -> None:
    pred, score = Objective("ce_rate").predict(SPK, MEM)
    assert pred.tolist() == [1, 0, 0]  # ties go to the lowest class
    e = math.e
    assert score[0].tolist() == pytest.approx([e / (2 * e + e**3), e**3 / (2 * e + e**3), e / (2 * e + e**3)])
    assert score[1].tolist() == pytest.approx([1 / 3] * 3) and score[2].tolist() == pytest.approx([1 / 3] * 3)


def test_first_spike_readout_by_hand() -> None:
    # first spikes: sample 0 at (1, 0, 2), sample 1 at (0, 0, 2), sample 2 silent (3, 3, 3)
    for name in ("ce_temporal", "mse_temporal"):
        pred, score = Objective(name).predict(SPK, MEM)
        assert pred.tolist() == [1, 0, 0]
        e = math.e
        assert score[0].tolist() == pytest.approx([e**-1 / (e**-1 + 1 + e**-2), 1 / (e**-1 + 1 + e**-2),
                                                   e**-2 / (e**-1 + 1 + e**-2)])


def test_membrane_readouts_by_hand() -> None:
    # peak: sample 0 (0.3, 0.2, 0.9) -> 2; sample 1 (0.5, 0.6, 0) -> 1; sample 2 (0, 0, 0) -> 0
    assert Objective("ce_max_membrane").predict(SPK, MEM)[0].tolist() == [2, 1, 0]
    # mean: sample 0 (0.2, 0.2, 0.45) -> 2; sample 1 (0.5, 0.35, 0) -> 0; sample 2 (0, -0.5, 0) -> 0
    assert Objective("mse_membrane").predict(SPK, MEM)[0].tolist() == [2, 0, 0]


@pytest.mark.parametrize("name", LOSSES)
def test_each_loss_reads_the_library_loss_on_the_right_output(name: str) -> None:
    torch.manual_seed(0)
    spk = (torch.rand(5, 4, 3) < 0.4).float().requires_grad_()
    mem = torch.randn(5, 4, 3, requires_grad=True)
    y = torch.tensor([0, 1, 2, 1])
    loss = Objective(name).loss(spk, mem, y)
    reference = {
        "ce_rate": lambda: SF.ce_rate_loss()(spk, y),
        "ce_count": lambda: SF.ce_count_loss()(spk, y),
        "mse_count": lambda: SF.mse_count_loss(correct_rate=0.8, incorrect_rate=0.2)(spk, y),
        "ce_max_membrane": lambda: SF.ce_max_membrane_loss()(mem, y),
        "mse_membrane": lambda: SF.mse_membrane_loss()(mem, y),
        "ce_temporal": lambda: SF.ce_temporal_loss()(spk, y),
        "mse_temporal": lambda: SF.mse_temporal_loss()(spk, y),
    }[name]()
    assert torch.equal(loss, reference)
    loss.backward()
    uses_mem = "membrane" in name
    assert (mem.grad is not None) == uses_mem and (spk.grad is not None) != uses_mem


def test_unknown_loss_names_the_choices() -> None:
    with pytest.raises(ValueError, match="choose --loss from ce_rate, ce_count"):
        Objective("hinge")


@given(st.integers(1, 6), st.integers(1, 5), st.integers(2, 5), st.integers(0, 2**31 - 1))
def test_readouts_agree_with_the_library_accuracy(t: int, b: int, c: int, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    spk = (torch.rand(t, b, c, generator=g) < 0.3).float()
    y = torch.randint(0, c, (b,), generator=g)
    for name, accuracy in (("ce_rate", SF.accuracy_rate), ("ce_temporal", SF.accuracy_temporal)):
        pred, score = Objective(name).predict(spk, torch.zeros_like(spk))
        assert float((pred == y).double().mean()) == float(accuracy(spk, y))
        assert torch.allclose(score.sum(1), torch.ones(b)) and torch.equal(score.argmax(1), pred)
