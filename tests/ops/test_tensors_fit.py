"""`spikeforge.ops._surrogate_ids.tensors_fit`: which parameter shapes a fused kernel takes (those that
broadcast to one step's shape without changing it), checked against ``torch.broadcast_shapes``."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from spikeforge.ops._surrogate_ids import tensors_fit


def _reference(pshape: tuple[int, ...], shape: tuple[int, ...]) -> bool:
    if len(pshape) > len(shape):
        return False
    try:
        return torch.broadcast_shapes(pshape, shape) == torch.Size(shape)
    except RuntimeError:
        return False


@settings(max_examples=200, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
       pshape=st.lists(st.integers(1, 5), min_size=0, max_size=4))
def test_parameter_shapes_fit_as_broadcasting_says(shape, pshape):
    xs = torch.zeros(2, *shape)
    state = torch.zeros(*shape)
    assert tensors_fit(xs, (state,), (torch.zeros(pshape),)) == _reference(tuple(pshape), tuple(shape))


@pytest.mark.parametrize("pshape,fits", [((), True), ((1,), True), ((4,), True), ((3, 1), True),
                                         ((3, 4), True), ((2,), False), ((3, 2), False), ((1, 3, 4), False)])
def test_worked_shapes(pshape, fits):
    """Against a step of shape ``[3, 4]``: a scalar, a per-feature or per-row parameter fits; a shape that
    would widen the step (or does not broadcast) does not."""
    assert tensors_fit(torch.zeros(5, 3, 4), (torch.zeros(3, 4),), (torch.zeros(pshape),)) is fits
