"""spikegen: hand-derived values (API.md section 4), errors, dtype, reproducibility."""

from __future__ import annotations

import math

import pytest
import torch

import spikeforge.spikegen as sg

A = torch.tensor([0.02, 0.5, 1.0])


def test_latency_code_log_matches_rc_equation() -> None:
    # t = tau * ln(x / (x - thr)), thr = 0.01
    expect = [math.log(0.02 / 0.01), math.log(0.5 / 0.49), math.log(1 / 0.99)]
    torch.testing.assert_close(sg.latency_code(A, num_steps=5)[0], torch.tensor(expect))
    torch.testing.assert_close(sg.latency_code(A, num_steps=5, tau=5)[0], 5 * torch.tensor(expect))
    # normalised: latest (x=0.02) spike lands on num_steps - 1 = 4
    norm = sg.latency_code(A, num_steps=5, normalize=True)[0]
    torch.testing.assert_close(norm, 4 * torch.tensor(expect) / expect[0])


def test_latency_code_linear_and_mask() -> None:
    torch.testing.assert_close(sg.latency_code(A, linear=True, tau=3)[0], torch.tensor([2.94, 1.5, 0.0]))
    torch.testing.assert_close(
        sg.latency_code(A, 5, normalize=True, linear=True)[0], torch.tensor([3.92, 2.0, 0.0])
    )
    assert sg.latency_code(torch.tensor([0, 0.005, 0.5]))[1].tolist() == [True, True, False]
    torch.testing.assert_close(
        sg.latency_code_linear(torch.tensor([0.0, 1.0]), num_steps=5, first_spike_time=2),
        torch.tensor([2.99, 2.0]),
    )
    log = sg.latency_code_log(torch.tensor([0.0, 1.0]), num_steps=5, first_spike_time=2)
    assert torch.round(log).tolist() == [14, 2]  # ln(1e-2+1e-7 / 1e-7) ~ 11.5 -> 13.5 with the shift


def test_latency_spike_rasters() -> None:
    out = sg.latency(A, num_steps=5, normalize=True, linear=True)
    assert out.tolist() == [[0, 0, 1], [0, 0, 0], [0, 1, 0], [0, 0, 0], [1, 0, 0]]
    assert sg.latency(A, num_steps=5, tau=5).tolist() == [
        [0, 1, 1],
        [0, 0, 0],
        [0, 0, 0],
        [1, 0, 0],
        [0, 0, 0],
    ]
    clipped = sg.latency(torch.tensor([0, 0.005, 0.5]), num_steps=5, normalize=True, linear=True, clip=True)
    assert clipped.tolist() == [[0, 0, 0], [0, 0, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0]]
    shifted = sg.latency(A, num_steps=6, first_spike_time=2, normalize=True, linear=True)
    assert shifted.argmax(0).tolist() == [5, 4, 2]
    assert sg.latency(A, bypass=True).tolist() == [[0, 1, 1], [1, 0, 0]]
    onoff = sg.latency(A, num_steps=5, normalize=True, linear=True, on_target=1.5, off_target=0.2)
    torch.testing.assert_close(onoff, torch.where(out == 1, 1.5, 0.2))
    assert sg.latency(torch.rand(2, 3), num_steps=4, normalize=True, linear=True).shape == (4, 2, 3)


def test_latency_negative_off_target_is_off_everywhere() -> None:
    out = sg.latency(A, num_steps=5, normalize=True, linear=True, off_target=-1.0)
    assert out.sum(0).tolist() == [1 - 4, 1 - 4, 1 - 4]


def test_latency_interpolate_ramps() -> None:
    out = sg.latency(A, num_steps=5, normalize=True, linear=True, interpolate=True)
    expect = [[0, 0, 1], [0.25, 0.5, 0], [0.5, 1, 0], [0.75, 0, 0], [1, 0, 0]]
    torch.testing.assert_close(out, torch.tensor(expect))
    ramp = sg.latency_interpolate(torch.tensor([0.0, 4.0]), 5, on_target=1.25, off_target=0.25)
    torch.testing.assert_close(ramp[:, 1], torch.tensor([0.25, 0.5, 0.75, 1.0, 1.25]))
    torch.testing.assert_close(ramp[:, 0], torch.tensor([1.25, 0.25, 0.25, 0.25, 0.25]))


