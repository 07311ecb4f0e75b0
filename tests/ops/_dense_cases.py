"""Random RLeaky/RSynaptic cases with a dense recurrence (``nn.Linear`` or ``nn.Conv2d``) for the fused
dense-recurrent op's tests, and the comparison of its gradients with the step loop's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from spikeforge.core import (
    Firing,
    RLeakyParams,
    RLeakyState,
    RSynapticParams,
    RSynapticState,
    rleaky_step,
    rsynaptic_step,
)
from spikeforge.runner import run


class MapSpec(NamedTuple):
    """The recurrent layer: ``"linear"`` or ``"conv"`` (kernel ``k``, ``padding = dilation*(k//2)``)."""

    kind: str
    bias: bool
    k: int = 3
    dilation: int = 1
    groups: int = 1


class Case(NamedTuple):
    step: Any
    xs: Tensor
    states: tuple[Tensor, ...]
    prm: tuple[Tensor | None, ...]  # (alpha,) beta, threshold, graded, weight, bias
    build: Callable[..., Any]  # (*prm) -> Params
    state_type: Any
    firing: Firing


def recurrent_module(spec: MapSpec, weight: Tensor, bias: Tensor | None) -> nn.Module:
    """A plain ``nn.Linear``/``nn.Conv2d`` whose weight and bias ARE the given tensors (test leaves, any
    dtype), so that gradients reach them through the module's own forward."""
    if spec.kind == "linear":
        mod: nn.Module = nn.Linear(weight.shape[1], weight.shape[0], bias=spec.bias, device="meta")
    else:
        c = weight.shape[0]
        mod = nn.Conv2d(c, c, spec.k, padding=spec.dilation * (spec.k // 2), dilation=spec.dilation,
                        groups=spec.groups, bias=spec.bias, device="meta")
    mod._parameters["weight"] = weight  # plain tensors in place of Parameters (test-only)
    mod._parameters["bias"] = bias
    return mod


def _uniform(gen: torch.Generator, lo: float, hi: float, shape: tuple[int, ...],
             dtype: torch.dtype) -> Tensor:
    return (lo + (hi - lo) * torch.rand(shape, generator=gen, dtype=torch.float64)).to(dtype)


def build(model: str, spec: MapSpec, seed: int, T: int, shape: tuple[int, ...], dtype: torch.dtype,
          reset: int, reset_delay: bool, sg: Any, per_neuron: bool) -> Case:
    """``shape`` is one step's: ``[B, F]``, ``[B, ..., F]`` or ``[F]`` (linear), ``[B, C, H, W]`` or
    ``[C, H, W]`` (conv). Parameters are per neuron (``F`` or ``C, H, W``) or scalars; the initial spike
    state is random (any value is a valid state)."""
    gen = torch.Generator().manual_seed(seed)
    neuron_shape = shape[-1:] if spec.kind == "linear" else shape[-3:]
    pshape = neuron_shape if per_neuron else ()
    xs = (torch.randn((T, *shape), generator=gen, dtype=torch.float64) * 0.8 + 0.3).to(dtype)
    n_state = 3 if model == "rsynaptic" else 2
    states = [torch.randn(shape, generator=gen, dtype=torch.float64).to(dtype) for _ in range(n_state)]
    states[0] = (torch.rand(shape, generator=gen) < 0.4).to(dtype) * _uniform(gen, 0.5, 1.5, (), dtype)
    prm: list[Tensor | None] = []
    if model == "rsynaptic":
        prm.append(_uniform(gen, 0.2, 1.1, pshape, dtype))
    prm += [_uniform(gen, 0.3, 1.1, pshape, dtype), _uniform(gen, 0.4, 1.4, pshape, dtype),
            _uniform(gen, 0.5, 2.0, pshape, dtype)]
    n = shape[-1] if spec.kind == "linear" else shape[-3]
    wshape = (n, n) if spec.kind == "linear" else (n, n // spec.groups, spec.k, spec.k)
    prm.append(_uniform(gen, -0.9, 0.9, wshape, dtype))
    prm.append(_uniform(gen, -0.3, 0.3, (n,), dtype) if spec.bias else None)
    for t in (xs, *states, *prm):
        if t is not None:
            t.requires_grad_()
    if model == "rsynaptic":
        step, state_type = rsynaptic_step, RSynapticState

        def params(alpha, beta, threshold, graded, weight, bias):  # noqa: ANN001, ANN202
            return RSynapticParams(alpha, beta, threshold, graded, recurrent_module(spec, weight, bias))
    else:
        step, state_type = rleaky_step, RLeakyState

        def params(beta, threshold, graded, weight, bias):  # noqa: ANN001, ANN202
            return RLeakyParams(beta, threshold, graded, recurrent_module(spec, weight, bias))

    firing = Firing(sg, reset=reset, reset_delay=reset_delay)
    return Case(step, xs, tuple(states), tuple(prm), params, state_type, firing)


def leaves(case: Case) -> list[Tensor]:
    return [t for t in (case.xs, *case.states, *case.prm) if t is not None]


def outputs_and_grads(case: Case, fused: bool, seed: int, wrt: list[Tensor] | None = None,
                      spikes_only: bool = False, cast: torch.dtype | None = None) -> list[Tensor]:
    """Spikes, every state trace and the final states, then the gradients (w.r.t. ``wrt``, default every
    leaf) of a random weighted sum of them (of the spikes alone with ``spikes_only``). ``cast`` reruns
    the case on its own numbers converted to another dtype (fresh leaves)."""
    if cast is not None:
        conv = {id(t): t.detach().to(cast).requires_grad_(t.requires_grad) for t in leaves(case)}
        case = case._replace(
            xs=conv[id(case.xs)], states=tuple(conv[id(t)] for t in case.states),
            prm=tuple(None if t is None else conv[id(t)] for t in case.prm),
        )
        wrt = None if wrt is None else [conv[id(t)] for t in wrt]
    res = run(case.step, case.xs, case.state_type(*case.states), case.build(*case.prm), case.firing,
              record=True, fused=fused)
    outs = [res.spk] if spikes_only else [res.spk, *res.trace, *res.final]
    gen = torch.Generator().manual_seed(seed + 7)
    loss = sum((o * torch.randn(o.shape, generator=gen, dtype=torch.float64).to(o.dtype)).sum() for o in outs)
    wrt = leaves(case) if wrt is None else wrt
    # without a surrogate, a loss on the spikes alone has no gradient at all
    grads = torch.autograd.grad(loss, wrt, allow_unused=True) if loss.requires_grad else [None] * len(wrt)
    grads = [torch.zeros_like(w) if g is None else g for g, w in zip(grads, wrt)]
    return [o.detach() for o in outs] + list(grads)


def assert_grads_close(got: list[Tensor], want: list[Tensor], tol: float, terms: int,
                       truth: Callable[[], list[Tensor] | None] | None = None) -> None:
    """Each output and gradient within ``tol * max(1, |want|) * sqrt(terms / numel)`` of the
    reference (``terms``: about how many products feed all of it; a parameter's gradient sums many).
    Where a float32 sum cancels, ``truth()`` gives the float64 reference on the same numbers (None if it
    spikes differently): the fused gradient then passes when it is no further from it than twice the
    float32 reference is, plus ``tol`` times the truth's scale."""
    found: list[Tensor] | None = None
    for i, (a, b) in enumerate(zip(got, want)):
        assert a.shape == b.shape and a.dtype == b.dtype, i
        spread = max(1.0, terms / max(1, b.numel())) ** 0.5
        scale = (max(1.0, b.abs().max().item()) if b.numel() else 1.0) * spread
        err = (a - b).abs().max().item() if b.numel() else 0.0
        if err > tol * scale and truth is not None:
            found = truth() if found is None else found
            if found is not None:
                exact = found[i]
                err = (a.double() - exact).abs().max().item() - 2 * (b.double() - exact).abs().max().item()
                scale = max(scale, max(1.0, exact.abs().max().item()) * spread)
        assert err <= tol * scale, f"output/gradient #{i}: max error {err} (scale {scale})"
