"""``SequentialSNN`` rejects inputs that are not time-major ``[T, B, ...]`` with T >= 1 with a clear
error (shape received, what the first layer needs), instead of an IndexError or a torch matmul error."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import spikeforge as snn


def _dense() -> snn.SequentialSNN:
    return snn.SequentialSNN(nn.Linear(3, 2), snn.Leaky(beta=0.9))


def test_zero_time_steps() -> None:
    with pytest.raises(ValueError, match=r"T >= 1 .*got shape \(0, 2, 3\)"):
        _dense()(torch.ones(0, 2, 3))


def test_zero_time_steps_with_a_neuron_first() -> None:
    with pytest.raises(ValueError, match=r"T >= 1"):
        snn.SequentialSNN(snn.Leaky(beta=0.9))(torch.ones(0, 2))


def test_missing_time_axis_names_shape_and_first_layer() -> None:
    with pytest.raises(ValueError, match=r"got shape \(2, 3\).*\[T, B, \.\.\., 3\].*Linear.*unsqueeze\(0\)"):
        _dense()(torch.ones(2, 3))


def test_wrong_feature_count_has_no_unsqueeze_hint() -> None:
    with pytest.raises(ValueError, match=r"got shape \(4, 2, 5\).*\[T, B, \.\.\., 3\]") as info:
        _dense()(torch.ones(4, 2, 5))
    assert "unsqueeze" not in str(info.value)


def test_conv_first_layer_needs_channels_and_spatial_dims() -> None:
    net = snn.SequentialSNN(nn.Conv2d(1, 2, 3), snn.Leaky(beta=0.9))
    with pytest.raises(ValueError, match=r"got shape \(2, 1, 5, 5\).*\[T, B, 1, H, W\].*unsqueeze\(0\)"):
        net(torch.ones(2, 1, 5, 5))
    assert net(torch.ones(2, 1, 1, 5, 5)).shape == (2, 1, 2, 3, 3)


def test_non_tensor_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"\[T, B, \.\.\.\], got list"):
        _dense()([[1.0, 2.0, 3.0]])


def test_valid_inputs_still_run() -> None:
    """Linear accepts extra per-sample dims; a lazy first layer is not checked up front."""
    assert _dense()(torch.ones(4, 2, 7, 3)).shape == (4, 2, 7, 2)
    lazy = snn.SequentialSNN(nn.LazyLinear(2), snn.Leaky(beta=0.9))
    assert lazy(torch.ones(4, 2, 3)).shape == (4, 2, 2)
