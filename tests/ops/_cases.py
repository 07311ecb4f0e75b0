"""Shared builders for the fused-kernel parity tests: random neurons, states and a loss on everything."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from spikeforge import surrogate
from spikeforge.core import (
    AlphaParams,
    AlphaState,
    Firing,
    LapicqueParams,
    LapicqueState,
    LeakyParams,
    LeakyState,
    OneToOne,
    RLeakyParams,
    RLeakyState,
    RSynapticParams,
    RSynapticState,
    SynapticParams,
    SynapticState,
    alpha_step,
    lapicque_step,
    leaky_step,
    rleaky_step,
    rsynaptic_step,
    synaptic_step,
)
from spikeforge.runner import run

SURROGATES = [
    surrogate.atan(2.0), surrogate.fast_sigmoid(25), surrogate.sigmoid(5), surrogate.triangular(1.0),
    surrogate.straight_through_estimator(), surrogate.spike_rate_escape(1.0, 3.0), surrogate.heaviside(),
    surrogate.SFS(25, 0.1), surrogate.LSO(0.1), surrogate.heaviside_no_grad,
]
MODELS = ("leaky", "synaptic", "lapicque", "alpha", "rleaky", "rsynaptic")
#: state count per model; the recurrent ones start with the previous spike
N_STATES = {"leaky": 1, "synaptic": 2, "lapicque": 1, "alpha": 3, "rleaky": 2, "rsynaptic": 3}


def _rleaky_params(beta: Tensor, threshold: Tensor, graded: Tensor, V: Tensor) -> RLeakyParams:  # noqa: N803
    return RLeakyParams(beta, threshold, graded, OneToOne(V))


def _rsynaptic_params(alpha: Tensor, beta: Tensor, threshold: Tensor, graded: Tensor,
                      V: Tensor) -> RSynapticParams:  # noqa: N803
    return RSynapticParams(alpha, beta, threshold, graded, OneToOne(V))


def _param(gen: torch.Generator, lo: float, hi: float, shape: tuple[int, ...], dtype: torch.dtype) -> Tensor:
    return (lo + (hi - lo) * torch.rand(shape, generator=gen, dtype=torch.float64)).to(dtype)


def build(model: str, seed: int, T: int, shape: tuple[int, ...], dtype: torch.dtype, reset: int,
          reset_delay: bool, sg: Any, per_neuron: bool) -> tuple[Any, Tensor, tuple[Tensor, ...], Any, Any]:
    """A step function, input, initial states (leaf tensors), ``(State, Params builder, param leaves)``
    and firing. The recurrent models get the element-wise recurrence ``V`` (may be negative)."""
    gen = torch.Generator().manual_seed(seed)
    pshape = shape[1:] if per_neuron else ()
    xs = (torch.randn((T, *shape), generator=gen, dtype=torch.float64) * 0.8 + 0.3).to(dtype)
    nstate = N_STATES[model]
    states = tuple(torch.randn(shape, generator=gen, dtype=torch.float64).to(dtype) for _ in range(nstate))
    theta = _param(gen, 0.4, 1.4, pshape, dtype)
    graded = _param(gen, 0.5, 2.0, pshape, dtype)
    if model == "leaky":
        step, st, prm = leaky_step, LeakyState, (_param(gen, 0.3, 1.1, pshape, dtype), theta, graded)
        params = LeakyParams
    elif model == "synaptic":
        step, st, params = synaptic_step, SynapticState, SynapticParams
        prm = (_param(gen, 0.2, 1.1, pshape, dtype), _param(gen, 0.3, 1.1, pshape, dtype), theta, graded)
    elif model == "lapicque":
        step, st, params = lapicque_step, LapicqueState, LapicqueParams
        prm = (_param(gen, 2.0, 6.0, pshape, dtype), _param(gen, 0.5, 2.0, pshape, dtype),
               _param(gen, 0.5, 1.5, pshape, dtype), theta, graded)
    elif model == "alpha":
        step, st, params = alpha_step, AlphaState, AlphaParams
        prm = (_param(gen, 0.6, 0.95, pshape, dtype), _param(gen, 0.1, 0.5, pshape, dtype), theta, graded)
    elif model == "rleaky":
        step, st, params = rleaky_step, RLeakyState, _rleaky_params
        prm = (_param(gen, 0.3, 1.1, pshape, dtype), theta, graded, _param(gen, -0.8, 0.8, pshape, dtype))
    else:
        step, st, params = rsynaptic_step, RSynapticState, _rsynaptic_params
        prm = (_param(gen, 0.2, 1.1, pshape, dtype), _param(gen, 0.3, 1.1, pshape, dtype), theta, graded,
               _param(gen, -0.8, 0.8, pshape, dtype))
    leaves = tuple(t.requires_grad_() for t in (xs, *states, *prm))
    firing = Firing(sg, reset=reset, reset_delay=reset_delay)
    return step, leaves[0], leaves[1:1 + nstate], (st, params, leaves[1 + nstate:]), firing


def run_and_grad(step: Any, xs: Tensor, states: tuple[Tensor, ...], spec: Any, firing: Firing,
                 fused: bool, seed: int) -> list[Tensor]:
    """Outputs (spikes, every state trace, final states) and the gradients of a random loss on them."""
    st, params, prm = spec
    res = run(step, xs, st(*states), params(*prm), firing, record=True, fused=fused)
    outs = [res.spk, *res.trace, *res.final]
    gen = torch.Generator().manual_seed(seed + 7)
    loss = sum((o * torch.randn(o.shape, generator=gen, dtype=torch.float64).to(o.dtype)).sum() for o in outs)
    leaves = (xs, *states, *prm)
    grads = torch.autograd.grad(loss, leaves, allow_unused=True)
    grads = [torch.zeros_like(leaf) if g is None else g for g, leaf in zip(grads, leaves)]
    return [o.detach() for o in outs] + list(grads)
