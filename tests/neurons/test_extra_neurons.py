"""SLSTM, SConv2dLSTM, LeakyParallel, StateLeaky, LinearLeaky, DeltaLeaky, BatchNormTT and GradedSpikes.

Expected values come from shared/API.md sections 2.8-2.12 (reference vectors), from the model equations
written out here (nn.LSTMCell loops, explicit recurrences), or from snntorch 1.0.0 on random inputs
(where snntorch is right; see docs/differences.md). Part 1: reference vectors and comparisons with
snntorch; part 2, test_extra_neurons_state.py, has state_dict, sequence, float64, differences and errors.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import spikeforge as sf
from spikeforge import surrogate

from ._extra import LEAKY_NONE_MEM, REF_ATOL, _close, _quiet, _step, _twin, _xs

snt = pytest.importorskip("snntorch")


# ----------------------------------------------------------------------------- reference vectors
def test_deltaleaky_reference_vector():
    dl = sf.DeltaLeaky(beta=0.5, delta_threshold=0.5, init_hidden=True, output=True)
    out = [dl(x) for x in _xs()]
    _close(torch.stack([o[0] for o in out]), [1, 0, 0, 1, 1, 1, 0, 1, 1, 1])
    _close(torch.stack([o[1][0] for o in out]), LEAKY_NONE_MEM, atol=REF_ATOL)
    _close(torch.stack([o[1][1] for o in out]), [0.0] + LEAKY_NONE_MEM[:-1], atol=REF_ATOL)


def test_leakyparallel_reference_vector():
    lp = sf.LeakyParallel(1, 1, beta=0.5, bias=False)
    with torch.no_grad():
        lp.rnn.weight_ih_l0.fill_(1.0)
    spk, mem = lp.forward_sequence(_xs())
    _close(mem, LEAKY_NONE_MEM, atol=REF_ATOL)
    _close(spk, [0, 0, 1, 0, 1, 0, 0, 1, 1, 0])
    _close(lp(_xs()), [0, 0, 1, 0, 1, 0, 0, 1, 1, 0])
    with torch.no_grad():
        lp.rnn.weight_ih_l0.fill_(-1.0)
    _close(lp.forward_sequence(_xs())[1], [0.0] * 10)


SL_MEM = [0.6, 0.963918, 1.18465, 0.718524, 1.93581, 1.17413, 0.712144, 2.93194, 1.77831, 1.0786]


def test_stateleaky_reference_vectors():
    spk, mem = sf.StateLeaky(beta=0.5, channels=1)(_xs())
    _close(mem, SL_MEM, atol=REF_ATOL)
    _close(spk, [0, 0, 1, 0, 1, 1, 0, 1, 1, 1])
    mem2 = sf.StateLeaky(beta=0.5, channels=1, kernel_truncation_steps=2)(_xs())[1]
    _close(mem2, [0.6, 0.963918, 0.963918, 0.363918, 1.5, 0.909796, 0, 2.5, 1.51633, 0], atol=REF_ATOL)
    # g is applied once: graded spikes are 2 (snntorch 1.0.0 gives 4)
    spk_g = sf.StateLeaky(beta=0.5, channels=1, graded_spikes_factor=2.0)(_xs())[0]
    _close(spk_g, [0, 0, 2, 0, 2, 2, 0, 2, 2, 2])
    ll = sf.LinearLeaky(0.5, 1, 1, bias=False)
    with torch.no_grad():
        ll.linear.weight.fill_(1.0)
    _close(ll(_xs())[1], SL_MEM, atol=REF_ATOL)
    _close(ll.mem, SL_MEM, atol=REF_ATOL)


def test_stateleaky_impulse_response_per_channel():
    beta = torch.tensor([0.9, 0.8, 0.7])
    x = torch.zeros(12, 1, 3)
    x[0] = 1.0
    mem = sf.StateLeaky(beta=beta, channels=3, output=False)(x)
    t = torch.arange(12.0).reshape(12, 1, 1)
    _close(mem, torch.exp(-t * (1 - beta)), atol=1e-5)  # tau = 1/(1-beta)
    _close(sf.StateLeaky(beta=beta, channels=3).beta, beta, atol=1e-5)


def test_sconv2dlstm_reference_shapes():
    n = sf.SConv2dLSTM(1, 4, 3, max_pool=2)
    spk, syn, mem = n(torch.rand(2, 1, 8, 8))
    assert spk.shape == (2, 4, 4, 4) and syn.shape == mem.shape == (2, 4, 8, 8)


# ----------------------------------------------------------------------------- differential vs snntorch
SLSTM_CASES = [
    {"reset_mechanism": "none"},
    {"reset_mechanism": "subtract", "threshold": 0.1},
    {"reset_mechanism": "zero", "threshold": 0.05, "bias": False},
    {"reset_mechanism": "subtract", "threshold": 0.1, "spike_grad": surrogate.fast_sigmoid()},
]


@pytest.mark.parametrize("kw", SLSTM_CASES, ids=str)
def test_slstm_matches_snntorch_when_sizes_agree(kw):
    # snntorch is right only when input_size == hidden_size (API.md 2.9)
    ref_kw = dict(kw)
    if "spike_grad" in ref_kw:
        ref_kw["spike_grad"] = snt.surrogate.fast_sigmoid()
    ref = snt.SLSTM(4, 4, **ref_kw)
    ours = sf.SLSTM(4, 4, **kw)
    ours.load_state_dict(ref.state_dict())
    xs = (torch.randn(8, 3, 4) * 2).requires_grad_()
    xr = xs.detach().clone().requires_grad_()
    s1, (c1, h1) = _step(ours, xs)
    s2, (c2, h2) = _step(ref, xr)
    for a, b in ((s1, s2), (c1, c2), (h1, h2)):
        _close(a, b.detach())
    (s1.sum() + h1.sum()).backward()
    (s2.sum() + h2.sum()).backward()
    _close(xs.grad, xr.grad, atol=1e-5)
    assert s1.sum() > 0 or kw["reset_mechanism"] == "none"


def test_slstm_init_hidden_matches_snntorch():
    ours, ref = _twin(sf.SLSTM, snt.SLSTM, 3, 3, init_hidden=True, output=True, reset_mechanism="subtract",
                      threshold=0.1)
    for x in torch.randn(5, 2, 3).unbind(0):
        for a, b in zip(ours(x), ref(x)):
            _close(a, b.detach())
    assert isinstance(sf.SLSTM(3, 3, init_hidden=True)(torch.randn(2, 3)), torch.Tensor)


def test_slstm_keeps_memory_when_sizes_differ():
    """Equations: (h, c) = LSTMCell(x, (h, c)); mem = h, syn = c, spk = H(h - theta)."""
    n = sf.SLSTM(3, 5, threshold=0.1)
    xs = torch.randn(6, 2, 3)
    spk, (syn, mem) = _step(n, xs)
    h = c = torch.zeros(2, 5)
    for t, x in enumerate(xs.unbind(0)):
        h, c = n.lstm_cell(x, (h, c))
        _close(mem[t], h.detach())
        _close(syn[t], c.detach())
        _close(spk[t], (h > 0.1).float())


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"max_pool": 2, "reset_mechanism": "subtract", "threshold": 0.05},
        {"avg_pool": 2, "reset_mechanism": "zero", "threshold": 0.02, "bias": False},
        {"kernel_size": (3, 5), "reset_mechanism": "subtract", "threshold": 0.05},
    ],
    ids=str,
)
def test_sconv2dlstm_matches_snntorch(kw):
    kw = {"kernel_size": 3, **kw}
    ours, ref = _twin(sf.SConv2dLSTM, snt.SConv2dLSTM, 2, 3, **kw)
    xs = torch.randn(5, 2, 2, 6, 6)
    s1, (c1, h1) = _step(ours, xs)
    s2, (c2, h2) = _step(ref, xs)
    for a, b in ((s1, s2), (c1, c2), (h1, h2)):
        _close(a, b.detach())


@pytest.mark.parametrize(
    "kw",
    [
        {"beta": 0.8},
        {"beta": None, "threshold": 0.2},
        {"beta": 0.7, "weight_hh_enable": True, "threshold": 0.5},
        {"beta": 0.9, "learn_beta": True, "learn_threshold": True, "graded_spikes_factor": 2.0},
        {"beta": 0.6, "surrogate_disable": True, "bias": False},
    ],
    ids=str,
)
def test_leakyparallel_matches_snntorch(kw):
    ours, ref = _twin(sf.LeakyParallel, snt.LeakyParallel, 3, 4, **kw)
    for unbatched in (False, True):
        xs = (torch.randn(7, 3) if unbatched else torch.randn(7, 2, 3)) * 2
        x1, x2 = xs.clone().requires_grad_(), xs.clone().requires_grad_()
        s1, s2 = ours(x1), ref(x2)
        _close(s1, s2.detach())
        if not kw.get("surrogate_disable"):
            s1.sum().backward()
            s2.sum().backward()
            _close(x1.grad, x2.grad, atol=1e-5)
    w = ours.rnn.weight_hh_l0
    assert w.requires_grad == bool(kw.get("learn_beta"))
    if not kw.get("weight_hh_enable"):
        assert torch.equal(w, torch.diag(torch.diagonal(w)))


def test_leakyparallel_per_neuron_beta_is_used():
    beta = torch.tensor([0.2, 0.5, 0.9])
    lp = sf.LeakyParallel(2, 3, beta=beta, bias=False)
    assert torch.equal(lp.rnn.weight_hh_l0, torch.diag(beta))
    xs = torch.rand(6, 1, 2)
    _, mem = lp.forward_sequence(xs)
    u = torch.zeros(1, 3)
    for t, x in enumerate(xs.unbind(0)):
        u = torch.relu(x @ lp.rnn.weight_ih_l0.T + beta * u)
        _close(mem[t], u.detach())


def test_leakyparallel_learn_beta_trains_only_the_diagonal():
    lp = sf.LeakyParallel(2, 3, beta=0.5, learn_beta=True)
    lp.forward_sequence(torch.rand(5, 2, 2) * 3)[1].sum().backward()
    g = lp.rnn.weight_hh_l0.grad
    assert torch.equal(g, torch.diag(torch.diagonal(g))) and torch.diagonal(g).abs().sum() > 0


@pytest.mark.parametrize(
    "kw",
    [
        {"beta": 0.5},
        {"beta": torch.tensor([0.3, 0.6, 0.9]), "threshold": 0.8},
        {"beta": 0.8, "kernel_truncation_steps": 3, "spike_grad": "fast_sigmoid"},
        {"beta": torch.tensor([0.7]), "output": False},
        {"beta": 0.9, "state_quant": "quant"},
    ],
    ids=str,
)
def test_stateleaky_matches_snntorch(kw):
    from snntorch.functional import quant

    def resolve(lib, k):
        k = dict(k)
        if k.get("spike_grad") == "fast_sigmoid":
            k["spike_grad"] = lib.surrogate.fast_sigmoid()
        if k.get("state_quant") == "quant":
            k["state_quant"] = quant.state_quant(num_bits=4, uniform=True, threshold=1.0)
        return k

    ref = _quiet(snt.StateLeaky, channels=3, **resolve(snt, kw))
    ours = _quiet(sf.StateLeaky, channels=3, **resolve(sf, kw))
    ours.load_state_dict(ref.state_dict())
    xs = torch.randn(9, 2, 3)
    a, b = ours(xs), ref(xs)
    if kw.get("output", True):
        for u, v in zip(a, b):
            _close(u, v.detach(), atol=1e-5)
        _close(ours.forward_sequence(xs)[0], a[0])
    else:
        _close(a, b.detach(), atol=1e-5)


def test_stateleaky_learn_beta_gradient_matches_snntorch():
    ours, ref = _twin(sf.StateLeaky, snt.StateLeaky, 0.7, 2, learn_beta=True)
    xs = torch.randn(6, 2, 2)
    ours(xs)[1].pow(2).sum().backward()
    ref(xs)[1].pow(2).sum().backward()
    _close(ours.tau.grad, ref.tau.grad, atol=1e-4)
    assert [n for n, _ in ours.named_parameters()] == ["tau"]  # snntorch also lists an unused beta


def test_linearleaky_matches_snntorch():
    ours, ref = _twin(sf.LinearLeaky, snt.LinearLeaky, 0.6, 4, 3, kernel_truncation_steps=5)
    xs = torch.randn(8, 2, 4)
    for u, v in zip(ours(xs), ref(xs)):
        _close(u, v.detach(), atol=1e-5)
    _close(ours.mem, ref.mem.detach(), atol=1e-5)


@pytest.mark.parametrize("kw", [{"beta": 0.5}, {"beta": 0.9, "delta_threshold": 0.2}, {"beta": 0.0}], ids=str)
def test_deltaleaky_matches_snntorch(kw):
    ours, ref = _twin(sf.DeltaLeaky, snt.DeltaLeaky, **kw)
    xs = torch.randn(8, 2, 3)
    st1 = st2 = (None, None)
    for x in xs.unbind(0):
        s1, st1 = ours(x, st1)
        s2, st2 = ref(x, st2)
        _close(s1, s2)
        _close(st1[0], st2[0])
        _close(st1[1], st2[1])


def test_batchnormtt_matches_snntorch():
    for ours_fn, ref_fn, shape in (
        (sf.BatchNormTT1d, snt.BatchNormTT1d, (4, 3)),
        (sf.BatchNormTT2d, snt.BatchNormTT2d, (4, 3, 2, 2)),
    ):
        ours, ref = ours_fn(3, 2, momentum=0.2), ref_fn(3, 2, momentum=0.2)
        assert isinstance(ours, nn.ModuleList) and len(ours) == 2
        assert all(bn.bias is None for bn in ours)
        ours.load_state_dict(ref.state_dict())
        assert list(ours.state_dict()) == list(ref.state_dict())
        for t in range(2):
            x = torch.randn(*shape)
            _close(ours[t](x), ref[t](x).detach())
            _close(ours[t].running_mean, ref[t].running_mean)


def test_gradedspikes():
    gs = sf.GradedSpikes(3, 2.0)
    assert gs.weights.shape == (3, 1) and torch.equal(gs.weights, torch.full((3, 1), 2.0))
    x = torch.rand(3, 5)
    _close(gs(x), x * 2.0)
    r = sf.GradedSpikes(100, None).weights
    assert r.min() >= 0.5 and r.max() < 1.5 and r.std() > 0.1
    assert list(gs.state_dict()) == list(snt.GradedSpikes(3, 2.0).state_dict())
    with pytest.raises(ValueError, match="size"):
        sf.GradedSpikes(0, 1.0)