def test_delta_vectors() -> None:
    b = torch.tensor([1, 2, 0, 2, 2.9])
    assert sg.delta(b, threshold=1).tolist() == [1, 1, 0, 1, 0]
    assert sg.delta(b, threshold=1, padding=True).tolist() == [0, 1, 0, 1, 0]
    assert sg.delta(b, threshold=1, off_spike=True).tolist() == [1, 1, -1, 1, 0]
    assert sg.delta(b, threshold=1, padding=True, off_spike=True).tolist() == [0, 1, -1, 1, 0]
    assert sg.delta(torch.tensor([1, 2, 2.91, 3, 3.9]), 0.1).tolist() == [1, 1, 1, 0, 1]
    ints = sg.delta(torch.tensor([0, 3, 1]), threshold=2, off_spike=True)
    assert ints.dtype == torch.int64 and ints.tolist() == [0, 1, -1]


def test_rate_static_and_time_varying() -> None:
    x = torch.tensor([[0, 0.25, 1, 1.7, -0.3]])
    spk = sg.rate(x, num_steps=4)
    assert spk.shape == (4, 1, 5)
    assert spk[:, 0, 2].tolist() == [1] * 4 and spk[:, 0, 3].tolist() == [1] * 4  # clipped to p=1
    assert spk[:, 0, 0].sum() == 0 and spk[:, 0, 4].sum() == 0  # clipped to p=0
    assert sg.rate(torch.ones(2, 3), num_steps=5, first_spike_time=2).sum((1, 2)).tolist() == [0, 0, 6, 6, 6]
    tv = sg.rate(torch.ones(3, 2), time_var_input=True, first_spike_time=2)
    assert tv.shape == (5, 2) and tv.sum(1).tolist() == [0, 0, 2, 2, 2]
    # gain and offset apply to time-varying input too: p = 0 * x + 1
    assert sg.rate(torch.zeros(3, 2), time_var_input=True, gain=0, offset=1).sum() == 6


def test_rate_generator_reproducible_and_statistics() -> None:
    x = torch.full((4000,), 0.3)
    a = sg.rate(x, num_steps=3, generator=torch.Generator().manual_seed(7))
    b = sg.rate(x, num_steps=3, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b)
    torch.manual_seed(3)
    c = sg.rate_conv(x)
    torch.manual_seed(3)
    assert torch.equal(c, sg.rate_conv(x))
    assert abs(a.mean().item() - 0.3) < 0.02  # 12000 Bernoulli(0.3) draws: sd ~ 0.004


def test_targets() -> None:
    assert sg.to_one_hot(torch.tensor([1, 0]), 3).tolist() == [[0, 1, 0], [1, 0, 0]]
    assert sg.to_one_hot(torch.tensor([2.0]), 3).tolist() == [[0, 0, 1]]
    assert sg.from_one_hot(torch.tensor([[0, 0, 1], [0, 1, 0]])).tolist() == [2, 1]
    assert sg.from_one_hot(torch.tensor([0, 1, 0])).tolist() == [1]
    assert sg.to_one_hot_inverse(torch.tensor([[0.0, 1.0]])).tolist() == [[1, 0]]
    assert sg.targets_convert(torch.tensor([4]), 5).tolist() == [[0, 0, 0, 0, 1]]
    assert sg.targets_convert(torch.tensor([1]), 3, on_target=0, off_target=-1).tolist() == [[-1, 0, -1]]
    timed = sg.targets_rate(torch.tensor([1]), 2, num_steps=3, first_spike_time=1)
    assert timed.tolist() == [[[0, 0]], [[0, 1]], [[0, 1]]]
    lat = sg.targets_latency(torch.tensor([0, 3]), 4, num_steps=5, normalize=True)[:, 0]
    assert lat.tolist() == [[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 1, 1, 1]]
    # rates other than 1/0 work for any num_steps / num_classes (regular pattern, T=5, C=3)
    r = sg.targets_rate(torch.tensor([2]), 3, num_steps=5, correct_rate=0.5, incorrect_rate=0.25)
    assert r[:, 0].tolist() == [[1, 1, 1], [0, 0, 0], [0, 0, 1], [0, 0, 0], [1, 1, 1]]
    # latency code forwards on/off targets
    lat2 = sg.targets_convert(
        torch.tensor([0]), 2, code="latency", num_steps=3, normalize=True, off_target=0.5
    )
    assert lat2[:, 0].tolist() == [[1, 0.5], [0.5, 0.5], [0.5, 1]]


