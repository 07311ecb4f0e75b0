"""Losses and accuracy refuse empty recordings (T, B or C = 0) instead of returning NaN, accept
whole-number float labels (as snntorch's accuracy_rate and mse_count_loss do) and refuse fractional
ones. Values for float labels are compared with snntorch 1.0.0 given int64 labels."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

import spikeforge.functional as SF

snnf = pytest.importorskip("snntorch.functional")

Fn = Callable[[torch.Tensor, torch.Tensor], Any]

LABEL_FNS: dict[str, Fn] = {
    "ce_rate_loss": SF.ce_rate_loss(),
    "ce_count_loss": SF.ce_count_loss(),
    "mse_count_loss": SF.mse_count_loss(correct_rate=0.8, incorrect_rate=0.1),
    "ce_max_membrane_loss": SF.ce_max_membrane_loss(),
    "mse_membrane_loss": SF.mse_membrane_loss(),
    "mse_temporal_loss": SF.mse_temporal_loss(),
    "ce_temporal_loss": SF.ce_temporal_loss(),
    "accuracy_rate": SF.accuracy_rate,
    "accuracy_temporal": SF.accuracy_temporal,
}


@pytest.mark.parametrize("name", list(LABEL_FNS))
@pytest.mark.parametrize(
    ("shape", "labels", "dim"),
    [
        ((0, 3, 4), [0, 1, 2], r"T = 0, dim 0"),
        ((5, 0, 4), [], r"B = 0, dim 1"),
        ((5, 3, 0), [0, 0, 0], r"C = 0"),
    ],
    ids=["T0", "B0", "C0"],
)
def test_empty_output_is_a_value_error(
    name: str, shape: tuple[int, ...], labels: list[int], dim: str
) -> None:
    out = torch.ones(shape)
    with pytest.raises(ValueError, match=rf"is empty: .*{dim}"):
        LABEL_FNS[name](out, torch.tensor(labels, dtype=torch.long))


def test_empty_time_with_time_targets() -> None:
    loss = SF.mse_temporal_loss(target_is_time=True)
    with pytest.raises(ValueError, match=r"spk_out is empty: .*T = 0"):
        loss(torch.ones(0, 2, 3), torch.zeros(2, 3))


def test_empty_time_with_per_step_membrane_targets() -> None:
    loss = SF.mse_membrane_loss(time_var_targets=True)
    with pytest.raises(ValueError, match=r"mem_out is empty: .*T = 0"):
        loss(torch.ones(0, 2, 3), torch.zeros(0, 2, dtype=torch.long))


#: snntorch 1.0.0 refuses fractional labels in its cross-entropy losses (torch needs int64 targets)
REFUSING = ["ce_rate_loss", "ce_count_loss", "ce_max_membrane_loss", "ce_temporal_loss"]


@pytest.mark.parametrize("name", REFUSING)
def test_fractional_float_label_is_refused_where_snntorch_refuses_it(name: str) -> None:
    out = (torch.rand(6, 3, 4) < 0.4).float()
    with pytest.raises(ValueError, match="whole class indices"):
        LABEL_FNS[name](out, torch.tensor([0.5, 1.0, 2.0]))


ACCEPTING: dict[str, Fn] = {
    "mse_count_loss": snnf.mse_count_loss(correct_rate=0.8, incorrect_rate=0.1),
    "mse_membrane_loss": snnf.mse_membrane_loss(),
    "accuracy_rate": snnf.accuracy_rate,
    "accuracy_temporal": snnf.accuracy_temporal,
}


@pytest.mark.parametrize("name", list(ACCEPTING))
def test_fractional_float_labels_compute_what_snntorch_computes_and_warn(name: str) -> None:
    """The squared-error losses cast labels to int (2.7 -> class 2, as snntorch's one-hot does); the
    accuracies compare the label itself with the predicted class, so 2.7 is never right."""
    torch.manual_seed(5)
    out = (torch.rand(6, 4, 4) < 0.5).float()
    y = torch.tensor([0.5, 1.0, 2.7, 3.0])
    ours, ref = LABEL_FNS[name], ACCEPTING[name]
    with pytest.warns(UserWarning, match=f"{name}: fractional class labels"):
        got = ours(out, y)
    want = ref(out, y)
    if name.startswith("accuracy"):
        assert got == pytest.approx(want)
    else:
        torch.testing.assert_close(got, want, rtol=0, atol=0)
        torch.testing.assert_close(got, ours(out, y.trunc()), rtol=0, atol=0)


def test_mse_temporal_loss_truncates_fractional_labels_with_a_warning() -> None:
    torch.manual_seed(6)
    out = (torch.rand(6, 3, 4) < 0.5).float()
    loss = SF.mse_temporal_loss()
    with pytest.warns(UserWarning, match="mse_temporal_loss: fractional class labels are truncated"):
        got = loss(out, torch.tensor([0.9, 3.5, 2.0]))
    torch.testing.assert_close(got, loss(out, torch.tensor([0, 3, 2])))


def test_whole_float_labels_match_snntorch() -> None:
    torch.manual_seed(3)
    spk = (torch.rand(7, 5, 4) < 0.4).float()
    y = torch.tensor([0, 3, 1, 2, 3])
    yf = y.double()
    assert SF.accuracy_rate(spk, yf) == pytest.approx(snnf.accuracy_rate(spk, yf))
    ref = snnf.mse_count_loss(correct_rate=0.8, incorrect_rate=0.1)(spk, yf)
    got = SF.mse_count_loss(correct_rate=0.8, incorrect_rate=0.1)(spk, yf)
    torch.testing.assert_close(got, ref, rtol=1e-6, atol=1e-7)
    # snntorch's cross-entropy losses need int64 labels; the float labels give its int64 value
    ref_ce = snnf.ce_rate_loss()(spk, y)
    torch.testing.assert_close(SF.ce_rate_loss()(spk, yf), ref_ce, rtol=1e-6, atol=1e-7)
