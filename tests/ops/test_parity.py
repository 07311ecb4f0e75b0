"""Fused kernels (numba, CPU) against the step-by-step reference: spikes, states and every gradient."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spikeforge.ops  # noqa: F401 - registers the kernels
from spikeforge.runner import find_kernel

from ._cases import MODELS, SURROGATES, build, run_and_grad

pytest.importorskip("numba")

TOL = {torch.float32: 1e-6, torch.float64: 1e-12}


def assert_parity(got: list[torch.Tensor], want: list[torch.Tensor], tol: float, terms: int,
                  exact: Callable[[], tuple[list[torch.Tensor], list[float]] | None] | None = None) -> None:
    """Max error within ``tol`` times the tensor's scale; a gradient that is a sum of ``k`` per-element
    terms (a scalar or per-neuron parameter) gets ``sqrt(k)`` more, for the summation order.

    A float32 sum whose terms cancel can lose more than that in either implementation. ``exact`` gives
    the reference run in float64 on the same numbers (None if it spikes differently) and, for each
    gradient, the largest of its per-element terms; such a gradient passes when the fused one is no
    further from the float64 value than twice the float32 reference's error plus ``tol`` times that
    term scale (float32 rounding is relative to the terms summed, not to what is left after they cancel).
    """
    for i, (a, b) in enumerate(zip(got, want)):
        assert a.shape == b.shape and a.dtype == b.dtype, i
        spread = max(1.0, terms / max(1, b.numel())) ** 0.5
        scale = (max(1.0, b.abs().max().item()) if b.numel() else 1.0) * spread
        err = (a - b).abs().max().item() if b.numel() else 0.0
        found = exact() if err > tol * scale and exact is not None else None
        if found is not None:
            truth, term_scale = found
            ref_err = (b.double() - truth[i]).abs().max().item()
            err = (a.double() - truth[i]).abs().max().item() - 2 * ref_err
            scale = max(scale, max(1.0, term_scale[i]) * spread)
        assert err <= tol * scale, f"output/grad #{i}: max error {err} (scale {scale})"


def float64_reference(step, xs, states, spec, firing, seed: int,  # noqa: ANN001
                      spk: torch.Tensor) -> Callable[[], tuple[list[torch.Tensor], list[float]] | None]:
    """The reference loop in float64 on a float32 case's own numbers, computed when called: every output
    and gradient, and each gradient's term scale (for a broadcast parameter, the largest gradient of its
    copy at one element, found by running again with the parameters expanded to the neurons' shape).
    None when its spikes differ from ``spk``."""

    def compute() -> tuple[list[torch.Tensor], list[float]] | None:
        st_, params, prm = spec
        up = [t.detach().double().requires_grad_() for t in (xs, *states, *prm)]
        n = len(states)
        out = run_and_grad(step, up[0], tuple(up[1:1 + n]), (st_, params, tuple(up[1 + n:])), firing, False,
                           seed)
        if not torch.equal(out[0].float(), spk):
            return None
        shape = xs.shape[1:]
        wide = [t.detach().double().expand(shape).clone().requires_grad_() for t in prm]
        per_elem = run_and_grad(step, up[0].detach().requires_grad_(),
                                tuple(t.detach().requires_grad_() for t in up[1:1 + n]),
                                (st_, params, tuple(wide)), firing, False, seed)
        term_scale = [g.abs().max().item() if g.numel() else 0.0 for g in per_elem]
        return out, term_scale

    return compute


@settings(max_examples=180, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    model=st.sampled_from(MODELS),
    seed=st.integers(0, 2**31 - 1),
    T=st.integers(1, 9),
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    reset=st.integers(0, 2),
    reset_delay=st.booleans(),
    sg=st.sampled_from(SURROGATES),
    per_neuron=st.booleans(),
)
def test_fused_equals_reference(model, seed, T, shape, dtype, reset, reset_delay, sg, per_neuron):
    step, xs, states, spec, firing = build(model, seed, T, shape, dtype, reset, reset_delay, sg, per_neuron)
    st_, params, prm = spec
    assert find_kernel(step, xs, st_(*states), params(*prm), firing) is not None
    want = run_and_grad(step, xs, states, spec, firing, fused=False, seed=seed)
    got = run_and_grad(step, xs, states, spec, firing, fused=True, seed=seed)
    # spikes and states are bit-identical: the kernels repeat the step function's operations
    for a, b in zip(got[: 1 + len(states)], want[: 1 + len(states)]):
        assert torch.equal(a, b)
    f32 = dtype == torch.float32
    exact = float64_reference(step, xs, states, spec, firing, seed, want[0]) if f32 else None
    assert_parity(got, want, TOL[dtype], xs.numel(), exact)


@pytest.mark.parametrize("model", MODELS)
def test_long_sequence_float32(model):
    """A longer run with many spikes and resets still matches to float32 precision."""
    step, xs, states, spec, firing = build(model, 3, 60, (4, 32), torch.float32, 0, True, SURROGATES[0], True)
    want = run_and_grad(step, xs, states, spec, firing, fused=False, seed=3)
    got = run_and_grad(step, xs, states, spec, firing, fused=True, seed=3)
    assert want[0].sum() > 0
    assert_parity(got, want, 1e-6, xs.numel())


@pytest.mark.parametrize("model", [m for m in MODELS if m != "alpha"])
@pytest.mark.parametrize("reset,delay", [(0, True), (0, False), (1, True), (2, True)])
@pytest.mark.parametrize("learn", [True, False])
def test_gradient_from_the_final_states_alone(model, reset, delay, learn):
    """A loss on the final states only (what the next time chunk of `SequentialSNN` passes back): the
    traces get no gradient and the kernel's carried gradients start from the final states'; equal to
    the step loop's (float64). Without parameter gradients (``learn`` False) the op keeps only
    ``U0 > theta`` of the initial states (spikes every step, so the initial membrane's mask matters)."""
    from spikeforge.runner import run

    step, xs, states, (st, params, prm), firing = build(model, 5, 6, (3, 4), torch.float64, reset, delay,
                                                        SURROGATES[0], True)
    if not learn:
        prm = [p.detach() for p in prm]
        states = [s.detach() * 3 if i == len(states) - 1 else s for i, s in enumerate(states)]  # mem high
    wrt = (xs, *states, *prm) if learn else (xs, *states[:-1])
    grads = []
    for fused in (True, False):
        res = run(step, xs, st(*states), params(*prm), firing, fused=fused)
        gen = torch.Generator().manual_seed(1)
        loss = sum((s * torch.randn(s.shape, generator=gen, dtype=s.dtype)).sum() for s in res.final)
        grads.append(torch.autograd.grad(loss, [w for w in wrt if w.requires_grad], allow_unused=True))
    for got, want in zip(*grads):
        if want is None:  # e.g. the initial membrane, which only enters the detached reset mask
            assert got is None or not got.any()
            continue
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
