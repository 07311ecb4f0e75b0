"""``torch.autograd.gradcheck`` (float64 finite differences) of the fused kernels.

With ``surrogate_disable`` (``heaviside_no_grad``) the spike has its true derivative (zero away from
the threshold), so the fused backward must equal the numerical Jacobian for inputs, initial states,
beta, alpha, threshold (through the reset terms), the graded factor and the recurrent weight ``V``.
"""

from __future__ import annotations

import pytest
import torch

import spikeforge.ops  # noqa: F401 - registers the kernels
from spikeforge import surrogate
from spikeforge.core import Firing
from spikeforge.runner import find_kernel, run

from ._cases import MODELS, build

pytest.importorskip("numba")


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("reset,delay", [(0, True), (0, False), (1, True), (1, False), (2, True)])
def test_gradcheck_float64(model, reset, delay):
    step, xs, states, (st, params, prm), _ = build(
        model, 11, 5, (2, 3), torch.float64, reset, delay, surrogate.heaviside_no_grad, True
    )
    firing = Firing(surrogate.heaviside_no_grad, reset=reset, reset_delay=delay)
    assert find_kernel(step, xs, st(*states), params(*prm), firing) is not None
    n_state = len(states)

    def fn(*leaves):
        state, prm_ = st(*leaves[1:1 + n_state]), params(*leaves[1 + n_state:])
        res = run(step, leaves[0], state, prm_, firing, record=True)
        return (res.spk, *res.trace)

    assert torch.autograd.gradcheck(fn, (xs, *states, *prm), eps=1e-7, atol=1e-6)
