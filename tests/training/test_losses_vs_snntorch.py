"""Differential tests against snntorch 1.0.0 on random inputs, for the cases where snntorch is right."""

from __future__ import annotations

import pytest
import torch

import spikeforge.functional as SF
from spikeforge.functional import quant

snnF = pytest.importorskip("snntorch.functional")
from snntorch.functional import quant as squant  # noqa: E402


def same(a: torch.Tensor, b: torch.Tensor) -> None:
    """Equal values and the same shape (snntorch's ce_rate_loss/mse_membrane_loss return (1,))."""
    torch.testing.assert_close(a, b)


@pytest.mark.parametrize("seed", range(4))
def test_losses_and_accuracy_match(seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    t, b, c = 7, 5, 5
    spk = (torch.rand(t, b, c, generator=g) > 0.6).float()
    mem = torch.randn(t, b, c, generator=g)
    y = torch.randint(0, c, (b,), generator=g)
    w = torch.rand(c, generator=g) + 0.1
    for red in ("mean", "none"):
        same(SF.ce_rate_loss(reduction=red)(spk, y), snnF.ce_rate_loss(reduction=red)(spk, y))
        same(SF.ce_count_loss(reduction=red)(spk, y), snnF.ce_count_loss(reduction=red)(spk, y))
        same(SF.ce_max_membrane_loss(reduction=red)(mem, y), snnF.ce_max_membrane_loss(reduction=red)(mem, y))
        same(
            SF.mse_count_loss(0.7, 0.2, reduction=red)(spk, y),
            snnF.mse_count_loss(0.7, 0.2, reduction=red)(spk, y),
        )
        kw = {"on_target": 1.2, "off_target": 0.1, "reduction": red}
        same(SF.mse_membrane_loss(**kw)(mem, y), snnF.mse_membrane_loss(**kw)(mem, y))
        kw = {"on_target": 1, "off_target": 5, "tolerance": 2, "reduction": red}
        same(SF.mse_temporal_loss(**kw)(spk, y), snnF.mse_temporal_loss(**kw)(spk, y))
        for inv in ("negate", "reciprocal"):
            same(
                SF.ce_temporal_loss(inv, reduction=red)(spk, y),
                snnF.ce_temporal_loss(inv, reduction=red)(spk, y),
            )
    # weights: snntorch is right for the cross-entropy losses (and for MSE only when B == C, as here)
    same(SF.ce_rate_loss(weight=w)(spk, y), snnF.ce_rate_loss(weight=w)(spk, y))
    same(SF.ce_count_loss(weight=w)(spk, y), snnF.ce_count_loss(weight=w)(spk, y))
    same(SF.ce_temporal_loss(weight=w)(spk, y), snnF.ce_temporal_loss(weight=w)(spk, y))
    assert SF.accuracy_rate(spk, y) == snnF.accuracy_rate(spk, y)
    assert SF.accuracy_temporal(spk, y) == snnF.accuracy_temporal(spk, y)
    same(SF.l1_rate_sparsity(0.3)(spk), snnF.l1_rate_sparsity(0.3)(spk))
    spk6 = (torch.rand(t, b, 6, generator=g) > 0.5).float()
    y3 = y % 3
    same(SF.ce_count_loss(True, 3)(spk6, y3), snnF.ce_count_loss(True, 3)(spk6, y3))
    same(
        SF.mse_count_loss(population_code=True, num_classes=3)(spk6, y3),
        snnF.mse_count_loss(population_code=True, num_classes=3)(spk6, y3),
    )
    assert SF.accuracy_rate(spk6, y3, True, 3) == snnF.accuracy_rate(spk6, y3, True, 3)


def test_temporal_gradients_match() -> None:
    spk = (torch.rand(6, 3, 4) > 0.6).float()
    y = torch.tensor([0, 3, 1])
    ours, theirs = spk.clone().requires_grad_(), spk.clone().requires_grad_()
    SF.mse_temporal_loss(on_target=1, off_target=4)(ours, y).backward()
    snnF.mse_temporal_loss(on_target=1, off_target=4)(theirs, y).backward()
    torch.testing.assert_close(ours.grad, theirs.grad)


@pytest.mark.parametrize(
    "kw",
    [
        {"num_bits": 3},
        {"num_bits": 4, "uniform": False},
        {"num_bits": 3, "uniform": False, "thr_centered": False, "threshold": 2},
    ],
)
def test_state_quant_matches(kw: dict) -> None:
    x = torch.randn(200) * 1.5
    torch.testing.assert_close(quant.state_quant(**kw)(x), squant.state_quant(**kw)(x))


@pytest.mark.parametrize("seed", range(10))
def test_weighted_rate_loss_rounds_as_snntorch(seed: int) -> None:
    """The class weight multiplies each step's loss before the sum over steps, as in snntorch: the
    same bits, not only the same value to rounding."""
    g = torch.Generator().manual_seed(seed)
    spk = (torch.rand(9, 6, 5, generator=g) > 0.5).float()
    y = torch.randint(0, 5, (6,), generator=g)
    w = torch.rand(5, generator=g) + 0.1
    for red in ("mean", "none"):
        got = SF.ce_rate_loss(weight=w, reduction=red)(spk, y)
        torch.testing.assert_close(got, snnF.ce_rate_loss(weight=w, reduction=red)(spk, y), rtol=0, atol=0)
    # 'sum' with weights: snntorch 1.0.0 returns the unreduced [B] losses (docs/differences.md); their sum
    got = SF.ce_rate_loss(weight=w, reduction="sum")(spk, y)
    want = snnF.ce_rate_loss(weight=w, reduction="sum")(spk, y)
    assert want.shape == (6,)
    torch.testing.assert_close(got, want.sum(), rtol=0, atol=0)
