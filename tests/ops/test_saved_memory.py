"""What training keeps for the backward: shared spike masks (`spikeforge.ops._masks`: a dense ``RLeaky``
and the ``Linear`` over its spikes keep one bool mask between them, reused only where it is exactly
``t.bool()``), and time chunks that start from copies of the last step, not views into whole traces."""

from __future__ import annotations

import gc

import pytest
import torch
from torch import nn

import spikeforge as snn
from spikeforge.ops._masks import bool_mask, remember

pytest.importorskip("numba")


def _saved_bool_storages(run) -> list[int]:  # noqa: ANN001
    found: list[int] = []

    def pack(t: torch.Tensor) -> torch.Tensor:
        if t.dtype == torch.bool:
            found.append(t.untyped_storage().data_ptr())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        run()
    return found


def test_recurrent_op_and_next_linear_keep_one_mask():
    torch.manual_seed(0)
    net = snn.SequentialSNN(nn.Linear(5, 8), snn.RLeaky(beta=0.9, linear_features=8), nn.Linear(8, 3))
    x = torch.rand(4, 2, 5) * 3
    out = []
    saved = _saved_bool_storages(lambda: out.append(net(x)))
    # per time chunk, the op and the Linear each keep a bool mask: the same one
    assert saved and all(saved.count(ptr) == 2 for ptr in saved)
    out[0].sum().backward()
    got = [p.grad.clone() for p in net.parameters()]
    net.zero_grad()
    # the same network step by step (snntorch's loop): the same gradients
    spk, mem, outs = torch.zeros(2, 8), torch.zeros(2, 8), []
    for t in range(4):
        spk, mem = net[1](net[0](x[t]), spk, mem)
        outs.append(net[2](spk))
    torch.stack(outs).sum().backward()
    for a, p in zip(got, net.parameters()):
        torch.testing.assert_close(a, p.grad, rtol=1e-5, atol=1e-6)


def test_mask_reused_only_while_exact():
    spk = (torch.rand(6, 4, 3) > 0.5).float()
    mask = spk.bool()
    remember(spk, mask)
    frames = spk.reshape(24, 3)  # the layer's [T*B, ...] frames: a whole view
    assert bool_mask(frames).data_ptr() == mask.data_ptr()
    assert torch.equal(bool_mask(frames), frames.bool())
    part = spk[1:]  # not all of the trace: a mask of its own
    assert bool_mask(part).data_ptr() != mask.data_ptr() and torch.equal(bool_mask(part), part.bool())
    spk[0, 0, 0] = 1.0 - spk[0, 0, 0]  # changed in place: the noted mask is stale
    fresh = bool_mask(frames)
    assert fresh.data_ptr() != mask.data_ptr() and torch.equal(fresh, frames.bool())
    other = (torch.rand(5, 2) > 0.5).float()
    remember(other, other.bool())  # nothing keeps that mask: it is gone, a new one is made
    gc.collect()
    assert torch.equal(bool_mask(other), other.bool())


def test_chunks_keep_one_step_states_not_traces():
    """Each time chunk starts from the last step's states: what the ops keep of them owns one step of
    memory (a view of ``trace[-1]`` would keep the whole float trace of the chunk before alive)."""
    import spikeforge._seqplan as plan

    torch.manual_seed(1)
    B, N = 3, 16
    net = snn.SequentialSNN(nn.Linear(4, N), snn.RLeaky(beta=0.9, linear_features=N),
                            snn.RLeaky(beta=0.8, all_to_all=False), nn.Linear(N, 2), snn.Leaky(beta=0.9))
    x = torch.rand(40, B, 4) * 2
    step_states = []

    def pack(t: torch.Tensor) -> torch.Tensor:
        if t.numel() == B * N and t.is_floating_point():  # one step of a hidden layer, any shape
            step_states.append(t)
        return t

    old = plan.GRAD_CHUNK_BYTES
    plan.GRAD_CHUNK_BYTES = 8 * B * N * 4  # chunks of 8 steps
    try:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            net(x).sum().backward()
    finally:
        plan.GRAD_CHUNK_BYTES = old
    assert len(step_states) >= 8  # two recurrent layers, five or more chunks after the first
    assert all(t.untyped_storage().nbytes() == B * N * 4 for t in step_states)


class _Scale(torch.nn.Module):
    """Changes its input in place (as some user layers do) before passing it on."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x[:, 0] = 0.0
        return x.mul_(1.0)


def test_spikes_changed_in_place_after_the_op_get_a_fresh_mask():
    """A layer after a dense RLeaky that changes the spikes in place: allowed (as in the step loop), and
    the Linear after it keeps the mask of the changed spikes, not the op's (its version moved on), so the
    gradients equal those of the step-by-step network."""
    torch.manual_seed(3)
    net = snn.SequentialSNN(nn.Linear(5, 8), snn.RLeaky(beta=0.9, linear_features=8, threshold=0.3), _Scale(),
                            nn.Linear(8, 3))
    x = torch.rand(6, 4, 5) * 3
    net(x).pow(2).sum().backward()
    got = [p.grad.clone() for p in net.parameters()]
    net.zero_grad()
    spk, mem, outs = torch.zeros(4, 8), torch.zeros(4, 8), []
    for t in range(6):
        spk, mem = net[1](net[0](x[t]), spk, mem)
        outs.append(net[3](net[2](spk.clone())))
    torch.stack(outs).pow(2).sum().backward()
    for a, p in zip(got, net.parameters()):
        torch.testing.assert_close(a, p.grad, rtol=1e-5, atol=1e-6)
