"""`mse_temporal_loss` / `SpikeTime` with several target times per class (tensors, arrays, lists)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import spikeforge.functional as SF

T, B, C = 12, 2, 3
Y = torch.tensor([0, 2])
ON, OFF = (2, 5), (7, 10)


def _on_target_spikes(on: tuple[int, ...], off: tuple[int, ...]) -> torch.Tensor:
    """Spikes exactly at the target times: the true class at ``on``, the others at ``off``."""
    spk = torch.zeros(T, B, C)
    for b in range(B):
        for c in range(C):
            for t in on if c == int(Y[b]) else off:
                spk[t, b, c] = 1.0
    return spk


FORMS: list[Any] = [torch.tensor, np.array, list, tuple, lambda v: torch.tensor(v, dtype=torch.float64)]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("multi_spike", [False, True])
def test_spikes_on_their_target_times_give_zero_loss(form: Any, multi_spike: bool) -> None:
    loss_fn = SF.mse_temporal_loss(on_target=form(ON), off_target=form(OFF), multi_spike=multi_spike)
    spk = _on_target_spikes(ON, OFF)
    assert loss_fn(spk, Y).item() == 0.0
    times, targets = loss_fn.spk_time_fn(spk, Y)
    # [F, B, C]: the first and second spike of each output against the first and second target
    expect = torch.tensor([[[2.0, 7.0, 7.0], [7.0, 7.0, 2.0]], [[5.0, 10.0, 10.0], [10.0, 10.0, 5.0]]])
    assert torch.equal(targets, expect)
    assert torch.equal(times, expect)


@pytest.mark.parametrize("multi_spike", [False, True])
def test_one_spike_off_target_by_one_step(multi_spike: bool) -> None:
    spk = _on_target_spikes(ON, OFF)
    spk[2, 0, 0], spk[3, 0, 0] = 0.0, 1.0  # sample 0's true class fires first at 3 instead of 2
    loss_fn = SF.mse_temporal_loss(
        on_target=torch.tensor(ON), off_target=torch.tensor(OFF), multi_spike=multi_spike
    )
    # one of F*B*C = 12 terms is ((3 - 2)/T)^2, the rest 0; 'mean' divides by 12
    assert loss_fn(spk, Y).item() == pytest.approx((1 / T) ** 2 / 12, rel=1e-6)


def test_negative_target_times_count_from_the_end_for_each_spike() -> None:
    loss_fn = SF.mse_temporal_loss(on_target=torch.tensor([1, -3]), off_target=torch.tensor([-2, -1]))
    _, targets = loss_fn.spk_time_fn(torch.zeros(T, B, C), Y)
    # -3 -> T - 3 = 9, -2 -> 10, -1 -> 11
    assert targets[:, 0].tolist() == [[1.0, 10.0, 10.0], [9.0, 11.0, 11.0]]


def test_one_time_per_class_keeps_the_two_dimensional_shapes() -> None:
    for on, off in ((2, 7), (torch.tensor(2), torch.tensor(7)), ([2], [7])):
        times, targets = SF.mse_temporal_loss(on_target=on, off_target=off).spk_time_fn(
            _on_target_spikes((2,), (7,)), Y
        )
        assert times.shape == targets.shape == (B, C)
        assert torch.equal(times, targets)
    # with multi_spike a single time is F = 1
    _, targets = SF.mse_temporal_loss(on_target=torch.tensor(2), off_target=7, multi_spike=True).spk_time_fn(
        torch.zeros(T, B, C), Y
    )
    assert targets.shape == (1, B, C)


def test_gradient_of_several_target_times_is_the_sign_estimator() -> None:
    spk = _on_target_spikes(ON, OFF).requires_grad_(True)
    spk.data[5, 1, 2], spk.data[6, 1, 2] = 0.0, 1.0  # sample 1's true class: 2nd spike at 6, target 5
    loss = SF.mse_temporal_loss(on_target=torch.tensor(ON), off_target=torch.tensor(OFF))(spk, Y)
    loss.backward()
    # d loss / d t = 2*(6 - 5)/T^2/12 at that spike; the sign estimator puts -(d loss / d t) on its step
    grad = torch.zeros(T, B, C)
    grad[6, 1, 2] = -2 * (6 - 5) / T**2 / 12
    assert torch.allclose(spk.grad, grad)


@pytest.mark.parametrize(
    ("on", "off", "match"),
    [
        (torch.tensor([1, 2]), torch.tensor([3, 4, 5]), "same number"),
        (torch.zeros(2, 2), torch.zeros(2, 2), "1-D"),
        ([], [], "1-D"),
        ("soon", "late", "time step"),
    ],
)
def test_bad_target_times_are_named(on: Any, off: Any, match: str) -> None:
    for multi_spike in (False, True):
        with pytest.raises(ValueError, match=match):
            SF.mse_temporal_loss(on_target=on, off_target=off, multi_spike=multi_spike)
