"""Per-neuron parameters read by period: the compiled LIF kernels take parameters that vary only over the
trailing dimensions of a step (a ``[F]`` beta for ``x[T, B, F]``, a per-channel ``[C, 1, 1]`` one for
``[T, B, C, H, W]``) as ``[P]`` arrays, neuron ``k`` reading element ``k % P``, instead of repeated
``B`` times to ``[N]``.

Expected values: the numba kernels given the same parameters repeated to ``[N]`` (bit for bit: the
same operations in the same order, per neuron), and at module level the step loop
(``spikeforge.core``'s step functions under autograd) in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import spikeforge as snn
from spikeforge.ops import _native
from spikeforge.ops._params import MIN_PERIOD, trailing

from .test_native import _alpha_backward, _alpha_case, _alpha_forward

needs_lib = pytest.mark.skipif(_native.lib is None, reason="the compiled kernels are not built")


def _case(rng: np.random.Generator, dt: type, T: int, P: int, reps: int, syn: bool, rec: bool,
          graded: bool) -> tuple[dict, dict]:
    """Inputs with ``[P]`` parameters, and the same with the parameters repeated to ``[N]``."""
    N = P * reps

    def r(*shape: int, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
        return (lo + (hi - lo) * rng.random(shape)).astype(dt)

    a = dict(x=r(T, N, lo=-1.0, hi=2.5), u0=r(N, lo=-0.5, hi=1.5), i0=r(N) if syn else np.zeros(1, dt),
             s0=(rng.random(N) < 0.5).astype(dt) if rec else np.zeros(1, dt), alpha=r(P, hi=0.95),
             beta=r(P, hi=0.95), theta=r(P, lo=0.5, hi=1.5),
             g=r(P, lo=0.5, hi=2.0) if graded else np.ones(P, dt), vrec=r(P, lo=-1.0, hi=1.0))
    full = dict(a, **{k: np.tile(a[k], reps) for k in ("alpha", "beta", "theta", "g", "vrec")})
    return a, full


def _forward(impl: str, a: dict, c: dict) -> tuple[np.ndarray, ...]:
    from spikeforge.ops.lif import cpu

    T, N = a["x"].shape
    dt = a["x"].dtype
    spk, u, itr, v = (np.full((T, N), np.nan, dt) for _ in range(4))
    args = (a["x"], a["u0"], a["i0"], a["s0"], a["alpha"], a["beta"], a["theta"], a["g"], a["vrec"],
            c["syn"], c["rec"], c["reset"], c["immediate"], c["nb"], spk, u, itr, v)
    (_native.lif_forward if impl == "native" else cpu.lif_forward_serial)(*args)
    return spk, u, itr, v


def _backward(impl: str, a: dict, fw: tuple[np.ndarray, ...], grads: dict, c: dict) -> list[np.ndarray]:
    from spikeforge.ops.lif import cpu

    T, N = a["x"].shape
    dt = a["x"].dtype
    spk, u, itr, v = fw
    vecs = [grads["gu_last"].copy(), grads["gi_last"].copy(), grads["gs_last"].copy()]
    vecs += [np.full(N, np.nan, dt) for _ in range(5)]
    gx = np.full((T, N), np.nan, dt)
    args = (a["u0"], a["i0"], a["s0"], a["alpha"], a["beta"], a["theta"], a["g"], a["vrec"], c["syn"],
            c["rec"], c["reset"], c["immediate"], c["sid"], 1.7, 0.3, c["nb"], spk, u, itr, v, grads["gs"],
            grads["gu"], grads["gi"], True, c["syn"], gx, *vecs, True)
    (_native.lif_backward if impl == "native" else cpu.lif_backward_serial)(*args)
    used = (True, True, c["syn"], c["rec"], c["syn"], True, True, True, c["rec"])
    return [t for t, k in zip([gx, *vecs], used) if k]


def _check(c: dict, T: int, P: int, reps: int) -> None:
    rng = np.random.default_rng(c["seed"])
    a, full = _case(rng, c["dt"], T, P, reps, c["syn"], c["rec"], c["graded"])
    fw = _forward("native", a, c)
    want_fw = _forward("numba", full, c)
    for got, want in zip(fw, want_fw):
        np.testing.assert_array_equal(got, want)
    N = P * reps
    grads = {k: rng.standard_normal(s).astype(c["dt"]) for k, s in
             (("gs", (T, N)), ("gu", (T, N)), ("gi", (T, N)), ("gu_last", N), ("gi_last", N), ("gs_last", N))}
    got, want = _backward("native", a, fw, grads, c), _backward("numba", full, want_fw, grads, c)
    assert len(got) == len(want) >= 5
    for i, (g, w) in enumerate(zip(got, want)):
        np.testing.assert_array_equal(g, w, err_msg=f"gradient {i}")
        assert not np.isnan(g).any(), i


# P = 1 is one value each (the per-block sums), tested in test_native
CONFIG = st.fixed_dictionaries(dict(
    dt=st.sampled_from([np.float32, np.float64]), T=st.integers(1, 5), P=st.integers(2, 40),
    reps=st.integers(1, 5), syn=st.booleans(), rec=st.booleans(), reset=st.integers(0, 3),
    immediate=st.booleans(), graded=st.booleans(), nb=st.integers(1, 3), seed=st.integers(0, 2**31 - 1),
    sid=st.sampled_from([-1, 0, 1, 2, 3, 5, 7, 8]),
))


@needs_lib
@settings(max_examples=150, deadline=None)
@given(c=CONFIG)
def test_periodic_parameters_equal_numba_with_them_repeated(c: dict) -> None:
    """Forward (spikes, every state trace) and BPTT (input, initial states, and each neuron's parameter
    gradients, ``[N]``) bit for bit, for every configuration and P, N = P * reps, blocks that split a
    period."""
    if c["syn"] and c["reset"] == 1:
        c["reset"] = 3  # the zero reset that keeps only the input is Leaky's alone
    _check(c, c["T"], c["P"], c["reps"])


@needs_lib
@pytest.mark.parametrize("P,reps,nb", [(700, 50, 2), (20000, 3, 2), (513, 9, 3), (16384, 2, 1)])
def test_periodic_parameters_across_chunks_and_tiles(P: int, reps: int, nb: int) -> None:
    """Periods longer and shorter than a backward chunk (512) and tile (16384), not aligned to either
    nor to the blocks (threads): the segments a period ends must not change a bit."""
    c = dict(dt=np.float32, syn=True, rec=True, reset=0, immediate=True, graded=True, nb=nb, sid=0, seed=P)
    _check(c, 3, P, reps)


@needs_lib
def test_kernel_parameters_of_other_lengths_are_refused() -> None:
    """Parameters of different lengths, or a period that does not divide N, raise ValueError (the
    kernel would read past them)."""
    c = dict(syn=False, rec=False, reset=0, immediate=False, nb=1)
    a, _ = _case(np.random.default_rng(0), np.float32, 2, 6, 2, False, False, True)
    with pytest.raises(ValueError, match="all be"):
        _forward("native", dict(a, theta=a["theta"][:3]), c)
    with pytest.raises(ValueError, match="dividing 12"):
        _forward("native", dict(a, beta=a["beta"][:5], theta=a["theta"][:5], g=a["g"][:5]), c)


@pytest.mark.parametrize("shape,params,want", [
    ((8, 3, 5, 5), [(3, 1, 1)], 1),  # per channel
    ((8, 3, 5, 5), [(5,)], 3),  # per column
    ((8, 3, 5, 5), [(1,), (5, 1)], 2),
    ((8, 3, 5, 5), [(8, 1, 1, 1)], 0),  # varies over the batch: no period
    ((8, 100), [(100,), (1,)], 1),
    ((8, 100), [(1,), (1, 1)], 2),  # one value each: every dimension repeats
    ((8, 100), [(1, 100)], 1),
])
def test_trailing_dimensions(shape: tuple[int, ...], params: list[tuple[int, ...]], want: int) -> None:
    assert trailing(torch.Size(shape), tuple(torch.ones(p) for p in params)) == want


T, B = 6, 5


def _stepped(neuron: torch.nn.Module, xs: torch.Tensor) -> torch.Tensor:
    states: tuple = ()
    out = []
    recurrent = isinstance(neuron, (snn.RLeaky, snn.RSynaptic))
    for x in xs:
        spk, *rest = neuron(x, *states)
        states = (spk, *rest) if recurrent else tuple(rest)
        out.append(spk * 1.3 + rest[-1])  # the loss reads the spikes and the membrane
    return torch.stack(out)


def _fused(neuron: torch.nn.Module, xs: torch.Tensor) -> torch.Tensor:
    spk, *states = neuron.forward_sequence(xs, record=True)  # (spk, ..., mem), every step's
    return spk * 1.3 + states[-1]


KINDS = ["leaky", "leaky_zero_immediate", "synaptic", "rleaky_diag", "rsynaptic_diag"]
SHAPES = {"feature": ((96,), (96,)), "channel": ((4, 6, 5), (4, 1, 1)), "row": ((4, 6, 5), (6, 5)),
          "short": ((40,), (40,)), "batch": ((96,), (B, 96)), "lead": ((4, 6, 5), (1, 4, 1, 1))}


def _neuron(kind: str, pshape: tuple[int, ...]) -> torch.nn.Module:
    g = torch.Generator().manual_seed(5)

    def r(lo: float, hi: float) -> torch.Tensor:
        return torch.rand(pshape, generator=g, dtype=torch.float64) * (hi - lo) + lo

    kw = dict(beta=r(0.4, 0.95), threshold=r(0.6, 1.4), learn_beta=True, learn_threshold=True)
    if kind == "leaky":
        return snn.Leaky(graded_spikes_factor=1.5, learn_graded_spikes_factor=True, **kw)
    if kind == "leaky_zero_immediate":
        return snn.Leaky(reset_mechanism="zero", reset_delay=False, **kw)
    if kind == "synaptic":
        return snn.Synaptic(alpha=r(0.3, 0.9), learn_alpha=True, **kw)
    if kind == "rleaky_diag":
        return snn.RLeaky(all_to_all=False, V=r(-0.5, 0.5), learn_recurrent=True, **kw)
    return snn.RSynaptic(alpha=r(0.3, 0.9), learn_alpha=True, all_to_all=False, V=r(-0.5, 0.5),
                         learn_recurrent=True, **kw)


# the one-to-one recurrences on features only
MODULE_CASES = [(k, s) for k in KINDS for s in SHAPES if not (k.startswith("r") and len(SHAPES[s][0]) > 1)]


@pytest.mark.parametrize("kind,shape_id", MODULE_CASES, ids=[f"{k}-{s}" for k, s in MODULE_CASES])
def test_modules_with_per_neuron_parameters_equal_the_step_loop(kind: str, shape_id: str) -> None:
    """Learnable per-feature, per-channel, per-row, short (below MIN_PERIOD: repeated to [N]),
    batch-varying (no period) and leading-1 parameters: outputs and every gradient as the step loop's,
    in float64."""
    shape, pshape = SHAPES[shape_id]
    torch.manual_seed(1)
    xs = (torch.randn(T, B, *shape, dtype=torch.float64) * 0.8 + 0.5).requires_grad_()
    fused, stepped = _neuron(kind, pshape).double(), _neuron(kind, pshape).double()
    w = torch.randn(T, B, *shape, dtype=torch.float64)
    got = _fused(fused, xs)
    (gx,) = torch.autograd.grad((got * w).sum(), xs, retain_graph=True)
    (got * w).sum().backward()
    want = _stepped(stepped, xs)
    (wx,) = torch.autograd.grad((want * w).sum(), xs, retain_graph=True)
    (want * w).sum().backward()
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(gx, wx, rtol=1e-12, atol=1e-12)
    sp = dict(stepped.named_parameters())
    learned = [n for n, p in sp.items() if p.grad is not None]
    assert len(learned) >= 2
    for name, p in fused.named_parameters():
        if name in learned:
            assert p.grad is not None and p.grad.shape == sp[name].grad.shape, name
            torch.testing.assert_close(p.grad, sp[name].grad, rtol=1e-10, atol=1e-10, msg=name)
            assert p.grad.abs().sum() > 0, name


@needs_lib
def test_period_is_used_where_it_pays(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernels get [P] parameters for a [F] beta with F >= MIN_PERIOD, [N] ones below it."""
    seen = []
    real = _native.lif_forward

    def spy(*args, **kw):  # noqa: ANN002, ANN003, ANN202
        seen.append((args[5].shape[0], args[0].shape[1]))
        return real(*args, **kw)

    monkeypatch.setattr(_native, "lif_forward", spy)
    for F in (MIN_PERIOD, MIN_PERIOD - 1):
        snn.Leaky(beta=torch.full((F,), 0.9)).forward_sequence(torch.rand(3, 4, F))
    assert seen == [(MIN_PERIOD, 4 * MIN_PERIOD), (4 * (MIN_PERIOD - 1), 4 * (MIN_PERIOD - 1))]


