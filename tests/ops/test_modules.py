"""Fused kernels seen through the neuron modules: one-to-one RLeaky/RSynaptic against snntorch 1.0.0,
the all-to-all recurrence running the dense op (``ops/recurrent``; tested in test_recurrent_dense*),
and Lapicque/Alpha having no ``reset_delay``."""

from __future__ import annotations

import pytest
import torch

import spikeforge as snn
import spikeforge.ops  # noqa: F401 - registers the kernels
from spikeforge import surrogate
from spikeforge.core import (
    AlphaParams,
    AlphaState,
    Firing,
    LapicqueParams,
    LapicqueState,
    alpha_step,
    lapicque_step,
)
from spikeforge.runner import find_kernel, run

pytest.importorskip("numba")
snntorch = pytest.importorskip("snntorch")


def _pair(name: str, reset: str, V: torch.Tensor) -> tuple[torch.nn.Module, torch.nn.Module]:  # noqa: N803
    """The same one-to-one recurrent neuron in spikeforge and snntorch, every parameter learnable."""
    kw: dict = {"beta": 0.7, "V": V.clone(), "all_to_all": False, "threshold": 0.8, "reset_mechanism": reset,
                "learn_beta": True, "learn_threshold": True, "learn_recurrent": True}
    if name == "RSynaptic":
        kw.update(alpha=0.6, learn_alpha=True)
    kw_ref = dict(kw, V=V.clone(), spike_grad=snntorch.surrogate.fast_sigmoid(slope=10))
    ours = getattr(snn, name)(**dict(kw, spike_grad=surrogate.fast_sigmoid(slope=10)))
    return ours, getattr(snntorch, name)(**kw_ref)


@pytest.mark.parametrize("name", ["RLeaky", "RSynaptic"])
@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_one_to_one_sequence_matches_snntorch_stepped(name, reset):
    gen = torch.Generator().manual_seed(5)
    T, B, F = 25, 3, 6
    V = torch.rand(F, generator=gen) * 1.2 - 0.4  # noqa: N806 - per-neuron recurrent weight, some negative
    x = torch.rand(T, B, F, generator=gen) * 1.5
    ours, ref = _pair(name, reset, V)
    n_state = 3 if name == "RSynaptic" else 2
    states = [torch.rand(B, F, generator=gen) for _ in range(n_state)]
    states[0] = (states[0] > 0.5).float()  # the previous spike
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()

    assert find_kernel(type(ours)._step_fn, x, ours._state_tuple(tuple(states)), ours.params(),
                       ours.firing()) is not None
    spk, *final = ours.forward_sequence(xa, *states)
    ref_states, ref_spk, ref_mem = list(states), [], []
    for xt in xb.unbind(0):
        out = ref(xt, *ref_states)
        ref_spk.append(out[0])
        ref_mem.append(out[-1])
        ref_states = list(out)
    ref_spk = torch.stack(ref_spk)
    assert ref_spk.sum() > 5 and (ref_spk == 0).sum() > 5
    torch.testing.assert_close(spk, ref_spk, rtol=0, atol=0)
    torch.testing.assert_close(final[-1], ref_mem[-1], rtol=1e-6, atol=1e-6)

    gen_w = torch.Generator().manual_seed(9)
    w_spk, w_mem = torch.randn(spk.shape, generator=gen_w), torch.randn(B, F, generator=gen_w)
    loss = (spk * w_spk).sum() + (final[-1] * w_mem).sum()
    loss_ref = (ref_spk * w_spk).sum() + (ref_mem[-1] * w_mem).sum()
    names = ["V", "beta", "threshold"] + (["alpha"] if name == "RSynaptic" else [])
    got = torch.autograd.grad(loss, [xa] + [getattr(ours, n) for n in names])
    want = torch.autograd.grad(loss_ref, [xb] + [getattr(ref, n) for n in names])
    for n, a, b in zip(["input", *names], got, want):
        assert b.abs().sum() > 0, n
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5, msg=n)