def test_target_rate_code_and_rate_interpolate() -> None:
    spk, t = sg.target_rate_code(5, rate=0.5)
    assert spk.tolist() == [1, 0, 1, 0, 1] and t.tolist() == [0, 2, 4]
    spk, t = sg.target_rate_code(5, rate=0)
    assert spk.sum() == 0 and t.numel() == 0
    g = torch.Generator().manual_seed(1)
    spk, t = sg.target_rate_code(20, rate=0.5, firing_pattern="poisson", generator=g)
    assert torch.equal(torch.nonzero(spk)[:, 0], t)
    torch.testing.assert_close(
        sg.rate_interpolate(torch.tensor([0, 4]), 5), torch.tensor([1, 0, 1 / 3, 2 / 3, 1])
    )
    torch.testing.assert_close(
        sg.rate_interpolate(torch.tensor([0, 4]), 5, 1.25, 0.25),
        torch.tensor([1.25, 0.25, 0.25 + 1 / 3, 0.25 + 2 / 3, 1.25]),
    )


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: sg.rate(torch.rand(3)), "num_steps"),
        (lambda: sg.rate(torch.tensor([0.1, float("nan")]), num_steps=2), "NaN"),
        (lambda: sg.rate(torch.rand(3), num_steps=3, first_spike_time=3), "first_spike_time"),
        (lambda: sg.rate(torch.rand(3, 2), num_steps=3, time_var_input=True), "num_steps"),
        (lambda: sg.latency(torch.tensor([0.5, 1.2]), num_steps=5), r"\[0, 1\]"),
        (lambda: sg.latency(torch.tensor([0.5]), num_steps=5, threshold=0), "threshold"),
        (lambda: sg.latency(torch.tensor([0.5])), "num_steps"),
        (lambda: sg.latency(torch.tensor([0.5]), num_steps=5, tau=0), "tau"),
        (lambda: sg.latency(torch.tensor([0.02]), num_steps=2, tau=5), "does not fit"),
        (lambda: sg.latency_code(torch.tensor([0.5]), normalize=True), "normalize"),
        (lambda: sg.to_one_hot(torch.tensor([3]), 3), "num_classes"),
        (lambda: sg.to_one_hot(torch.tensor([-1]), 3), "num_classes"),
        (lambda: sg.targets_rate(torch.tensor([0]), 2, correct_rate=0.5), "num_steps"),
        (lambda: sg.targets_convert(torch.tensor([0]), 2, code="phase"), "code"),
        (lambda: sg.delta(torch.tensor([1.0, float("nan")])), "NaN"),
        (lambda: sg.from_one_hot(torch.tensor([[1, 1]])), "exactly one"),
    ],
)
def test_bad_input_raises(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


def test_float64_in_float64_out() -> None:
    x = torch.rand(2, 3, dtype=torch.float64)
    assert sg.rate(x, num_steps=3).dtype == torch.float64
    assert sg.rate_conv(x).dtype == torch.float64
    assert sg.latency(x, num_steps=5, normalize=True).dtype == torch.float64
    assert sg.latency(x, num_steps=5, normalize=True, interpolate=True).dtype == torch.float64
    assert sg.latency_code(x, num_steps=5)[0].dtype == torch.float64
    assert sg.delta(x).dtype == torch.float64


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available")
def test_cpu_equals_cuda() -> None:
    x = torch.rand(4, 3, dtype=torch.float64)
    for fn in (
        lambda d: sg.latency(d, num_steps=6, normalize=True),
        lambda d: sg.delta(d, 0.2, off_spike=True),
        lambda d: sg.latency(d, num_steps=6, normalize=True, linear=True, interpolate=True),
    ):
        torch.testing.assert_close(fn(x), fn(x.cuda()).cpu())
    y = torch.tensor([1, 0, 2])
    torch.testing.assert_close(
        sg.targets_rate(y, 3, num_steps=4, correct_rate=0.5),
        sg.targets_rate(y.cuda(), 3, num_steps=4, correct_rate=0.5).cpu(),
    )


def test_latency_normalize_with_a_vanishing_threshold_says_why() -> None:
    # threshold 1e-9 vanishes against x in float32: t = tau*ln(x/(x - thr)) = ln(1) = 0 for every x,
    # so there is no latest spike to stretch to num_steps - 1
    with pytest.raises(ValueError, match="every input spikes at time 0"):
        sg.latency(torch.tensor([0.1, 0.9]), num_steps=5, normalize=True, threshold=1e-9)


def test_zero_steps_is_named_as_given() -> None:
    # num_steps=0 was given: say that it gives no steps rather than that it is missing
    x = torch.rand(3, 4)
    with pytest.raises(ValueError, match=r"must be a positive int for static input, got 0 \(no time steps\)"):
        sg.rate(x, num_steps=0)
    with pytest.raises(ValueError, match=r"num_steps must be a positive int, got 0 \(no time steps\)"):
        sg.latency(x, num_steps=0)
    with pytest.raises(ValueError, match=r"must be a positive int \(the number of time steps\), got 0"):
        sg.target_rate_code(0)
    with pytest.raises(ValueError, match="num_steps must be a positive int for static input: the number"):
        sg.rate(x)  # not given at all
