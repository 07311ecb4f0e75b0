"""STDP: API.md 5.6 worked example by hand, learner reset, and parity with snntorch on random spikes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import spikeforge as snn
from spikeforge.functional import stdp_learner as sl


def fc_half() -> nn.Linear:
    fc = nn.Linear(3, 2, bias=False)
    nn.init.constant_(fc.weight, 0.5)
    return fc


def test_worked_example() -> None:
    fc = fc_half()
    tr_pre, tr_post, dw = sl.stdp_linear_single_step(
        fc, torch.tensor([[1.0, 0, 1]]), torch.tensor([[0.0, 1]]), None, None, 2, 2
    )
    assert dw.abs().sum() == 0  # simultaneous pre and post cancel
    tr_pre, tr_post, dw = sl.stdp_linear_single_step(
        fc, torch.tensor([[0.0, 1, 0]]), torch.tensor([[1.0, 0]]), tr_pre, tr_post, 2, 2
    )
    assert tr_pre.tolist() == [[0.5, 1, 0.5]] and tr_post.tolist() == [[1, 0.5]]
    assert dw.tolist() == [[0.25, 0, 0.25], [0, -0.25, 0]]


def test_learner_writes_minus_delta_w_to_grad_and_resets() -> None:
    fc = fc_half()
    lif = snn.Leaky(beta=0.5, threshold=0.5, init_hidden=True)
    learner = sl.STDPLearner(fc, lif, 2.0, 2.0)
    for x in (torch.tensor([[1.0, 0, 1]]), torch.tensor([[0.0, 1, 0]])):
        lif(fc(x))
    dw = learner.step(on_grad=False)
    assert dw.shape == (2, 3) and learner.in_spike_monitor.records == []
    learner.reset()
    assert learner.trace_pre is None and learner.out_spike_monitor.records == []
    lif.reset_hidden()
    for x in (torch.tensor([[1.0, 0, 1]]), torch.tensor([[0.0, 1, 0]])):
        lif(fc(x))
    learner.step(on_grad=True)
    torch.testing.assert_close(fc.weight.grad, -dw)


def test_conv_needs_plain_convolution() -> None:
    conv = nn.Conv2d(1, 1, 3, dilation=2)
    with pytest.raises(NotImplementedError, match="dilation"):
        sl.stdp_conv2d_single_step(conv, torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 4, 4), None, None, 2, 2)


@pytest.mark.parametrize("seed", range(2))
def test_matches_snntorch(seed: int) -> None:
    ss = pytest.importorskip("snntorch.functional.stdp_learner")
    g = torch.Generator().manual_seed(seed)

    def spikes(*shape: int) -> torch.Tensor:
        return (torch.rand(*shape, generator=g) > 0.5).float()

    fc = nn.Linear(4, 3)
    s_in, s_out, tp, tq = (
        spikes(2, 4),
        spikes(2, 3),
        torch.rand(2, 4, generator=g),
        torch.rand(2, 3, generator=g),
    )
    for name in ("stdp_linear_single_step", "mstdp_linear_single_step"):
        for a, b in zip(
            getattr(sl, name)(fc, s_in, s_out, tp, tq, 2.0, 3.0, torch.sin),
            getattr(ss, name)(fc, s_in, s_out, tp, tq, 2.0, 3.0, torch.sin),
        ):
            torch.testing.assert_close(a, b)
    for a, b in zip(
        sl.mstdpet_linear_single_step(fc, s_in[0], s_out[0], tp[0], tq[0], 2.0, 3.0, 4.0),
        ss.mstdpet_linear_single_step(fc, s_in[0], s_out[0], tp[0], tq[0], 2.0, 3.0, 4.0),
    ):
        torch.testing.assert_close(a, b)
    conv2 = nn.Conv2d(2, 3, (3, 2), stride=(2, 1), padding=1)
    x2 = spikes(2, 2, 7, 6)
    y2 = spikes(*conv2(x2).shape)
    for a, b in zip(
        sl.stdp_conv2d_single_step(conv2, x2, y2, None, None, 2.0, 3.0),
        ss.stdp_conv2d_single_step(conv2, x2, y2, None, None, 2.0, 3.0),
    ):
        torch.testing.assert_close(a, b)
    conv1 = nn.Conv1d(2, 3, 3, stride=2, padding=1, padding_mode="circular")
    x1 = spikes(2, 2, 9)
    y1 = spikes(*conv1(x1).shape)
    for a, b in zip(
        sl.stdp_conv1d_single_step(conv1, x1, y1, None, None, 2.0, 3.0),
        ss.stdp_conv1d_single_step(conv1, x1, y1, None, None, 2.0, 3.0),
    ):
        torch.testing.assert_close(a, b)