def test_all_to_all_recurrence_runs_the_dense_op():
    from spikeforge.ops.recurrent import run_rleaky_dense

    torch.manual_seed(0)
    lif = snn.RLeaky(beta=0.8, linear_features=4)
    x = torch.rand(7, 2, 4) * 2
    states = (torch.zeros(2, 4), torch.zeros(2, 4))
    kernel = find_kernel(type(lif)._step_fn, x, lif._state_tuple(states), lif.params(), lif.firing())
    assert kernel is run_rleaky_dense
    spk, _, mem = lif.forward_sequence(x)
    spk_t, mem_t = torch.zeros(2, 4), torch.zeros(2, 4)
    for t in range(7):
        spk_t, mem_t = lif(x[t], spk_t, mem_t)
        torch.testing.assert_close(spk[t], spk_t, rtol=0, atol=0)
    torch.testing.assert_close(mem, mem_t, rtol=0, atol=0)


@pytest.mark.parametrize("cls,kw", [("Lapicque", {"beta": 0.9}), ("Alpha", {"alpha": 0.8, "beta": 0.6})])
def test_lapicque_and_alpha_have_no_reset_delay(cls, kw):
    """snntorch's Lapicque and Alpha take no ``reset_delay`` (API.md 1.1): the reset of a spike always
    lands on the next step, and the Firing they hand to the runner says so."""
    with pytest.raises(TypeError):
        getattr(snn, cls)(**kw, reset_delay=False)
    assert getattr(snn, cls)(**kw).firing().reset_delay is True
    assert getattr(snn, cls)(**kw, reset_mechanism="zero").firing().reset_delay is True


@pytest.mark.parametrize("model", ["lapicque", "alpha"])
@pytest.mark.parametrize("reset", [0, 1])
def test_lapicque_and_alpha_ignore_a_false_reset_delay(model, reset):
    """A Firing built by hand with ``reset_delay=False`` changes nothing, in the step function or the
    kernel: both equal a hand-written loop whose reset mask comes from the previous membrane."""
    gen = torch.Generator().manual_seed(2)
    xs = torch.rand(12, 2, 3, generator=gen, dtype=torch.float64) * 1.5
    thr = torch.tensor(0.5, dtype=torch.float64)
    one = torch.tensor(1.0, dtype=torch.float64)
    if model == "lapicque":
        R, C, dt = (torch.tensor(v, dtype=torch.float64) for v in (2.0, 1.5, 1.0))  # noqa: N806
        step, state, params = lapicque_step, LapicqueState(xs[0] * 0), LapicqueParams(R, C, dt, thr, one)
        want, mem = [], xs[0] * 0
        for x in xs:
            base = x * dt / C + (1 - dt / (R * C)) * mem
            r = (mem > thr).double()
            mem = base - r * thr if reset == 0 else base * (1 - r)
            want.append(mem)
    else:
        a, b = torch.tensor(0.8, dtype=torch.float64), torch.tensor(0.6, dtype=torch.float64)
        step, state, params = alpha_step, AlphaState(*(xs[0] * 0,) * 3), AlphaParams(a, b, thr, one)
        tau = torch.log(a) / (torch.log(b) - torch.log(a)) + 1
        want, e, n, mem = [], xs[0] * 0, xs[0] * 0, xs[0] * 0
        for x in xs:
            r = (mem > thr).double()
            e1, n1 = a * e + x, b * n - x
            m1 = tau * (e1 + n1)
            if reset == 0:
                e, n, mem = e1 - r * thr, n1 * (1 - r), m1 + r * n
            else:
                e, n, mem = e1 * (1 - r), n1 * (1 - r), m1 * (1 - r)
            want.append(mem)
    want = torch.stack(want)
    assert (want > thr).sum() > 3
    for fused in (False, True):
        firing = Firing(surrogate.atan(), reset=reset, reset_delay=False)
        if fused:
            assert find_kernel(step, xs, state, params, firing) is not None
        res = run(step, xs, state, params, firing, record=True, fused=fused)
        torch.testing.assert_close(res.trace.mem, want, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(res.spk, (want > thr).double(), rtol=0, atol=0)
