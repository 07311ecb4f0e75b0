"""The fused dense-recurrent op (``spikeforge.ops.recurrent``) against the step loop
(``run(..., fused=False)``): RLeaky/RSynaptic with an ``nn.Linear`` or ``nn.Conv2d`` recurrence, every
reset, ``reset_delay``, surrogate and parameter layout; spikes and states bit-identical, gradients to
rounding (float32) or 1e-12 (float64); ``gradcheck``; the torch-operations path other devices run."""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spikeforge.ops  # noqa: F401 - registers the kernels
from spikeforge import surrogate
from spikeforge.ops.recurrent import _loops, _op, run_rleaky_dense, run_rsynaptic_dense
from spikeforge.runner import find_kernel

from ._cases import SURROGATES
from ._dense_cases import MapSpec, assert_grads_close, build, leaves, outputs_and_grads

pytest.importorskip("numba")

TOL = {torch.float32: 1e-6, torch.float64: 1e-12}
KERNEL = {"rleaky": run_rleaky_dense, "rsynaptic": run_rsynaptic_dense}


@st.composite
def cases(draw):  # noqa: ANN001, ANN201
    """A random model, recurrence, one-step shape, dtype, reset, reset_delay, surrogate and layout."""
    kind = draw(st.sampled_from(["linear", "conv"]))
    bias = draw(st.booleans())
    if kind == "linear":
        spec = MapSpec(kind, bias)
        f = draw(st.integers(1, 6))
        shape = draw(st.sampled_from([(draw(st.integers(1, 3)), f), (2, 2, f), (f,)]))
    else:
        c = draw(st.integers(1, 3))
        spec = MapSpec(kind, bias, draw(st.sampled_from([1, 3, 5])), draw(st.sampled_from([1, 2])),
                       draw(st.sampled_from([1, c])))
        hw = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
        shape = draw(st.sampled_from([(draw(st.integers(1, 2)), c, *hw), (c, *hw)]))
    return dict(
        model=draw(st.sampled_from(["rleaky", "rsynaptic"])), spec=spec, seed=draw(st.integers(0, 2**31 - 1)),
        T=draw(st.integers(1, 7)), shape=shape, dtype=draw(st.sampled_from([torch.float32, torch.float64])),
        reset=draw(st.integers(0, 2)), reset_delay=draw(st.booleans()), sg=draw(st.sampled_from(SURROGATES)),
        per_neuron=draw(st.booleans()),
    )


def _terms(case) -> int:  # noqa: ANN001
    w = case.prm[-2]
    return case.xs.numel() * w[0].numel()


def _check(kw: dict, wrt_mask: list[bool] | None = None, spikes_only: bool = False) -> None:
    case = build(**kw)
    state = case.state_type(*case.states)
    assert find_kernel(case.step, case.xs, state, case.build(*case.prm), case.firing) is KERNEL[kw["model"]]
    every = leaves(case)
    wrt = every if wrt_mask is None else [t for t, m in zip(every, wrt_mask) if m] or every[:1]
    for t in every:
        t.requires_grad_(any(t is w for w in wrt))
    seed = kw["seed"]
    want = outputs_and_grads(case, False, seed, wrt, spikes_only)
    got = outputs_and_grads(case, True, seed, wrt, spikes_only)
    n_out = len(want) - len(wrt)
    for a, b in zip(got[:n_out], want[:n_out]):  # spikes and states: the same operations, the same bits
        assert torch.equal(a, b)

    def truth() -> list[torch.Tensor] | None:
        exact = outputs_and_grads(case, False, seed, wrt, spikes_only, cast=torch.float64)
        return exact[n_out:] if torch.equal(exact[0].to(want[0].dtype), want[0]) else None

    f32 = kw["dtype"] == torch.float32
    assert_grads_close(got[n_out:], want[n_out:], TOL[kw["dtype"]], _terms(case), truth if f32 else None)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kw=cases())
def test_fused_equals_step_loop(kw):
    _check(kw)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kw=cases(), mask=st.lists(st.booleans(), min_size=11, max_size=11), spikes_only=st.booleans())
def test_fused_equals_step_loop_for_any_subset_of_gradients(kw, mask, spikes_only):
    """Frozen parameters (``learn_*=False``, ``learn_recurrent=False``), inputs without gradient, and a
    loss on the spikes alone (no upstream gradient for the membrane or current)."""
    _check(kw, mask, spikes_only)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kw=cases())
