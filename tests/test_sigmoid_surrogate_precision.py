"""The sigmoid surrogate's gradient keeps its relative precision where sigmoid(kU) is close to 1."""

from __future__ import annotations

import math

import pytest
import torch

from spikeforge import surrogate


def _analytic(k: float, u: float) -> float:
    """``k e^{-k|U|} / (1 + e^{-k|U|})^2`` in float64: no cancellation for either sign (symmetric)."""
    e = math.exp(-k * abs(u))
    return k * e / (1.0 + e) ** 2


def _grad(k: float, u: torch.Tensor) -> torch.Tensor:
    x = u.clone().requires_grad_(True)
    surrogate.sigmoid(slope=k)(x).sum().backward()
    return x.grad


@pytest.mark.parametrize(
    ("dtype", "kus", "rtol"),
    [
        # float32: 1 - sigmoid(kU) rounds to 0 from kU ~ 17 on (s*(1-s) gives 0 there)
        (torch.float32, [0.5, 5.0, 17.0, 20.0, 30.0, 50.0, 80.0], 1e-5),
        # float64: from kU ~ 37 on
        (torch.float64, [0.5, 5.0, 37.0, 40.0, 100.0, 300.0, 700.0], 1e-12),
    ],
)
@pytest.mark.parametrize("k", [25.0, 4.0])
def test_sigmoid_gradient_relative_error(dtype: torch.dtype, kus: list[float], rtol: float, k: float) -> None:
    u = torch.tensor([ku / k for ku in kus], dtype=dtype)
    for sign in (1.0, -1.0):
        got = _grad(k, sign * u)
        assert got.dtype == dtype
        want = torch.tensor([_analytic(k, float(v)) for v in u], dtype=torch.float64)
        assert torch.allclose(got.double(), want, rtol=rtol, atol=0), (sign, got, want)
        assert bool((got > 0).all())


def test_the_cancelling_form_would_fail_this_test() -> None:
    # s*(1-s) at kU = 20 in float32 is 0, while the gradient is k*e^-20 ~ 5.2e-8 (what the test above needs)
    s = torch.sigmoid(torch.tensor(20.0))
    assert (s * (1 - s)).item() == 0.0
    assert _grad(1.0, torch.tensor([20.0])).item() == pytest.approx(math.exp(-20), rel=1e-5)
