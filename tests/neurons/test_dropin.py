"""What snntorch's tutorials do that a strict neuron refused (issue 13): each is accepted and computes
snntorch 1.0.0's numbers. Expected values come from the update equations (written out in each test)
and from snntorch 1.0.0 on the same inputs; ``print(module)`` equals snntorch's for every neuron."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import nn

import spikeforge as sf

snt = pytest.importorskip("snntorch")


def _quiet(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _leaky_reference(beta: float, xs: list[float], u0: float = 0.0) -> tuple[list[float], list[float]]:
    """Leaky, subtract reset, theta = 1: R = H(U[t-1] - 1); U[t] = beta U[t-1] + X[t] - R; S = H(U - 1)."""
    u, spk, mem = u0, [], []
    for x in xs:
        r = 1.0 if u > 1.0 else 0.0
        u = beta * u + x - r
        spk.append(1.0 if u > 1.0 else 0.0)
        mem.append(u)
    return spk, mem


# ------------------------------------------------------------------ a (1,) state with a 0-d input
def test_leaky_tutorial_zeros_1_state_with_scalar_current() -> None:
    """Tutorial 3: ``mem = torch.zeros(1)`` and ``cur_in[step]`` a 0-d tensor. snntorch replaces the
    (1,) state by zeros of the input's shape (), so every mem is 0-d; no warning (the state is zero)."""
    xs = [0.0] * 3 + [0.4] * 12
    expected_spk, expected_mem = _leaky_reference(0.8, xs)
    ours, theirs = sf.Leaky(beta=0.8), snt.Leaky(beta=0.8)
    mem_o, mem_t = torch.zeros(1), torch.zeros(1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for step, x in enumerate(xs):
            spk_o, mem_o = ours(torch.tensor(x), mem_o)
            spk_t, mem_t = theirs(torch.tensor(x), mem_t)
            assert mem_o.shape == mem_t.shape == ()
            assert mem_o.item() == pytest.approx(expected_mem[step], abs=1e-6)
            assert spk_o.item() == expected_spk[step] == spk_t.item()
            torch.testing.assert_close(mem_o, mem_t)
    assert sum(expected_spk) >= 2  # the test exercises the reset


@pytest.mark.parametrize(
    ("name", "kwargs", "n_states"),
    [("Synaptic", {"alpha": 0.7, "beta": 0.8}, 2), ("Alpha", {"alpha": 0.8, "beta": 0.6}, 3),
     ("Lapicque", {"R": 5.0, "C": 5e-3, "time_step": 1e-3}, 1)],
)
def test_other_tutorial_neurons_with_1_element_states_and_scalar_input(
    name: str, kwargs: dict[str, Any], n_states: int
) -> None:
    torch.manual_seed(0)
    ours, theirs = getattr(sf, name)(**kwargs), getattr(snt, name)(**kwargs)
    states_o = states_t = tuple(torch.zeros(1) for _ in range(n_states))
    for x in torch.rand(12) * 1.5:
        spk_o, *states_o = ours(x, *states_o)
        spk_t, *states_t = theirs(x, *states_t)
        torch.testing.assert_close(spk_o, spk_t)
        for a, b in zip(states_o, states_t):
            torch.testing.assert_close(a, b)
            assert a.shape == ()


def test_a_nonzero_mismatched_state_is_dropped_as_in_snntorch_and_warns() -> None:
    """Tutorial 2's Lapicque starts from ``torch.ones(1) * 0.9``; with a 0-d input snntorch drops
    that value (zeros of shape ()): U[0] = 0 + X dt/C. We compute the same and say so once."""
    ours, theirs = sf.Lapicque(R=5.0, C=1e-3, time_step=1e-3), snt.Lapicque(R=5.0, C=1e-3, time_step=1e-3)
    with pytest.warns(UserWarning, match=r"`mem` has shape \(1,\) but this input needs \(\)"):
        _, mem = ours(torch.tensor(0.1), torch.ones(1) * 0.9)
    _, ref = theirs(torch.tensor(0.1), torch.ones(1) * 0.9)
    assert mem.item() == pytest.approx(0.1 * 1e-3 / 1e-3, abs=1e-6)  # X dt / C from zero
    torch.testing.assert_close(mem, ref)


def test_a_float64_state_with_float32_input_computes_in_float64_as_snntorch() -> None:
    """U = 0.5*0.3 + 0.2 in float64 (the promoted dtype; 0.2 is the float32 input), one warning."""
    lif = sf.Leaky(beta=0.5)
    with pytest.warns(UserWarning, match="has dtype torch.float64 but the input has torch.float32"):
        _, mem = lif(torch.tensor([0.2]), torch.tensor([0.3], dtype=torch.float64))
    _, ref = snt.Leaky(beta=0.5)(torch.tensor([0.2]), torch.tensor([0.3], dtype=torch.float64))
    assert mem.dtype == ref.dtype == torch.float64
    expected = 0.5 * 0.3 + float(torch.tensor(0.2, dtype=torch.float32))
    assert mem.item() == pytest.approx(expected, abs=1e-15)
    assert ref.item() == pytest.approx(expected, abs=1e-15)


# ------------------------------------------------------------------ StateLeaky / LinearLeaky
def _state_leaky_reference(beta: float, x: torch.Tensor, taps: int | None = None) -> torch.Tensor:
    """U[t] = sum_{j=0}^{K-1} exp(-j / tau) X[t - j], tau = 1/(1 - beta), per feature, in float64."""
    tau = 1 / (1 - beta)
    steps = x.shape[0]
    k = steps if taps is None else min(taps, steps)
    out = torch.zeros_like(x, dtype=torch.float64)
    for t in range(steps):
        for j in range(min(k, t + 1)):
            out[t] += math.exp(-j / tau) * x[t - j].double()
    return out


@pytest.mark.parametrize("taps", [None, 2])
def test_stateleaky_one_channel_is_broadcast_over_the_features(taps: int | None) -> None:
    torch.manual_seed(1)
    x = torch.rand(7, 3, 5)
    ours = sf.StateLeaky(beta=0.6, channels=1, kernel_truncation_steps=taps)
    theirs = snt.StateLeaky(beta=0.6, channels=1, kernel_truncation_steps=taps)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spk, mem = ours(x)
    expected = _state_leaky_reference(0.6, x, taps)
    torch.testing.assert_close(mem.double(), expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(spk, (expected > 1).float())
    ref_spk, ref_mem = theirs(x)
    torch.testing.assert_close(mem, ref_mem)
    torch.testing.assert_close(spk, ref_spk)


def test_stateleaky_channel_count_mismatch_with_one_beta_warns_once_and_computes_the_same() -> None:
    x = torch.rand(4, 2, 5)
    layer = sf.StateLeaky(beta=0.5, channels=3)
    with pytest.warns(UserWarning, match="input_ has 5 features but channels=3"):
        _, mem = layer(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layer(x)  # once
    torch.testing.assert_close(mem.double(), _state_leaky_reference(0.5, x), atol=1e-5, rtol=0)
    torch.testing.assert_close(mem, snt.StateLeaky(beta=0.5, channels=3)(x)[1])


def test_stateleaky_per_channel_beta_still_needs_matching_features() -> None:
    """snntorch fails too (a reshape error); one beta per channel has no meaning for other features."""
    with pytest.raises(ValueError, match="channels=3"):
        sf.StateLeaky(beta=torch.tensor([0.5, 0.6, 0.7]), channels=3)(torch.rand(4, 2, 5))


def test_linearleaky_matches_snntorch_on_several_features() -> None:
    torch.manual_seed(2)
    ref = snt.LinearLeaky(beta=0.7, in_features=5, out_features=4)
    ours = sf.LinearLeaky(beta=0.7, in_features=5, out_features=4)
    ours.load_state_dict(ref.state_dict())
    x = torch.rand(6, 3, 5) * 2
    for a, b in zip(ours(x), ref(x)):
        torch.testing.assert_close(a, b)


def test_causal_conv1d_tap_j_weighs_the_input_j_steps_back() -> None:
    """y[t] = k0 x[t] + k1 x[t-1] + k2 x[t-2], zero before t = 0; snntorch's helper agrees."""
    from snntorch._neurons.stateleaky import causal_conv1d as theirs

    from spikeforge._neurons.stateleaky import causal_conv1d

    x = torch.tensor([[[1.0, 2.0, 3.0, 4.0]]])
    k = torch.tensor([[[0.5, 0.25, 0.125]]])
    expected = torch.tensor([[[0.5, 1.25, 2.125, 3.0]]])
    torch.testing.assert_close(causal_conv1d(x, k), expected)
    torch.testing.assert_close(theirs(x, k), expected)


# ------------------------------------------------------------------ convolutional recurrence
@pytest.mark.parametrize("kernel_size", [(5, 5), (3, 5), [3, 3], 3])
@pytest.mark.parametrize("name", ["RLeaky", "RSynaptic"])
def test_conv_recurrence_takes_a_kernel_pair(name: str, kernel_size: Any) -> None:
    torch.manual_seed(3)
    kw = {"beta": 0.8, "conv2d_channels": 3, "kernel_size": kernel_size}
    if name == "RSynaptic":
        kw["alpha"] = 0.7
    ref, ours = getattr(snt, name)(**kw), getattr(sf, name)(**kw)
    ours.load_state_dict(ref.state_dict())
    pair = tuple(kernel_size) if not isinstance(kernel_size, int) else (kernel_size, kernel_size)
    assert ours.recurrent.kernel_size == pair and ours.recurrent.padding == (pair[0] // 2, pair[1] // 2)
    states_o: list[Any] = []
    states_t: list[Any] = []
    for x in torch.rand(4, 2, 3, 6, 6).unbind(0):
        out_o, out_t = ours(x * 2, *states_o), ref(x * 2, *states_t)
        for a, b in zip(out_o, out_t):
            torch.testing.assert_close(a, b)
        states_o, states_t = list(out_o), list(out_t)


# ------------------------------------------------------------------ DeltaLeaky, SConv2dLSTM
def test_deltaleaky_init_hidden_returns_the_state_pair_as_snntorch() -> None:
    """beta = 0.5, delta = 0.3: U = [0.8, 0.4, 0.2+1.0=1.2], dU = [0.8, -0.4, 0.8]: spikes [1, 1, 1]
    (|dU| > 0.3); the pair is (U[t], U[t-1])."""
    ours = sf.DeltaLeaky(beta=0.5, delta_threshold=0.3, init_hidden=True)
    theirs = snt.DeltaLeaky(beta=0.5, delta_threshold=0.3, init_hidden=True)
    expected_mem = [0.8, 0.4, 1.2]
    prev = 0.0
    for step, x in enumerate([0.8, 0.0, 1.0]):
        spk, (mem, mem_prev) = ours(torch.tensor([x]))
        ref_spk, (ref_mem, ref_prev) = theirs(torch.tensor([x]))
        assert mem.item() == pytest.approx(expected_mem[step]) and mem_prev.item() == pytest.approx(prev)
        assert spk.item() == 1.0
        torch.testing.assert_close((spk, mem, mem_prev), (ref_spk, ref_mem, ref_prev))
        prev = expected_mem[step]


def test_deltaleaky_ignores_a_state_passed_with_init_hidden_and_warns_once() -> None:
    ours = sf.DeltaLeaky(beta=0.5, delta_threshold=0.3, init_hidden=True)
    theirs = snt.DeltaLeaky(beta=0.5, delta_threshold=0.3, init_hidden=True)
    junk = (torch.full((1,), 5.0), torch.full((1,), -5.0))
    with pytest.warns(UserWarning, match="`mem` is ignored while init_hidden=True"):
        out = ours(torch.tensor([0.8]), junk)
    ref = theirs(torch.tensor([0.8]), junk)
    torch.testing.assert_close(out[0], ref[0])
    torch.testing.assert_close(out[1], ref[1])
    assert out[1][0].item() == pytest.approx(0.8)  # from zero, not from the junk 5.0


def test_sconv2dlstm_inhibition_is_ignored_as_in_snntorch() -> None:
    torch.manual_seed(4)
    with pytest.warns(UserWarning, match="inhibition=True is ignored"):
        ours = sf.SConv2dLSTM(2, 3, 3, inhibition=True)
    ref = _quiet(snt.SConv2dLSTM, 2, 3, 3, inhibition=True)
    ours.load_state_dict(ref.state_dict())
    x = torch.rand(2, 2, 5, 5) * 4
    for a, b in zip(ours(x), ref(x)):
        torch.testing.assert_close(a, b)
    plain = sf.SConv2dLSTM(2, 3, 3)
    plain.load_state_dict(ref.state_dict())
    assert torch.equal(plain(x)[0], ours(x)[0])


# ------------------------------------------------------------------ print(module)
REPR_CASES: list[tuple[str, Callable[[Any], nn.Module]]] = [
    ("Leaky", lambda m: m.Leaky(beta=0.9)),
    ("Leaky-hidden", lambda m: m.Leaky(beta=torch.rand(3), init_hidden=True, reset_mechanism="zero",
                                       learn_beta=True, threshold=0.5, output=True)),
    ("Synaptic", lambda m: m.Synaptic(alpha=0.8, beta=0.9, init_hidden=True)),
    ("Alpha", lambda m: m.Alpha(alpha=0.9, beta=0.8)),
    ("Lapicque", lambda m: m.Lapicque(beta=0.9)),
    ("LIF", lambda m: m.LIF(beta=0.9)),
    ("SpikingNeuron", lambda m: m.SpikingNeuron()),
    ("RLeaky-linear", lambda m: m.RLeaky(beta=0.9, linear_features=4)),
    ("RLeaky-conv", lambda m: m.RLeaky(beta=0.9, conv2d_channels=3, kernel_size=(5, 3))),
    ("RLeaky-one-to-one", lambda m: m.RLeaky(beta=0.9, all_to_all=False)),
    ("RSynaptic", lambda m: m.RSynaptic(alpha=0.8, beta=0.9, linear_features=4, init_hidden=True)),
    ("SLSTM", lambda m: m.SLSTM(3, 4)),
    ("SConv2dLSTM", lambda m: m.SConv2dLSTM(2, 4, 3, max_pool=2)),
    ("LeakyParallel", lambda m: m.LeakyParallel(3, 4, beta=0.5)),
    ("StateLeaky", lambda m: m.StateLeaky(beta=0.9, channels=4)),
    ("LinearLeaky", lambda m: m.LinearLeaky(beta=0.9, in_features=3, out_features=4)),
    ("DeltaLeaky", lambda m: m.DeltaLeaky(beta=0.9, delta_threshold=0.2)),
    ("AssociativeLeaky", lambda m: m.AssociativeLeaky(in_dim=3, d_value=2, d_key=2, num_spiking_neurons=4)),
    ("GradedSpikes", lambda m: m.GradedSpikes(size=4, constant_factor=2.0)),
    ("BatchNormTT1d", lambda m: m.BatchNormTT1d(3, 2)),
    ("BatchNormTT2d", lambda m: m.BatchNormTT2d(3, 2)),
    ("Sequential", lambda m: nn.Sequential(
        nn.Linear(2, 3), m.Leaky(beta=0.5, init_hidden=True), nn.Linear(3, 2),
        m.Synaptic(alpha=0.5, beta=0.5, init_hidden=True),
    )),
]


@pytest.mark.parametrize("build", [b for _, b in REPR_CASES], ids=[n for n, _ in REPR_CASES])
def test_print_module_equals_snntorch(build: Callable[[Any], nn.Module]) -> None:
    assert str(_quiet(build, sf)) == str(_quiet(build, snt))