def test_torch_operations_path_equals_step_loop(kw):
    """The element-wise loops in torch operations (what CUDA and other devices run), checked on CPU."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_op, "_impl", lambda t: _loops)
        _check(kw)


@pytest.mark.parametrize("model", ["rleaky", "rsynaptic"])
@pytest.mark.parametrize("spec,shape", [(MapSpec("linear", True), (2, 3)), (MapSpec("linear", False), (2, 3)),
                                        (MapSpec("conv", True, 3), (1, 2, 2, 2))])
@pytest.mark.parametrize("reset,delay", [(0, True), (0, False), (1, True), (1, False), (2, True)])
@pytest.mark.parametrize("impl", ["cpu", "torch"])
def test_gradcheck_float64(model, spec, shape, reset, delay, impl, monkeypatch):
    """With ``heaviside_no_grad`` the spike's true derivative is zero away from the threshold, so the
    fused backward must equal finite differences for every input, state, parameter, W and b."""
    if impl == "torch":
        monkeypatch.setattr(_op, "_impl", lambda t: _loops)
    case = build(model, spec, 11, 5, shape, torch.float64, reset, delay, surrogate.heaviside_no_grad, True)
    n_state = len(case.states)
    args = leaves(case)
    has_bias = case.prm[-1] is not None

    def fn(*ts):  # noqa: ANN001, ANN202
        xs, states, prm = ts[0], ts[1:1 + n_state], list(ts[1 + n_state:])
        if not has_bias:
            prm.append(None)
        res = spikeforge.runner.run(case.step, xs, case.state_type(*states), case.build(*prm), case.firing,
                                    record=True)
        return (res.spk, *res.trace, *res.final)  # the final states are outputs of their own

    # fast mode: the Jacobian-vector products along random directions (the full Jacobian took ~30 s a case)
    assert torch.autograd.gradcheck(fn, tuple(args), eps=1e-7, atol=1e-6, fast_mode=True)


def test_gradcheck_full_jacobian_rsynaptic_immediate_reset():
    """One case with the whole Jacobian (every input and output element), not only projections."""
    case = build("rsynaptic", MapSpec("linear", True), 5, 4, (2, 2), torch.float64, 0, False,
                 surrogate.heaviside_no_grad, True)

    def fn(*ts):  # noqa: ANN001, ANN202
        res = spikeforge.runner.run(case.step, ts[0], case.state_type(*ts[1:4]), case.build(*ts[4:]),
                                    case.firing, record=True)
        return (res.spk, *res.trace, *res.final)

    assert torch.autograd.gradcheck(fn, tuple(leaves(case)), eps=1e-7, atol=1e-6)


@pytest.mark.parametrize("model", ["rleaky", "rsynaptic"])
@pytest.mark.parametrize("reset,delay", [(0, True), (1, False), (2, True)])
@pytest.mark.parametrize("impl", ["cpu", "torch"])
def test_gradient_from_the_final_states_alone(model, reset, delay, impl, monkeypatch):
    """A loss on the final states only (what a next time chunk passes back): no trace gets a gradient,
    the op's backward starts from the final states' gradients; equal to the step loop's (float64)."""
    if impl == "torch":
        monkeypatch.setattr(_op, "_impl", lambda t: _loops)
    case = build(model, MapSpec("linear", True), 2, 6, (2, 4), torch.float64, reset, delay, SURROGATES[0],
                 True)
    grads = []
    for fused in (True, False):
        res = spikeforge.runner.run(case.step, case.xs, case.state_type(*case.states), case.build(*case.prm),
                                    case.firing, fused=fused)
        weights = torch.Generator().manual_seed(9)
        loss = sum((s * torch.randn(s.shape, generator=weights, dtype=s.dtype)).sum() for s in res.final)
        grads.append(torch.autograd.grad(loss, leaves(case), allow_unused=True))
    for got, want in zip(*grads):
        assert want is not None and want.abs().sum() > 0
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


def test_long_sequence_float32_many_spikes():
    """100 steps of a 32 x 64 batch with a strong recurrence: still bit-identical spikes and states."""
    kw = dict(model="rleaky", spec=MapSpec("linear", True), seed=3, T=100, shape=(32, 64),
              dtype=torch.float32, reset=0, reset_delay=True, sg=SURROGATES[0], per_neuron=True)
    case = build(**kw)
    want = outputs_and_grads(case, False, 3)
    got = outputs_and_grads(case, True, 3)
    assert 0.05 < want[0].ne(0).float().mean() < 0.95
    for a, b in zip(got[:5], want[:5]):
        assert torch.equal(a, b)
    assert_grads_close(got[5:], want[5:], 1e-6, _terms(case))


def test_spike_trace_saved_as_bool_mask():
    """The op keeps its spike trace for the backward as a bool mask (the float trace is freed once the
    next layer ran); the backward rebuilds the graded spikes exactly (the parity tests above check the
    gradients, with graded factors other than 1 among their cases)."""
    import spikeforge as snn

    lif = snn.RLeaky(beta=0.8, linear_features=6)
    x = (torch.rand(5, 3, 6) * 2).requires_grad_()
    saved: list[torch.Tensor] = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        spk, _, mem = lif.forward_sequence(x)
    masks = [t for t in saved if t.dtype == torch.bool]
    assert len(masks) == 1 and masks[0].shape == spk.shape
    assert torch.equal(masks[0], spk != 0) and 0 < spk.mean() < 1
    assert not any(t.dtype == spk.dtype and t.shape == spk.shape and torch.equal(t, spk) for t in saved)
    spk.sum().backward()
    assert x.grad.abs().sum() > 0
