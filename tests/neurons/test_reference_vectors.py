"""Every reference vector of ``shared/API.md`` sections 2.2-2.7 (numbers measured on snntorch 1.0.0).

Tolerance: 1e-6 absolute, plus the rounding of the printed 6-significant-digit values (rtol 1e-5).
Harness (API.md 2.1): one neuron, batch 1, input ``[[X[t]]]``; the returned state is passed back at
the next step (no state at the first step); threshold 1 and defaults unless stated.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import Tensor, nn

import spikeforge as snn
from spikeforge import surrogate

X = [0.6, 0.6, 0.6, 0.0, 1.5, 0.0, 0.0, 2.5, 0.0, 0.0]
TOL = {"atol": 1e-6, "rtol": 1e-5}
RECURRENT = (snn.RLeaky, snn.RSynaptic)


def harness(neuron: nn.Module, xs: list[float], dtype: torch.dtype = torch.float32) -> list[Tensor]:
    """Run the reference harness; returns ``[spk, *states]``, each a length-T tensor."""
    args: tuple[Tensor, ...] = ()
    rows = []
    for x in xs:
        spk, *states = neuron(torch.tensor([[x]], dtype=dtype), *args)
        args = (spk, *states) if isinstance(neuron, RECURRENT) else tuple(states)
        rows.append([spk, *states])
    return [torch.stack([r[i] for r in rows]).flatten() for i in range(len(rows[0]))]


def check(got: Tensor, expected: list[float]) -> None:
    torch.testing.assert_close(got.double(), torch.tensor(expected, dtype=torch.float64), **TOL)


# ------------------------------------------------------------------------------------------ Leaky (2.2)
LEAKY_ROWS: list[tuple[dict[str, Any], list[float], list[float]]] = [
    (
        {},
        [0, 0, 1, 0, 1, 0, 0, 1, 0, 0],
        [0.6, 0.9, 1.05, -0.475, 1.2625, -0.36875, -0.184375, 2.40781, 0.203906, 0.101953],
    ),
    (
        {"reset_delay": False},
        [0, 0, 1, 0, 1, 0, 0, 1, 0, 0],
        [0.6, 0.9, 0.05, 0.025, 0.5125, 0.25625, 0.128125, 1.56406, 0.782031, 0.391016],
    ),
    ({"reset_mechanism": "zero"}, [0, 0, 1, 0, 1, 0, 0, 1, 0, 0], [0.6, 0.9, 1.05, 0, 1.5, 0, 0, 2.5, 0, 0]),
    ({"reset_mechanism": "zero", "reset_delay": False}, [0, 0, 1, 0, 1, 0, 0, 1, 0, 0], [0.6, 0.9] + [0] * 8),
    (
        {"reset_mechanism": "none"},
        [0, 0, 1, 0, 1, 0, 0, 1, 1, 0],
        [0.6, 0.9, 1.05, 0.525, 1.7625, 0.88125, 0.440625, 2.72031, 1.36016, 0.680078],
    ),
    (
        {"reset_mechanism": "none", "reset_delay": False},
        [0, 0, 1, 0, 1, 0, 0, 1, 1, 0],
        [0.6, 0.9, 1.05, 0.525, 1.7625, 0.88125, 0.440625, 2.72031, 1.36016, 0.680078],
    ),
    (
        {"graded_spikes_factor": 2.0},
        [0, 0, 2, 0, 2, 0, 0, 2, 0, 0],
        [0.6, 0.9, 1.05, -0.475, 1.2625, -0.36875, -0.184375, 2.40781, 0.203906, 0.101953],
    ),
    (
        {"graded_spikes_factor": 2.0, "reset_delay": False},
        [0, 0, 2, 0, 2, 0, 0, 2, 0, 0],
        [0.6, 0.9, 0.05, 0.025, 0.5125, 0.25625, 0.128125, 1.56406, 0.782031, 0.391016],
    ),
    ({"beta": 1.5}, [0, 1, 0, 0, 1, 1, 0, 1, 1, 0], [0.6, 1.2, 0.8, 0.8, 2.3, 1.3, 0.3, 2.8, 1.8, 0.8]),
    (
        {"threshold": 0.6},
        [0, 1, 0, 0, 1, 0, 0, 1, 1, 0],
        [0.6, 0.9, 0.45, 0.225, 1.6125, 0.20625, 0.103125, 2.55156, 0.675781, -0.262109],
    ),
]


@pytest.mark.parametrize(("kwargs", "spk", "mem"), LEAKY_ROWS, ids=[str(r[0]) for r in LEAKY_ROWS])
def test_leaky_rows(kwargs: dict[str, Any], spk: list[float], mem: list[float]) -> None:
    got_spk, got_mem = harness(snn.Leaky(**{"beta": 0.5, **kwargs}), X)
    check(got_spk, spk)
    check(got_mem, mem)


@pytest.mark.parametrize(
    ("reset_delay", "expected"),
    [
        (True, [(1, 3.5), (0, 0.75), (0, 0.375), (0, 0.1875)]),
        (False, [(1, 2.5), (0, 1.25), (0, 0.625), (0, 0.3125)]),
    ],
)
def test_leaky_edge_case_large_input(reset_delay: bool, expected: list[tuple[float, float]]) -> None:
    spk, mem = harness(snn.Leaky(beta=0.5, reset_delay=reset_delay), [3.5, 0, 0, 0])
    check(spk, [e[0] for e in expected])
    check(mem, [e[1] for e in expected])


def test_zero_reset_keeps_input_in_leaky_but_not_in_rleaky() -> None:
    check(harness(snn.Leaky(beta=0.5, reset_mechanism="zero"), [1.5, 0.7, 0.7])[1], [1.5, 0.7, 1.05])
    rleaky = snn.RLeaky(beta=0.5, V=0.0, all_to_all=False, reset_mechanism="zero")
    check(harness(rleaky, [1.5, 0.7, 0.7])[1], [1.5, 0.0, 0.7])


def test_leaky_without_state_argument_continues_from_stored_state() -> None:
    lif = snn.Leaky(beta=0.5)
    mems = [lif(torch.tensor([[0.6]]))[1].item() for _ in range(3)]
    assert mems == pytest.approx([0.6, 0.9, 1.05], abs=1e-6)


def test_leaky_per_neuron_parameters() -> None:
    lif = snn.Leaky(beta=[0.1, 0.5, 0.9], threshold=[0.5, 1, 2])
    x, mem, spks, mems = torch.full((1, 3), 0.6), None, [], []
    for _ in range(3):
        spk, mem = lif(x, mem)
        spks.append(spk)
        mems.append(mem)
    check(torch.cat(spks).flatten(), [1, 0, 0, 0, 0, 0, 1, 1, 0])
    check(torch.cat(mems).flatten(), [0.6, 0.6, 0.6, 0.16, 0.9, 1.14, 0.616, 1.05, 1.626])


@pytest.mark.parametrize("g", [1.0, 3.0])
def test_leaky_inhibition_ignores_graded_factor(g: float) -> None:
    with pytest.warns(UserWarning, match="inhibition"):
        lif = snn.Leaky(beta=0.5, inhibition=True, graded_spikes_factor=g)
    spk, _ = lif(torch.tensor([[1.5, 2.0, 0.2], [3.0, 1.2, 1.1]]))
    check(spk.flatten(), [0, 1, 0, 1, 0, 0])


def _two_bit_quantiser() -> Any:
    """The 2-bit uniform state quantiser of API.md 5.4 (nearest level, ties to the lower, STE)."""
    try:
        from spikeforge.functional import quant
    except ImportError:
        levels = torch.linspace(-1.0, 1.2, 4)  # -theta - theta*0.0 ... theta + theta*0.2 (API.md 5.4)

        def q(x: Tensor) -> Tensor:
            lv = levels.to(x)
            nearest = lv[(x.unsqueeze(-1) - lv).abs().argmin(dim=-1)]
            return x + (nearest - x).detach()

        return q
    return quant.state_quant(num_bits=2, uniform=True, threshold=1.0)


def test_leaky_state_quant() -> None:
    lif = snn.Leaky(beta=0.5, state_quant=_two_bit_quantiser())
    spk, mem = harness(lif, [0.3, 0.3, 0.3, 0.8])
    check(mem, [0.466667, 0.466667, 0.466667, 1.2])
    check(spk, [0, 0, 0, 1])


def _grad_run(lif: nn.Module, xs: list[float]) -> tuple[Tensor, Tensor]:
    x = torch.tensor(xs).reshape(-1, 1, 1).requires_grad_(True)
    mem, loss = None, torch.zeros(())
    for t in range(len(xs)):
        spk, mem = lif(x[t], mem)
        loss = loss + spk.sum() + 0.5 * mem.sum()
    return x, loss


GRAD_X = [0.6, 0.6, 0.6, 0, 1.5]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, [2.0983, 2.42116, 2.02197, 1.0921, 1.09521]),
        ({"spike_grad": surrogate.fast_sigmoid()}, [1.06839, 1.12026, 1.07725, 0.75944, 0.517485]),
        ({"reset_mechanism": "zero"}, [1.96179, 2.14813, 1.47592, 0.9862, 0.7884]),
    ],
)
def test_leaky_input_gradients(kwargs: dict[str, Any], expected: list[float]) -> None:
    x, loss = _grad_run(snn.Leaky(beta=0.5, **kwargs), GRAD_X)
    (g,) = torch.autograd.grad(loss, x)
    torch.testing.assert_close(g.flatten(), torch.tensor(expected), atol=1e-5, rtol=1e-5)


def test_leaky_parameter_gradients() -> None:
    lif = snn.Leaky(beta=0.5, learn_beta=True, learn_threshold=True)
    x, loss = _grad_run(lif, GRAD_X)
    gx, gb, gt = torch.autograd.grad(loss, [x, lif.beta, lif.threshold])
    torch.testing.assert_close(
        gx.flatten(), torch.tensor([2.0983, 2.42116, 2.02197, 1.0921, 1.09521]), atol=1e-5, rtol=1e-5
    )
    assert gb.item() == pytest.approx(3.89895, abs=1e-5)
    assert gt.item() == pytest.approx(-4.00563, abs=1e-5)


def test_leaky_graded_factor_gradient() -> None:
    lif = snn.Leaky(beta=0.5, graded_spikes_factor=2.0, learn_graded_spikes_factor=True)
    spk, _ = lif(torch.tensor([[1.5]]))
    (g,) = torch.autograd.grad(spk.sum(), lif.graded_spikes_factor)
    assert g.item() == pytest.approx(1.0, abs=1e-6)


# ------------------------------------------------------------------------------------------ Synaptic (2.3)
SYN = [0.6, 0.9, 1.05, 0.525, 1.7625, 0.88125, 0.440625, 2.72031, 1.36016, 0.680078]
SYNAPTIC_ROWS = [
    (
        {},
        [0, 1, 0, 0, 1, 0, 0, 1, 1, 0],
        [0.6, 1.2, 0.65, 0.85, 2.1875, 0.975, 0.928125, 3.18438, 1.95234, 0.65625],
    ),
    (
        {"reset_delay": False},
        [0, 1, 1, 0, 1, 0, 0, 1, 1, 0],
        [0.6, 0.2, 0.15, 0.6, 1.0625, 1.4125, 1.14688, 2.29375, 1.50703, 1.43359],
    ),
    (
        {"reset_mechanism": "zero"},
        [0, 1, 0, 0, 1, 0, 0, 1, 0, 0],
        [0.6, 1.2, 0, 0.525, 2.025, 0, 0.440625, 2.94063, 0, 0.680078],
    ),
    (
        {"reset_mechanism": "zero", "reset_delay": False},
        [0, 1, 1, 0, 1, 0, 0, 1, 1, 0],
        [0.6, 0, 0, 0.525, 0, 0.88125, 0.88125, 0, 0, 0.680078],
    ),
    (
        {"reset_mechanism": "none"},
        [0, 1, 1, 1, 1, 1, 1, 1, 1, 1],
        [0.6, 1.2, 1.65, 1.35, 2.4375, 2.1, 1.49062, 3.46563, 3.09297, 2.22656],
    ),
]


@pytest.mark.parametrize(("kwargs", "spk", "mem"), SYNAPTIC_ROWS, ids=[str(r[0]) for r in SYNAPTIC_ROWS])
def test_synaptic_rows(kwargs: dict[str, Any], spk: list[float], mem: list[float]) -> None:
    got_spk, got_syn, got_mem = harness(snn.Synaptic(alpha=0.5, beta=0.5, **kwargs), X)
    check(got_spk, spk)
    check(got_syn, SYN)
    check(got_mem, mem)


def test_synaptic_input_gradient() -> None:
    syn_n = snn.Synaptic(alpha=0.5, beta=0.5)
    x = torch.tensor(GRAD_X).reshape(-1, 1, 1).requires_grad_(True)
    syn = mem = None
    loss = torch.zeros(())
    for t in range(len(GRAD_X)):
        spk, syn, mem = syn_n(x[t], syn, mem)
        loss = loss + spk.sum()
    (g,) = torch.autograd.grad(loss, x)
    expected = torch.tensor([1.87429, 1.81688, 1.32125, 0.885321, 0.0670345])
    torch.testing.assert_close(g.flatten(), expected, atol=1e-5, rtol=1e-5)


# ------------------------------------------------------------------------------------------ Lapicque (2.4)
@pytest.mark.parametrize(
    ("reset", "mem"),
    [
        (
            "subtract",
            [
                0.415888,
                0.543505,
                0.582664,
                0.178792,
                1.09458,
                -0.664124,
                -0.203788,
                1.67033,
                -0.487453,
                -0.149576,
            ],
        ),
        ("zero", [0.415888, 0.543505, 0.582664, 0.178792, 1.09458, 0, 0, 1.73287, 0, 0]),
        (
            "none",
            [0.415888, 0.543505, 0.582664, 0.178792, 1.09458, 0.335876, 0.103065, 1.76449, 0.54144, 0.166142],
        ),
    ],
)
def test_lapicque_beta_rows(reset: str, mem: list[float]) -> None:
    lap = snn.Lapicque(beta=0.5, reset_mechanism=reset)
    assert lap.R.item() == pytest.approx(1.0) and lap.C.item() == pytest.approx(
        1 / torch.log(torch.tensor(2.0)).item()
    )
    spk, got = harness(lap, X)
    check(spk, [0, 0, 0, 0, 1, 0, 0, 1, 0, 0])
    check(got, mem)


def test_lapicque_rc_row() -> None:
    lap = snn.Lapicque(R=5.1, C=5e-3, time_step=1e-3)
    assert lap.beta.flatten().item() == pytest.approx(0.961543, abs=1e-6)
    spk, mem = harness(lap, X)
    check(spk, [0, 0, 0, 0, 0, 0, 0, 1, 0, 0])
    check(
        mem,
        [0.12, 0.235294, 0.346067, 0.332496, 0.619457, 0.595164, 0.571824, 1.0494, 0.00824714, 0.00792372],
    )


# ------------------------------------------------------------------------------------------ RLeaky (2.5)
RLEAKY_ROWS = [
    (
        {},
        [0, 0, 1, 0, 1, 0, 0, 1, 0, 0],
        [0.6, 0.9, 1.05, 0.025, 1.5125, 0.25625, 0.128125, 2.56406, 0.782031, 0.391016],
    ),
    ({"reset_mechanism": "zero"}, [0, 0, 1, 0, 1, 0, 0, 1, 0, 0], [0.6, 0.9, 1.05, 0, 1.5, 0, 0, 2.5, 0, 0]),
    (
        {"reset_mechanism": "none"},
        [0, 0, 1, 1, 1, 1, 1, 1, 1, 1],
        [0.6, 0.9, 1.05, 1.025, 2.5125, 1.75625, 1.37812, 3.68906, 2.34453, 1.67227],
    ),
    (
        {"reset_delay": False},
        [0, 0, 1, 0, 1, 0, 0, 1, 0, 0],
        [0.6, 0.9, 0.05, 0.525, 0.7625, 0.88125, 0.440625, 1.72031, 1.36016, 0.680078],
    ),
]


@pytest.mark.parametrize(("kwargs", "spk", "mem"), RLEAKY_ROWS, ids=[str(r[0]) for r in RLEAKY_ROWS])
def test_rleaky_rows(kwargs: dict[str, Any], spk: list[float], mem: list[float]) -> None:
    got_spk, got_mem = harness(snn.RLeaky(beta=0.5, V=0.5, all_to_all=False, **kwargs), X)
    check(got_spk, spk)
    check(got_mem, mem)


def test_rleaky_init_hidden_output_matches_subtract_row() -> None:
    rl = snn.RLeaky(beta=0.5, V=0.5, all_to_all=False, init_hidden=True, output=True)
    outs = [rl(torch.tensor([[x]])) for x in X]
    check(torch.cat([o[0] for o in outs]).flatten(), RLEAKY_ROWS[0][1])
    check(torch.cat([o[1] for o in outs]).flatten(), RLEAKY_ROWS[0][2])


def test_rleaky_all_to_all_linear() -> None:
    rl = snn.RLeaky(beta=0.5, linear_features=2)
    with torch.no_grad():
        rl.recurrent.weight.copy_(torch.tensor([[0.5, 0.25], [0.0, -0.5]]))
        rl.recurrent.bias.fill_(0.1)
    spk = mem = None
    spks, mems = [], []
    for x in ([0.6, 1.2], [0.6, 0.0], [0.0, 0.0]):
        spk, mem = rl(torch.tensor([x]), spk, mem)
        spks.append(spk)
        mems.append(mem)
    check(torch.cat(spks).flatten(), [0, 1, 1, 0, 0, 0])
    check(torch.cat(mems).flatten(), [0.7, 1.3, 1.3, -0.75, 0.25, -0.275])


# ------------------------------------------------------------------------------------------ RSynaptic (2.6)
@pytest.mark.parametrize(
    ("reset", "spk", "syn", "mem"),
    [
        (
            "subtract",
            [0, 1, 1, 0, 1, 1, 1, 1, 1, 1],
            [0.6, 0.9, 1.55, 1.275, 2.1375, 1.56875, 1.28437, 3.64219, 2.32109, 1.66055],
            [0.6, 1.2, 1.15, 0.85, 2.5625, 1.85, 1.20937, 3.24687, 2.94453, 2.13281],
        ),
        (
            "zero",
            [0, 1, 0, 0, 1, 0, 0, 1, 0, 0],
            [0.6, 0.9, 1.55, 0.775, 1.8875, 1.44375, 0.721875, 2.86094, 1.93047, 0.965234],
            [0.6, 1.2, 0, 0.775, 2.275, 0, 0.721875, 3.22188, 0, 0.965234],
        ),
        (
            "none",
            [0, 1, 1, 1, 1, 1, 1, 1, 1, 1],
            [0.6, 0.9, 1.55, 1.275, 2.6375, 1.81875, 1.40937, 3.70469, 2.35234, 1.67617],
            [0.6, 1.2, 2.15, 2.35, 3.8125, 3.725, 3.27187, 5.34062, 5.02266, 4.1875],
        ),
    ],
)
def test_rsynaptic_rows(reset: str, spk: list[float], syn: list[float], mem: list[float]) -> None:
    rs = snn.RSynaptic(alpha=0.5, beta=0.5, V=0.5, all_to_all=False, reset_mechanism=reset)
    got_spk, got_syn, got_mem = harness(rs, X)
    check(got_spk, spk)
    check(got_syn, syn)
    check(got_mem, mem)


# ------------------------------------------------------------------------------------------ Alpha (2.7)
def test_alpha_tau() -> None:
    from spikeforge.core import alpha_tau

    assert alpha_tau(torch.tensor(0.6), torch.tensor(0.5)).item() == pytest.approx(3.80178, abs=1e-5)


@pytest.mark.parametrize(
    ("reset", "spk", "exc", "inh", "mem"),
    [
        (
            "zero",
            [0, 0, 0, 0, 0, 1, 0, 0, 0, 1],
            [0.6, 0.96, 1.176, 0.7056, 1.92336, 1.15402, 0, 2.5, 1.5, 0.9],
            [-0.6, -0.9, -1.05, -0.525, -1.7625, -0.88125, 0, -2.5, -1.25, -0.625],
            [0, 0.228107, 0.479025, 0.686602, 0.611555, 1.037, 0, 0, 0.950446, 1.04549],
        ),
        (
            "subtract",
            [0, 0, 0, 0, 0, 1, 0, 0, 0, 0],
            [0.6, 0.96, 1.176, 0.7056, 1.92336, 1.15402, -0.30759, 2.31545, 1.38927, 0.833561],
            [-0.6, -0.9, -1.05, -0.525, -1.7625, -0.88125, 0, -2.5, -1.25, -0.625],
            [0, 0.228107, 0.479025, 0.686602, 0.611555, 1.037, 0.0759807, -0.701635, 0.529465, 0.792902],
        ),
        (
            "none",
            [0, 0, 0, 0, 0, 1, 0, 0, 1, 1],
            [0.6, 0.96, 1.176, 0.7056, 1.92336, 1.15402, 0.69241, 2.91545, 1.74927, 1.04956],
            [-0.6, -0.9, -1.05, -0.525, -1.7625, -0.88125, -0.440625, -2.72031, -1.36016, -0.680078],
            [0, 0.228107, 0.479025, 0.686602, 0.611555, 1.037, 0.957231, 0.741854, 1.47932, 1.40469],
        ),
    ],
)
def test_alpha_rows(
    reset: str, spk: list[float], exc: list[float], inh: list[float], mem: list[float]
) -> None:
    got = harness(snn.Alpha(alpha=0.6, beta=0.5, reset_mechanism=reset), X)
    for g, e in zip(got, (spk, exc, inh, mem)):
        check(g, e)


def test_reference_rows_hold_in_float64() -> None:
    spk, mem = harness(snn.Leaky(beta=0.5).double(), X, dtype=torch.float64)
    assert spk.dtype == mem.dtype == torch.float64
    check(mem, LEAKY_ROWS[0][2])
