"""Run as a script with ``TRITON_INTERPRET=1``: the triton kernels against the step loop (exit 1 on error)."""

from __future__ import annotations

import itertools
import sys

import torch

import spikeforge.ops
from spikeforge.runner import find_kernel
from tests.ops._cases import MODELS, SURROGATES, build, run_and_grad
from tests.ops.test_parity import TOL, assert_parity


def main() -> int:
    assert spikeforge.ops.backend_for(torch.zeros(1, 1)) == "triton", "TRITON_INTERPRET=1 is not in effect"
    checked = 0
    combos = itertools.product(MODELS, range(3), (True, False), (torch.float32, torch.float64))
    for i, (model, reset, delay, dtype) in enumerate(combos):
        sg = SURROGATES[i % len(SURROGATES)]
        step, xs, states, spec, firing = build(model, i, 6, (2, 5), dtype, reset, delay, sg, i % 2 == 0)
        st, params, prm = spec
        assert find_kernel(step, xs, st(*states), params(*prm), firing) is not None, model
        want = run_and_grad(step, xs, states, spec, firing, fused=False, seed=i)
        got = run_and_grad(step, xs, states, spec, firing, fused=True, seed=i)
        for a, b in zip(got[: 1 + len(states)], want[: 1 + len(states)]):
            assert torch.equal(a, b), (model, reset, delay, dtype)
        assert_parity(got, want, TOL[dtype], xs.numel())
        checked += 1
    print(f"triton parity OK on {checked} cases")
    return 0


if __name__ == "__main__":
    sys.exit(main())
