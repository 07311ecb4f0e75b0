"""Latency codes of data outside [0, 1]: ``latency_code*`` compute it as snntorch 1.0.0 does (values
above 1 spike earlier) and warn; ``latency`` refuses it, as snntorch's does. Values by hand from the
code equations, and against snntorch on random data."""

from __future__ import annotations

import math

import pytest
import torch

from spikeforge import spikegen as sg


def test_log_code_above_one_spikes_earlier() -> None:
    x = torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64)
    with pytest.warns(UserWarning, match=r"data should lie in \[0, 1\]"):
        t = sg.latency_code_log(x, tau=1, threshold=0.01)
    expected = [math.log(v / (v - 0.01)) for v in (0.5, 1.0, 2.0)]  # t = tau ln(x / (x - thr))
    torch.testing.assert_close(t, torch.tensor(expected, dtype=torch.float64))
    assert t[2] < t[1] < t[0]


def test_negative_data_acts_as_the_threshold() -> None:
    with pytest.warns(UserWarning):
        t = sg.latency_code_linear(torch.tensor([-0.5, 0.01]), tau=2)
    torch.testing.assert_close(t, torch.full((2,), 2 * 0.99))  # tau (1 - max(x, thr))


def test_linear_code_above_one_gives_negative_times_and_normalize_stretches_them() -> None:
    with pytest.warns(UserWarning):
        t = sg.latency_code_linear(torch.tensor([0.0, 0.5, 1.5], dtype=torch.float64), tau=1)
    torch.testing.assert_close(t, torch.tensor([0.99, 0.5, -0.5], dtype=torch.float64))
    with pytest.warns(UserWarning):
        t = sg.latency_code_linear(torch.tensor([0.0, 0.5, 1.5], dtype=torch.float64), num_steps=5,
                                   normalize=True)
    # tau = num_steps - 1 = 4: times [3.96, 2, -2]; the negative one makes snntorch map [min, max] onto [0, 4]
    raw = torch.tensor([3.96, 2.0, -2.0], dtype=torch.float64)
    torch.testing.assert_close(t, (raw + 2) / 5.96 * 4)
    in_range, _ = sg.latency_code(torch.tensor([0.0, 0.5]), num_steps=5, normalize=True, linear=True)
    torch.testing.assert_close(in_range, torch.tensor([3.96, 2.0]))  # no stretch without negative times


def test_latency_itself_still_refuses_data_outside_the_unit_range() -> None:
    for bad in (torch.tensor([0.2, 1.5]), torch.tensor([-0.1, 0.5])):
        with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
            sg.latency(bad, num_steps=5)


def test_same_numbers_as_snntorch_on_random_data_outside_the_range() -> None:
    ss = pytest.importorskip("snntorch.spikegen")
    torch.manual_seed(0)
    x = torch.rand(4, 6) * 3  # in [0, 3)
    cases = [
        ("latency_code_log", {}), ("latency_code_log", {"num_steps": 9, "normalize": True}),
        ("latency_code_log", {"tau": 5, "first_spike_time": 2}),
        ("latency_code_linear", {}), ("latency_code_linear", {"num_steps": 9, "normalize": True}),
        ("latency_code_linear", {"num_steps": 9, "normalize": True, "first_spike_time": 3}),
    ]
    for name, kwargs in cases:
        with pytest.warns(UserWarning):
            ours = getattr(sg, name)(x, **kwargs)
        assert torch.equal(ours, getattr(ss, name)(x, **kwargs)), (name, kwargs)
    with pytest.warns(UserWarning):
        ours, below = sg.latency_code(x - 0.5, num_steps=9, normalize=True, linear=True)
    ref, ref_below = ss.latency_code(x - 0.5, num_steps=9, normalize=True, linear=True)
    assert torch.equal(ours, ref) and torch.equal(below, ref_below)
