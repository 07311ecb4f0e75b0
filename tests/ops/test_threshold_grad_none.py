"""A learnable parameter that nothing differentiates has the gradient None, fused as stepped (and as in
snntorch). With ``surrogate_disable=True``, a threshold: only the subtract reset writes ``R * theta``
into the state, and the spikes carry no gradient. With a loss on the states alone, the graded factor
and such a threshold too, unless the spikes feed the state. A zero instead would let AdamW's weight
decay move them."""

from __future__ import annotations

import pytest
import torch

import spikeforge as snn

T, B, N = 6, 3, 5


def _make(kind: str, reset: str, delay: bool) -> torch.nn.Module:
    common = dict(surrogate_disable=True, learn_threshold=True, reset_mechanism=reset, threshold=0.7)
    if kind == "leaky":
        return snn.Leaky(beta=0.8, reset_delay=delay, **common)
    if kind == "synaptic":
        return snn.Synaptic(alpha=0.6, beta=0.8, reset_delay=delay, **common)
    if kind == "lapicque":
        return snn.Lapicque(beta=0.8, **common)
    if kind == "alpha":
        return snn.Alpha(alpha=0.8, beta=0.6, **common)
    if kind == "rleaky_dense":
        torch.manual_seed(1)
        return snn.RLeaky(beta=0.8, linear_features=N, reset_delay=delay, **common)
    if kind == "rleaky_diag":
        return snn.RLeaky(beta=0.8, all_to_all=False, V=0.3, reset_delay=delay, **common)
    raise AssertionError(kind)


def _loss(outs: tuple[torch.Tensor, ...]) -> torch.Tensor:
    return sum(o.sum() for o in outs if o.requires_grad)


def _stepped(neuron: torch.nn.Module, xs: torch.Tensor) -> tuple[torch.Tensor, ...]:
    states: tuple = ()
    spks = []
    recurrent = isinstance(neuron, (snn.RLeaky, snn.RSynaptic))  # forward(x, spk, ...) returns (spk, ...)
    for x in xs:
        spk, *rest = neuron(x, *states)
        states = (spk, *rest) if recurrent else tuple(rest)
        spks.append(spk)
    return (torch.stack(spks), *states)


# Lapicque and Alpha take no reset_delay
CASES = [(kind, delay) for kind in ("leaky", "synaptic", "lapicque", "alpha", "rleaky_dense", "rleaky_diag")
         for delay in (True, False) if delay or kind not in ("lapicque", "alpha")]


@pytest.mark.parametrize("kind,delay", CASES)
@pytest.mark.parametrize("reset", ["subtract", "zero", "none"])
def test_threshold_grad_none_where_the_step_loop_has_none(kind: str, reset: str, delay: bool) -> None:
    torch.manual_seed(0)
    xs = torch.randn(T, B, N, dtype=torch.float64) + 0.5
    fused, stepped = _make(kind, reset, delay).double(), _make(kind, reset, delay).double()
    stepped.load_state_dict(fused.state_dict())
    xf, xs_ = xs.clone().requires_grad_(), xs.clone().requires_grad_()
    _loss(fused.forward_sequence(xf)).backward()
    _loss(_stepped(stepped, xs_)).backward()
    torch.testing.assert_close(xf.grad, xs_.grad, rtol=1e-10, atol=1e-12)
    # by the equations: theta enters the state only through the subtract reset's R * theta
    # (the delayed one, or the immediate one D * theta)
    assert (stepped.threshold.grad is None) == (reset != "subtract")
    assert (fused.threshold.grad is None) == (reset != "subtract")
    if reset == "subtract":
        torch.testing.assert_close(fused.threshold.grad, stepped.threshold.grad, rtol=1e-12, atol=1e-12)
    for name, p in stepped.named_parameters():  # the other parameters keep their gradients
        if name != "threshold" and p.grad is not None:
            torch.testing.assert_close(dict(fused.named_parameters())[name].grad, p.grad, rtol=1e-10,
                                       atol=1e-12)


def test_weight_decay_leaves_an_untrained_threshold_where_it_was() -> None:
    """The user-visible symptom: AdamW with weight decay moved a zero-reset threshold before."""
    lif = snn.Leaky(beta=0.9, surrogate_disable=True, learn_threshold=True, reset_mechanism="zero")
    opt = torch.optim.AdamW(lif.parameters(), lr=0.1, weight_decay=0.5)
    xs = torch.rand(8, 2, 4, requires_grad=True)
    lif.forward_sequence(xs)[1].sum().backward()
    opt.step()
    assert lif.threshold.item() == 1.0


@pytest.mark.parametrize("reset", ["subtract", "zero", "none"])
def test_as_snntorch(reset: str) -> None:
    snntorch = pytest.importorskip("snntorch")
    xs = (torch.rand(8, 2, 4) * 2).requires_grad_()
    grads = []
    for lib in (snntorch, snn):
        lif = lib.Leaky(beta=0.9, surrogate_disable=True, learn_threshold=True, reset_mechanism=reset)
        mem = torch.zeros(2, 4)
        for x in xs:
            _, mem = lif(x, mem)
        mem.sum().backward()
        grads.append(lif.threshold.grad)
    fused = snn.Leaky(beta=0.9, surrogate_disable=True, learn_threshold=True, reset_mechanism=reset)
    fused.forward_sequence(xs)[1].sum().backward()
    assert grads[0] is None if reset != "subtract" else grads[0] is not None
    for g in (grads[1], fused.threshold.grad):
        if grads[0] is None:
            assert g is None
        else:
            torch.testing.assert_close(g, grads[0])


