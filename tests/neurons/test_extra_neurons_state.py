"""SLSTM, SConv2dLSTM, LeakyParallel, StateLeaky, LinearLeaky, DeltaLeaky, BatchNormTT and GradedSpikes,
part 2: state_dict compatibility, whole sequence equals stepping, float64 end to end, the deliberate
differences from snntorch 1.0.0 (docs/differences.md) and bad input. Part 1, test_extra_neurons.py, has
the reference vectors and the comparisons with snntorch on random inputs.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import spikeforge as sf

from ._extra import _close, _quiet, _step

snt = pytest.importorskip("snntorch")


# ----------------------------------------------------------------------------- state_dict compatibility
STATE_DICT_CASES = [
    ("SLSTM", (3, 2), {}),
    ("SLSTM", (3, 2), {"bias": False, "learn_threshold": True, "reset_mechanism": "subtract"}),
    ("SConv2dLSTM", (1, 4, 3), {}),
    ("SConv2dLSTM", (2, 3, 5), {"bias": False, "max_pool": 2, "learn_threshold": True}),
    ("LeakyParallel", (3, 2), {}),
    ("LeakyParallel", (3, 2), {"beta": 0.5, "learn_beta": True, "learn_threshold": True,
                               "learn_graded_spikes_factor": True, "bias": False}),
    ("LeakyParallel", (3, 2), {"beta": torch.tensor([0.5]), "weight_hh_enable": True}),
    ("StateLeaky", (0.5, 3), {}),
    ("StateLeaky", (torch.tensor([0.1, 0.5, 0.9]), 3), {"learn_beta": True, "learn_threshold": True,
                                                        "learn_graded_spikes_factor": True}),
    ("LinearLeaky", (0.5, 3, 2), {}),
    ("LinearLeaky", (0.5, 3, 2), {"bias": False, "learn_beta": True}),
    ("DeltaLeaky", (), {"beta": 0.5}),
    ("DeltaLeaky", (), {"beta": 0.5, "init_hidden": True, "learn_beta": True}),
]


@pytest.mark.parametrize("name,args,kw", STATE_DICT_CASES, ids=lambda v: str(v)[:40])
def test_state_dict_keys_and_round_trip(name, args, kw):
    ref = _quiet(getattr(snt, name), *args, **kw)
    ours = _quiet(getattr(sf, name), *args, **kw)
    assert list(ours.state_dict()) == list(ref.state_dict())
    # snntorch -> spikeforge: strict, values equal
    for p in ours.parameters():
        with torch.no_grad():
            p.add_(0.25)
    ours.load_state_dict(ref.state_dict())
    for k, v in ref.state_dict().items():
        if not (name in ("StateLeaky", "LinearLeaky") and k == "beta"):
            assert torch.equal(ours.state_dict()[k], v), k
    # spikeforge -> snntorch: strict
    ref2 = _quiet(getattr(snt, name), *args, **kw)
    ref2.load_state_dict(ours.state_dict())
    for k, v in ours.state_dict().items():
        torch.testing.assert_close(ref2.state_dict()[k], v, atol=1e-6, rtol=0)


def test_stateleaky_state_dict_beta_follows_tau():
    sl = sf.StateLeaky(0.5, 1, learn_beta=True)
    with torch.no_grad():
        sl.tau.fill_(4.0)
    _close(sl.state_dict()["beta"], 0.75)
    _close(sl.beta, 0.75)


# ----------------------------------------------------------------------------- sequence == stepping
SEQ_CASES = [
    (lambda: sf.SLSTM(3, 4, threshold=0.1, reset_mechanism="subtract"), (2, 3)),
    (lambda: sf.SLSTM(3, 4, threshold=0.05, reset_mechanism="zero", inhibition=True), (2, 3)),
    (lambda: sf.SConv2dLSTM(2, 3, 3, avg_pool=2, threshold=0.05, reset_mechanism="subtract"), (2, 2, 4, 4)),
    (lambda: sf.DeltaLeaky(beta=0.8, delta_threshold=0.3, graded_spikes_factor=2.0), (2, 3)),
]


@pytest.mark.parametrize("case", range(len(SEQ_CASES)))
@pytest.mark.filterwarnings("ignore:inhibition")
def test_forward_sequence_equals_stepping(case):
    build, shape = SEQ_CASES[case]
    n = build()
    xs = torch.randn(6, *shape) * 1.5
    spk, traces = _step(n, xs) if not isinstance(n, sf.DeltaLeaky) else _step_delta(n, xs)
    n.reset_hidden()  # without explicit states a neuron continues from its stored state
    out = n.forward_sequence(xs)
    _close(out[0], spk)
    for final, trace in zip(out[1:], traces):
        _close(final, trace[-1])
    rec = n.forward_sequence(xs, *(torch.zeros_like(t[0]) for t in traces), record=True)
    for full, trace in zip(rec[1:], traces):
        _close(full, trace)


def _step_delta(n, xs):
    spk, states, st = [], [], None
    for x in xs.unbind(0):
        s, st = n(x, st)
        spk.append(s)
        states.append(st)
    return torch.stack(spk), [torch.stack(t) for t in zip(*states)]


def test_whole_sequence_classes_forward_sequence_equals_forward():
    xs = torch.randn(7, 2, 3)
    sl = sf.StateLeaky(0.8, 3)
    for a, b in zip(sl.forward_sequence(xs), sl(xs)):
        _close(a, b)
    _close(sf.StateLeaky(0.8, 3, output=False).forward_sequence(xs)[1], sl(xs)[1])
    lp = sf.LeakyParallel(3, 2, beta=0.9)
    _close(lp.forward_sequence(xs * 3)[0], lp(xs * 3))


# ----------------------------------------------------------------------------- float64 end to end
def test_float64_end_to_end():
    x64 = torch.randn(5, 2, 3, dtype=torch.float64)
    slstm = sf.SLSTM(3, 4, threshold=0.1).double()
    spk, syn, mem = slstm.forward_sequence(x64)
    assert spk.dtype == syn.dtype == mem.dtype == torch.float64
    conv = sf.SConv2dLSTM(1, 2, 3, max_pool=2).double()
    spk, syn, mem = conv(torch.randn(2, 1, 4, 4, dtype=torch.float64))
    assert spk.dtype == mem.dtype == torch.float64
    spk, (mem, prev) = sf.DeltaLeaky(beta=0.5)(x64[0])
    assert spk.dtype == mem.dtype == prev.dtype == torch.float64
    spk, mem = sf.StateLeaky(0.5, 3)(x64)
    assert spk.dtype == mem.dtype == torch.float64
    # the float64 membrane agrees with snntorch's float32 one
    _close(mem, snt.StateLeaky(0.5, 3)(x64.float())[1].detach(), atol=1e-5)
    lp = sf.LeakyParallel(3, 2, beta=0.5).double()
    spk, mem = lp.forward_sequence(x64)
    assert spk.dtype == mem.dtype == torch.float64
    ll = sf.LinearLeaky(0.5, 3, 2, dtype=torch.float64)
    assert ll(x64)[0].dtype == torch.float64


# ----------------------------------------------------------------------------- deliberate differences
def test_slstm_inhibition_is_applied():
    n = _quiet(sf.SLSTM, 3, 6, threshold=-1.0, inhibition=True)  # every h > -1: all would spike
    spk = n(torch.randn(4, 3))[0]
    assert torch.equal(spk.sum(1), torch.ones(4))


def test_sconv2dlstm_even_kernel_keeps_state_size():
    n = sf.SConv2dLSTM(1, 2, 2)
    spk, syn, mem = n.forward_sequence(torch.randn(3, 1, 1, 5, 5))
    assert spk.shape == (3, 1, 2, 5, 5) and mem.shape == (1, 2, 5, 5)


def test_deltaleaky_beta_is_clamped():
    n = sf.DeltaLeaky(beta=1.5, delta_threshold=0.1)
    _, (mem, _) = n(torch.ones(1), (torch.ones(1), None))
    _close(mem, 2.0)  # beta used as 1: 1*1 + 1


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-3, 3), min_size=2, max_size=8), st.floats(0, 1))
def test_deltaleaky_spikes_are_unsigned(values, beta):
    xs = torch.tensor(values, dtype=torch.float64).reshape(-1, 1)
    pos = sf.DeltaLeaky(beta=beta, delta_threshold=0.5).forward_sequence(xs)
    neg = sf.DeltaLeaky(beta=beta, delta_threshold=0.5).forward_sequence(-xs)
    assert torch.equal(pos[0], neg[0])
    # equation: U[t] = beta*U[t-1] + X[t]; S = H(|U[t] - U[t-1]| - delta)
    u_prev, u = 0.0, 0.0
    for t, x in enumerate(values):
        u_prev, u = u, beta * u + x
        assert pos[0][t].item() == float(abs(u - u_prev) > 0.5) or math.isclose(abs(u - u_prev), 0.5)


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "build,match",
    [
        (lambda: sf.SLSTM(0, 2), "input_size"),
        (lambda: sf.SLSTM(2, -1), "hidden_size"),
        (lambda: sf.SLSTM(2.5, 2), "input_size"),
        (lambda: sf.SConv2dLSTM(1, 0, 3), "out_channels"),
        (lambda: sf.SConv2dLSTM(1, 2, 0), "kernel_size"),
        (lambda: sf.SConv2dLSTM(1, 2, 3, max_pool=2, avg_pool=2), "max_pool"),
        (lambda: sf.LeakyParallel(0, 2), "input_size"),
        (lambda: sf.LeakyParallel(2, 3, beta=[0.1, 0.2]), "beta"),
        (lambda: sf.StateLeaky(torch.tensor([0.1, 0.2]), 3), "beta"),
        (lambda: sf.StateLeaky(0.5, 0), "channels"),
        (lambda: sf.StateLeaky(0.5, 2, kernel_truncation_steps=0), "kernel_truncation_steps"),
        (lambda: sf.LinearLeaky(0.5, 0, 2), "in_features"),
        (lambda: sf.BatchNormTT1d(3, 0), "time_steps"),
    ],
)
def test_constructor_errors(build, match):
    with pytest.raises(ValueError, match=match):
        build()


@pytest.mark.parametrize(
    "module,x,exc,match",
    [
        (sf.SLSTM(3, 2), torch.rand(2, 4), ValueError, "input_size=3"),
        (sf.SLSTM(3, 2), torch.rand(2, 1, 3), ValueError, "input_size=3"),
        (sf.SLSTM(3, 2), torch.rand(2, 3, dtype=torch.float64), TypeError, "dtype"),
        (sf.SConv2dLSTM(2, 3, 3), torch.rand(1, 1, 4, 4), ValueError, "in_channels=2"),
        (sf.LeakyParallel(3, 2), torch.rand(4, 2, 5), ValueError, "input_size=3"),
        (sf.LeakyParallel(3, 2), [1.0, 2.0], TypeError, "Tensor"),
        (sf.StateLeaky(torch.tensor([0.5, 0.6, 0.7]), 3), torch.rand(4, 2, 2), ValueError, "channels=3"),
        (sf.StateLeaky(0.5, 3), torch.rand(4, 3), ValueError, r"\[T, B, channels"),
        (sf.LinearLeaky(0.5, 3, 2), torch.rand(4, 2, 2), ValueError, "in_features=3"),
    ],
)
def test_input_errors(module, x, exc, match):
    with pytest.raises(exc, match=match):
        module(x)


def test_state_errors():
    with pytest.raises(TypeError, match="init_hidden"):
        sf.SLSTM(3, 2, init_hidden=True)(torch.rand(2, 3), torch.zeros(2, 2))
    with pytest.raises(TypeError, match="beta"):
        sf.DeltaLeaky(0.5)
    with pytest.raises(TypeError, match="mem"):
        sf.DeltaLeaky(beta=0.5)(torch.rand(2), "state")
    with pytest.warns(UserWarning, match="threshold"):
        sf.DeltaLeaky(beta=0.5, threshold=0.3)
    with pytest.warns(UserWarning, match="output=False"):
        sf.StateLeaky(0.5, 2, output=False, graded_spikes_factor=2.0)
