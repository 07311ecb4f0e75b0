"""Differential tests against snntorch 1.0.0 on random inputs, where snntorch is right."""

from __future__ import annotations

import pytest
import torch

import spikeforge.spikegen as sg

ss = pytest.importorskip("snntorch.spikegen")


@pytest.mark.parametrize("seed", range(5))
def test_latency_family(seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(4, 6, generator=g)
    for kw in (
        {"normalize": True},
        {"normalize": True, "linear": True},
        {"tau": 0.5},
        {"normalize": True, "first_spike_time": 3},
        {"normalize": True, "clip": True, "threshold": 0.3},
        {"normalize": True, "linear": True, "interpolate": True},
        {"normalize": True, "on_target": 1.5, "off_target": 0.25},
    ):
        torch.testing.assert_close(sg.latency(x, num_steps=12, **kw), ss.latency(x, num_steps=12, **kw))
    for kw in ({}, {"linear": True, "tau": 4}, {"normalize": True, "num_steps": 9, "first_spike_time": 2}):
        ours, theirs = sg.latency_code(x, **kw), ss.latency_code(x, **kw)
        torch.testing.assert_close(ours[0], theirs[0])
        assert torch.equal(ours[1], theirs[1])
    torch.testing.assert_close(sg.latency(x, bypass=True, tau=2), ss.latency(x, bypass=True, tau=2))


@pytest.mark.parametrize("seed", range(3))
def test_delta_and_targets(seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(10, 3, 4, generator=g)
    for kw in (
        {},
        {"padding": True},
        {"off_spike": True, "threshold": 0.5},
        {"padding": True, "off_spike": True},
    ):
        torch.testing.assert_close(sg.delta(x, **kw), ss.delta(x, **kw))
    y = torch.randint(0, 5, (7,), generator=g)
    torch.testing.assert_close(sg.to_one_hot(y, 5), ss.to_one_hot(y, 5))
    torch.testing.assert_close(
        sg.targets_rate(y, 5, on_target=0.9, off_target=0.1),
        ss.targets_rate(y, 5, on_target=0.9, off_target=0.1),
    )
    torch.testing.assert_close(
        sg.targets_rate(y, 5, num_steps=6, first_spike_time=2),
        ss.targets_rate(y, 5, num_steps=6, first_spike_time=2),
    )
    # snntorch's non-default rates only run when num_steps == num_classes and interpolate=True
    kw = {
        "num_steps": 5,
        "correct_rate": 0.5,
        "incorrect_rate": 0.25,
        "on_target": 1.2,
        "off_target": 0.1,
        "interpolate": True,
    }
    torch.testing.assert_close(sg.targets_rate(y, 5, **kw), ss.targets_rate(y, 5, **kw))
    kw = {"num_steps": 8, "normalize": True, "linear": True}
    torch.testing.assert_close(sg.targets_latency(y, 5, **kw), ss.targets_latency(y, 5, **kw))
    times = torch.unique(torch.randint(0, 9, (3,), generator=g))
    torch.testing.assert_close(
        sg.rate_interpolate(times, 10, 1.5, 0.5), ss.rate_interpolate(times, 10, 1.5, 0.5)
    )
    for r in (1, 0.5, 0.3, 0.7):
        for a, b in zip(sg.target_rate_code(11, 2, r), ss.target_rate_code(11, 2, r)):
            assert a.tolist() == b.tolist()


def test_rate_draws_match_under_the_same_seed() -> None:
    x = torch.rand(3, 5) * 1.4 - 0.2
    torch.manual_seed(11)
    theirs = ss.rate(x, num_steps=6, gain=0.8, offset=0.1, first_spike_time=1)
    torch.manual_seed(11)
    ours = sg.rate(x, num_steps=6, gain=0.8, offset=0.1, first_spike_time=1)
    assert torch.equal(ours, theirs)
    torch.manual_seed(4)
    theirs = ss.rate_conv(x)
    torch.manual_seed(4)
    assert torch.equal(sg.rate_conv(x), theirs)
