"""Probes record per-layer outputs, inputs, attributes (pre and post forward) and gradients."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import spikeforge as snn
import spikeforge.functional as SF


def net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(2, 3),
        snn.Leaky(beta=0.5, init_hidden=True),
        nn.Linear(3, 2),
        snn.Leaky(beta=0.5, init_hidden=True, output=True),
    )


def test_output_and_input_monitors_accept_class_or_instance() -> None:
    n = net()
    out = SF.OutputMonitor(n, snn.Leaky)
    inp = SF.InputMonitor(n, instance=n[0])  # an instance: its class (nn.Linear) is monitored
    x = torch.ones(1, 2)
    for _ in range(3):
        n(x)
    assert out.monitored_layers == ["1", "3"] and len(out.records) == 6 and len(out["1"]) == 3
    assert isinstance(out["3"][0], tuple) and isinstance(out["1"][0], torch.Tensor)
    assert inp.monitored_layers == ["0", "2"] and torch.equal(inp["0"][0], x)
    out.disable()
    n(x)
    assert len(out.records) == 6 and not out.is_enable()
    out.clear_recorded_data()
    assert out.records == [] and out["1"] == []
    out.remove_hooks()
    out.enable()
    n(x)
    assert out.records == []


def test_attribute_monitor_pre_and_post_forward() -> None:
    lif = snn.Leaky(beta=0.5, init_hidden=True)
    pre = SF.AttributeMonitor("mem", True, lif, function_on_attribute=lambda m: m.clone())
    post = SF.AttributeMonitor("mem", False, lif, function_on_attribute=lambda m: m.clone())
    for _ in range(2):
        lif(torch.tensor([0.4]))
    # mem: 0.4 after step 1, 0.5 * 0.4 + 0.4 = 0.6 after step 2; pre sees the value before each step
    torch.testing.assert_close(torch.cat(post.records), torch.tensor([0.4, 0.6]))
    torch.testing.assert_close(torch.cat(pre.records[1:]), torch.tensor([0.4]))


def test_grad_monitors() -> None:
    lin = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[2.0, -1.0]]))
    gi, go = SF.GradInputMonitor(lin), SF.GradOutputMonitor(lin)
    x = torch.tensor([[1.0, 1.0]], requires_grad=True)
    (3 * lin(x)).sum().backward()
    torch.testing.assert_close(go[0], torch.tensor([[3.0]]))
    torch.testing.assert_close(gi[0], torch.tensor([[6.0, -3.0]]))


def test_bad_instance_and_name() -> None:
    with pytest.raises(TypeError, match="instance"):
        SF.OutputMonitor(net(), instance=int)
    with pytest.raises(KeyError, match="not monitored"):
        SF.OutputMonitor(net(), snn.Leaky)["9"]
