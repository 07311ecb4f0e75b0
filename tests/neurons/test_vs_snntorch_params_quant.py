"""Against snntorch 1.0.0 on random inputs: per-neuron parameters and state quantisation.

Complements test_vs_snntorch.py (scalar parameters, no quantiser): values and gradients of
Leaky, Synaptic, RLeaky and RSynaptic with per-neuron beta/alpha/threshold (learnable), and of
Leaky/Synaptic/RLeaky with ``state_quant`` from ``functional.quant.state_quant``.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

import spikeforge as sf
from spikeforge.functional import quant as sf_quant

st = pytest.importorskip("snntorch")
st_quant = pytest.importorskip("snntorch.functional.quant")

N = 5


def _vec(lo: float, hi: float) -> torch.Tensor:
    return torch.linspace(lo, hi, N)


CASES: list[tuple[str, dict[str, Any], int]] = [
    ("Leaky", dict(beta=_vec(0.3, 0.95), threshold=_vec(0.5, 1.5)), 1),
    ("Leaky", dict(beta=_vec(0.3, 0.95), threshold=_vec(0.5, 1.5), reset_mechanism="zero"), 1),
    ("Leaky", dict(beta=_vec(0.3, 0.95), threshold=_vec(0.5, 1.5), reset_delay=False), 1),
    ("Synaptic", dict(alpha=_vec(0.2, 0.9), beta=_vec(0.4, 0.9), threshold=_vec(0.7, 1.2)), 2),
    ("RLeaky", dict(beta=_vec(0.3, 0.9), V=_vec(-0.5, 0.5), all_to_all=False, threshold=_vec(0.8, 1.2)), 2),
    ("RSynaptic", dict(alpha=_vec(0.2, 0.9), beta=_vec(0.4, 0.9), V=_vec(-0.5, 0.5), all_to_all=False), 3),
]


QUANT_CASES = CASES[:1] + CASES[3:5]


def _ids(v: object) -> str:
    return v if isinstance(v, str) else ""


def _run(
    neuron: torch.nn.Module, xs: torch.Tensor, n_states: int, recurrent: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Step through ``xs`` passing states back; return the spikes and the final membrane."""
    states: list[Any] = [None] * n_states
    spikes = []
    for x in xs.unbind(0):
        out = neuron(x, *states)
        spikes.append(out[0])
        states = ([out[0]] if recurrent else []) + list(out[1:])
    return torch.stack(spikes), torch.stack([states[-1]])


@pytest.mark.parametrize(("name", "kwargs", "n_states"), CASES, ids=_ids)
def test_per_neuron_parameters_match_snntorch(name: str, kwargs: dict[str, Any], n_states: int) -> None:
    learn = {"learn_beta": True, "learn_threshold": True}
    if "alpha" in kwargs:
        learn["learn_alpha"] = True
    ours = getattr(sf, name)(**kwargs, **learn)
    theirs = getattr(st, name)(**kwargs, **learn)
    theirs.load_state_dict(ours.state_dict())
    torch.manual_seed(2)
    xs = torch.randn(12, 3, N) * 1.3
    x1, x2 = xs.clone().requires_grad_(True), xs.clone().requires_grad_(True)
    recurrent = name.startswith("R")
    s1, m1 = _run(ours, x1, n_states, recurrent)
    s2, m2 = _run(theirs, x2, n_states, recurrent)
    torch.testing.assert_close(s1, s2)
    torch.testing.assert_close(m1, m2)
    (s1.sum() + 0.5 * m1.sum()).backward()
    (s2.sum() + 0.5 * m2.sum()).backward()
    torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-4, atol=1e-5)
    for (n, p1), (_, p2) in zip(ours.named_parameters(), theirs.named_parameters()):
        torch.testing.assert_close(p1.grad, p2.grad, rtol=1e-4, atol=1e-5, msg=f"gradient of {n}")


@pytest.mark.parametrize("bits", [2, 4])
@pytest.mark.parametrize(("name", "kwargs", "n_states"), QUANT_CASES, ids=_ids)
def test_state_quant_matches_snntorch(bits: int, name: str, kwargs: dict[str, Any], n_states: int) -> None:
    ours = getattr(sf, name)(**kwargs, state_quant=sf_quant.state_quant(num_bits=bits, uniform=True))
    theirs = getattr(st, name)(**kwargs, state_quant=st_quant.state_quant(num_bits=bits, uniform=True))
    torch.manual_seed(3)
    xs = torch.rand(10, 4, N) * 1.5
    x1, x2 = xs.clone().requires_grad_(True), xs.clone().requires_grad_(True)
    recurrent = name.startswith("R")
    s1, m1 = _run(ours, x1, n_states, recurrent)
    s2, m2 = _run(theirs, x2, n_states, recurrent)
    torch.testing.assert_close(s1, s2)
    torch.testing.assert_close(m1, m2)
    s1.sum().backward()
    s2.sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-4, atol=1e-5)
