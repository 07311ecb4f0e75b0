"""Learnable-parameter gradients of the fused LIF family over layers that span several of the compiled
backward's chunks (512 neurons) and blocks (threads), for every subset of learnable parameters: the
backward sums the gradients of parameters given as one value per block of neurons (not per neuron) and
skips the graded-spike factor's sum when it does not learn, so each subset takes its own path. Expected
values: the step loop (``spikeforge.core``'s step functions under autograd), in float64."""

from __future__ import annotations

import itertools

import pytest
import torch

import spikeforge as snn
from spikeforge.ops import _native

T, B, F = 5, 12, 700  # 8400 neurons: 16 chunks and a remainder; 2 blocks on 2 threads (MIN_BLOCK 4096)

FLAGS = ("learn_beta", "learn_threshold", "learn_graded_spikes_factor")
SUBSETS = [s for k in range(1, 4) for s in itertools.combinations(FLAGS, k)]
# the graded-spike factor is Leaky's alone (as in snntorch)
CASES = [(kind, flags) for kind in ("leaky", "leaky_zero_immediate", "synaptic", "rleaky_diag")
         for flags in SUBSETS if kind.startswith("leaky") or FLAGS[2] not in flags]


def _make(kind: str, flags: tuple[str, ...], per_neuron: bool) -> torch.nn.Module:
    g = torch.Generator().manual_seed(3)
    beta = torch.rand(F, generator=g) * 0.5 + 0.4 if per_neuron else 0.85
    theta = torch.rand(F, generator=g) * 0.5 + 0.8 if per_neuron else 1.1
    kw = dict(beta=beta, threshold=theta, **{f: True for f in flags})
    if kind.startswith("leaky"):
        kw["graded_spikes_factor"] = 1.5
    if kind == "leaky":
        return snn.Leaky(**kw)
    if kind == "leaky_zero_immediate":
        return snn.Leaky(reset_mechanism="zero", reset_delay=False, **kw)
    alpha = torch.rand(F, generator=g) * 0.4 + 0.5 if per_neuron else 0.7
    if kind == "synaptic":
        return snn.Synaptic(alpha=alpha, learn_alpha="learn_beta" in flags, **kw)
    if kind == "rleaky_diag":
        return snn.RLeaky(all_to_all=False, V=0.4, learn_recurrent="learn_beta" in flags, **kw)
    raise AssertionError(kind)


def _stepped(neuron: torch.nn.Module, xs: torch.Tensor) -> torch.Tensor:
    states: tuple = ()
    spks = []
    recurrent = isinstance(neuron, snn.RLeaky)
    for x in xs:
        spk, *rest = neuron(x, *states)
        states = (spk, *rest) if recurrent else tuple(rest)
        spks.append(spk)
    return torch.stack(spks)


@pytest.mark.skipif(_native.lib is None, reason="the compiled kernels are not built")
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("per_neuron", [False, True], ids=["one_value", "per_neuron"])
@pytest.mark.parametrize("kind,flags", CASES,
                         ids=[f"{k}-{'+'.join(f.removeprefix('learn_') for f in s)}" for k, s in CASES])
def test_parameter_gradients_equal_the_step_loop(kind: str, flags: tuple[str, ...], per_neuron: bool,
                                                 threads: int) -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        torch.manual_seed(0)
        xs = torch.randn(T, B, F, dtype=torch.float64) * 0.8 + 0.5
        fused, stepped = _make(kind, flags, per_neuron).double(), _make(kind, flags, per_neuron).double()
        w = torch.randn(T, B, F, dtype=torch.float64)  # a loss that weighs every spike differently
        (fused.forward_sequence(xs)[0] * w).sum().backward()
        (_stepped(stepped, xs) * w).sum().backward()
    finally:
        torch.set_num_threads(before)
    learned = {n for n, p in stepped.named_parameters() if p.grad is not None}
    assert learned, "the step loop trained nothing"
    fp = dict(fused.named_parameters())
    for name in learned:
        torch.testing.assert_close(fp[name].grad, dict(stepped.named_parameters())[name].grad, rtol=1e-10,
                                   atol=1e-10, msg=lambda m, n=name: f"{n}: {m}")
        assert fp[name].grad.abs().sum() > 0, name
    # parameters that do not learn get no gradient from either
    assert {n for n, p in fp.items() if p.grad is not None} == learned
