"""Shared inputs and helpers of the extra-neuron tests (test_extra_neurons*.py)."""

from __future__ import annotations

import warnings

import torch

X = [0.6, 0.6, 0.6, 0.0, 1.5, 0.0, 0.0, 2.5, 0.0, 0.0]
LEAKY_NONE_MEM = [0.6, 0.9, 1.05, 0.525, 1.7625, 0.88125, 0.440625, 2.72031, 1.36016, 0.680078]
ATOL = 1e-6
#: API.md prints values to 6 significant figures, so values above 1 carry up to 5e-6 rounding
REF_ATOL = 5e-6


def _xs() -> torch.Tensor:
    return torch.tensor(X).reshape(10, 1, 1)


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _close(a: torch.Tensor, b, atol: float = ATOL) -> None:
    torch.testing.assert_close(a.double(), torch.as_tensor(b).double().reshape(a.shape), atol=atol, rtol=0)


def _twin(ours_cls, ref_cls, *args, **kwargs):
    """A snntorch module and a spikeforge module with the same parameters (loaded through state_dict)."""
    ref = _quiet(ref_cls, *args, **kwargs)
    ours = _quiet(ours_cls, *args, **kwargs)
    ours.load_state_dict(ref.state_dict())
    return ours, ref


def _step(module, xs, states=(None, None)):
    spk, traces = [], []
    for x in xs.unbind(0):
        s, *states = module(x, *states)
        spk.append(s)
        traces.append(states)
    return torch.stack(spk), [torch.stack(t) for t in zip(*traces)]