def _make_learning(kind: str, reset: str, delay: bool, disable: bool) -> torch.nn.Module:
    common = dict(learn_threshold=True, learn_beta=True, reset_mechanism=reset, threshold=0.7,
                  surrogate_disable=disable)
    if kind == "leaky":
        return snn.Leaky(beta=0.8, reset_delay=delay, learn_graded_spikes_factor=True,
                         graded_spikes_factor=1.3, **common)
    if kind == "synaptic":
        return snn.Synaptic(alpha=0.6, beta=0.8, reset_delay=delay, learn_alpha=True, **common)
    if kind == "lapicque":
        return snn.Lapicque(beta=0.8, **common)
    if kind == "alpha":
        return snn.Alpha(alpha=0.8, beta=0.6, learn_alpha=True, **common)
    if kind == "rleaky_diag":
        return snn.RLeaky(beta=0.8, all_to_all=False, V=0.3, learn_recurrent=True, reset_delay=delay,
                          **common)
    if kind == "rleaky_dense":
        torch.manual_seed(1)
        return snn.RLeaky(beta=0.8, linear_features=N, reset_delay=delay, **common)
    if kind == "rsynaptic_diag":
        return snn.RSynaptic(alpha=0.6, beta=0.8, all_to_all=False, V=0.3, reset_delay=delay, **common)
    if kind == "rsynaptic_dense":
        torch.manual_seed(1)
        return snn.RSynaptic(alpha=0.6, beta=0.8, linear_features=N, reset_delay=delay, **common)
    raise AssertionError(kind)


# (kind, reset_delay, outputs the loss may read: index into (spk, *final states) of forward_sequence)
KINDS = [("leaky", True), ("leaky", False), ("synaptic", True), ("synaptic", False), ("lapicque", True),
         ("alpha", True), ("rleaky_diag", True), ("rleaky_diag", False), ("rleaky_dense", True),
         ("rsynaptic_diag", True), ("rsynaptic_diag", False), ("rsynaptic_dense", True),
         ("rsynaptic_dense", False)]
READS = {"spikes": (0,), "final_state": (-1,), "spikes_and_state": (0, -1)}
CURRENT_READS = {"synaptic": {"syn": (1,)}, "alpha": {"exc": (1,), "inh": (2,)},
                 "rsynaptic_diag": {"syn": (-2,)}, "rsynaptic_dense": {"syn": (-2,)}}
CASES_LEARNING = [(k, d, r, ix) for k, d in KINDS
                  for r, ix in list(READS.items()) + list(CURRENT_READS.get(k, {}).items())]


@pytest.mark.parametrize("kind,delay,reads,index", CASES_LEARNING,
                         ids=[f"{k}-{'delay' if d else 'now'}-{r}" for k, d, r, _ in CASES_LEARNING])
@pytest.mark.parametrize("reset", ["subtract", "zero", "none"])
@pytest.mark.parametrize("steps", [1, 5])
@pytest.mark.parametrize("disable", [False, True], ids=["surrogate", "surrogate_disable"])
def test_none_exactly_where_the_step_loop_has_none(kind: str, delay: bool, reads: str, index: tuple[int, ...],
                                                   reset: str, steps: int, disable: bool) -> None:
    """Whatever outputs the loss reads (spikes, a state, a current), a learnable parameter (and the
    input) that no gradient reaches has the gradient None, fused as in the step loop's graph, and the
    others the same values; the paths that carry none: the spikes without a surrogate, a loss on the
    states alone (the graded factor, a threshold the reset does not subtract), a current alone (the
    membrane's parameters), one step (spikes that feed no later step)."""
    torch.manual_seed(0)
    xs = torch.randn(steps, B, N, dtype=torch.float64) + 0.6
    fused = _make_learning(kind, reset, delay, disable).double()
    stepped = _make_learning(kind, reset, delay, disable).double()
    stepped.load_state_dict(fused.state_dict())
    xf, xs_ = xs.clone().requires_grad_(), xs.clone().requires_grad_()
    out_f, out_s = fused.forward_sequence(xf), _stepped(stepped, xs_)
    loss_f, loss_s = (sum(o[i].sum() for i in index) for o in (out_f, out_s))
    fp = dict(fused.named_parameters())
    if loss_s.requires_grad:
        loss_s.backward()
    else:  # nothing the loss reads has a gradient (spikes without a surrogate, no learnable factor)
        assert all(p.grad is None for p in stepped.parameters())
    if loss_f.requires_grad:
        loss_f.backward()
    for name, p in stepped.named_parameters():
        assert (fp[name].grad is None) == (p.grad is None), (name, fp[name].grad, p.grad)
        if p.grad is not None:
            torch.testing.assert_close(fp[name].grad, p.grad, rtol=1e-10, atol=1e-12)
    assert (xf.grad is None) == (xs_.grad is None) or (xf.grad is not None and not xf.grad.any())
    if xs_.grad is not None:
        torch.testing.assert_close(xf.grad, xs_.grad, rtol=1e-10, atol=1e-12)