@needs_lib
def test_gradcheck_with_periodic_parameters() -> None:
    """The op's custom backward against finite differences with [P] parameters (P = 3, N = 6)."""
    from spikeforge.ops.lif import lif_forward

    torch.manual_seed(0)
    d = dict(dtype=torch.float64)
    xs = (torch.rand(4, 6, **d) * 1.5).requires_grad_()
    u0 = (torch.rand(6, **d) * 0.5).requires_grad_()
    beta = (torch.rand(3, **d) * 0.5 + 0.4).requires_grad_()
    theta = (torch.rand(3, **d) * 0.5 + 0.7).requires_grad_()
    g = torch.full((3,), 1.2, **d).requires_grad_()
    one = torch.zeros(1, **d)

    def f(*leaves: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # sid -1 (no surrogate): the spikes have their true derivative, zero away from the threshold
        spk, mem, *_ = lif_forward(leaves[0], leaves[1], one, one, one, *leaves[2:], one, False, False, 0,
                                   False, -1, 0.0, 0.0, True)
        return spk, mem

    assert torch.autograd.gradcheck(f, (xs, u0, beta, theta, g), eps=1e-7, atol=1e-6)


# ---------------------------------------------------------------- the alpha neuron

ALPHA = st.fixed_dictionaries(dict(
    dt=st.sampled_from([np.float32, np.float64]), T=st.integers(1, 5), P=st.integers(1, 40),
    reps=st.integers(1, 5), reset=st.integers(0, 2), nb=st.integers(1, 3), seed=st.integers(0, 2**31 - 1),
    sid=st.sampled_from([-1, 0, 1, 2, 3, 5, 7, 8]), params=st.booleans(), keep=st.just(True),
    has=st.tuples(st.booleans(), st.booleans(), st.booleans()),
))


def _check_alpha(c: dict) -> None:
    c = dict(c, N=c["P"] * c["reps"])
    full, grads = _alpha_case(c)
    N, P = c["N"], c["P"]
    prm = ("alpha", "beta", "tau", "theta", "g")
    # the [N] parameters made periodic, and the [P] ones given to the compiled kernels; P = 1 is one
    # value each (read as such), whose gradients stay per neuron
    full = dict(full, **{k: np.tile(full[k][:P], c["reps"]) for k in prm})
    short = dict(full, **{k: full[k][:P].copy() for k in prm})
    fw = _alpha_forward("native", short, c)
    want_fw = _alpha_forward("numba", full, c)
    for got, want in zip(fw, want_fw):
        np.testing.assert_array_equal(got, want)
    got = _alpha_backward("native", short, fw, grads, c)
    want = _alpha_backward("numba", full, want_fw, grads, c)
    for i, (g, w) in enumerate(zip(got, want)):
        assert g.shape == w.shape == ((c["T"], N) if i == 0 else (N,))
        np.testing.assert_array_equal(g, w, err_msg=f"gradient {i}")
        assert not np.isnan(g).any(), i


@needs_lib
@settings(max_examples=150, deadline=None)
@given(c=ALPHA)
def test_alpha_periodic_and_single_parameters_equal_numba_with_them_repeated(c: dict) -> None:
    """The alpha kernels with [P] (and [1]) parameters: spikes, state traces and every gradient (each
    neuron's parameter sums, [N]) bit for bit as numba's with the parameters repeated to [N]."""
    _check_alpha(c)


@needs_lib
@pytest.mark.parametrize("P,reps,nb", [(700, 50, 2), (1, 40000, 2), (20000, 3, 3)])
def test_alpha_periodic_parameters_across_chunks_and_tiles(P: int, reps: int, nb: int) -> None:
    _check_alpha(dict(dt=np.float32, T=3, P=P, reps=reps, reset=0, nb=nb, seed=P, sid=0,
                      has=(True, False, True), params=True, keep=True))


ALPHA_SHAPES = {"scalar": ((96,), ()), "feature": ((96,), (96,)), "channel": ((4, 6, 5), (4, 1, 1)),
                "short": ((40,), (40,)), "batch": ((96,), (B, 96))}


@pytest.mark.parametrize("shape_id", list(ALPHA_SHAPES))
def test_alpha_with_learnable_parameters_equals_the_step_loop(shape_id: str) -> None:
    """Alpha with learnable alpha, beta and threshold of one value, per feature, per channel, short and
    batch-varying: outputs and gradients as the step loop's, in float64."""
    shape, pshape = ALPHA_SHAPES[shape_id]
    g = torch.Generator().manual_seed(2)

    def make() -> snn.Alpha:
        g.manual_seed(2)
        r = torch.rand(pshape, generator=g, dtype=torch.float64)
        return snn.Alpha(alpha=0.6 + 0.3 * r, beta=0.1 + 0.3 * r, threshold=0.6 + 0.5 * r, learn_alpha=True,
                         learn_beta=True, learn_threshold=True).double()

    torch.manual_seed(3)
    xs = (torch.randn(T, B, *shape, dtype=torch.float64) * 0.8 + 0.5).requires_grad_()
    w = torch.randn(T, B, *shape, dtype=torch.float64)
    fused, stepped = make(), make()
    spk, *states = fused.forward_sequence(xs, record=True)
    got = spk * 1.3 + states[-1]
    out, syn_exc, syn_inh, mem = [], None, None, None
    for x in xs:
        s, syn_exc, syn_inh, mem = stepped(x, syn_exc, syn_inh, mem) if mem is not None else stepped(x)
        out.append(s * 1.3 + mem)
    want = torch.stack(out)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    (gx,) = torch.autograd.grad((got * w).sum(), xs, retain_graph=True)
    (wx,) = torch.autograd.grad((want * w).sum(), xs, retain_graph=True)
    torch.testing.assert_close(gx, wx, rtol=1e-12, atol=1e-12)
    (got * w).sum().backward()
    (want * w).sum().backward()
    sp = dict(stepped.named_parameters())
    learned = [n for n, p in sp.items() if p.grad is not None]
    assert {"alpha", "beta", "threshold"} <= set(learned), learned
    for name, p in fused.named_parameters():
        if name in learned:
            assert p.grad.shape == sp[name].grad.shape, name
            torch.testing.assert_close(p.grad, sp[name].grad, rtol=1e-10, atol=1e-10, msg=name)
            assert p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("kind", ["leaky", "alpha"])
def test_zero_features_with_per_neuron_parameters(kind: str) -> None:
    """``x[T, B, 0]`` with ``[0]`` learnable parameters: empty spikes and gradients, as the step loop
    gives (the kernels have no neuron to read parameters for)."""
    x = torch.rand(3, 2, 0, requires_grad=True)
    if kind == "leaky":
        n = snn.Leaky(beta=torch.rand(0), threshold=torch.ones(0), learn_beta=True, learn_threshold=True)
    else:
        n = snn.Alpha(alpha=torch.rand(0) * 0.3 + 0.6, beta=torch.rand(0) * 0.3, learn_alpha=True)
    spk, *_ = n.forward_sequence(x)
    assert spk.shape == (3, 2, 0)
    spk.sum().backward()
    assert x.grad is not None and x.grad.shape == (3, 2, 0)


@pytest.mark.parametrize("shape", [(5, 0, 7), (5, 3, 0)], ids=["no_batch", "no_features"])
def test_final_states_of_an_empty_input_keep_their_shape(shape: tuple[int, ...]) -> None:
    """With no neuron the final states are still ``[B, ...]``, as one step gives them."""
    x = torch.randn(shape)
    _, mem = snn.Leaky(beta=torch.rand(shape[-1])).forward_sequence(x)
    assert mem.shape == shape[1:]
    _, syn, mem = snn.Synaptic(alpha=0.8, beta=0.9).forward_sequence(x)
    assert syn.shape == mem.shape == shape[1:]
