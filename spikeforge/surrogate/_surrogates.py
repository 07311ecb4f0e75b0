"""Surrogate gradients as small frozen, picklable values.

Each class gives ``grad(U)``, the surrogate derivative ``dS/dU`` of the spike ``S = H(U)`` with
``U = mem - threshold``. Calling an instance applies `SpikeFn`: spikes forward (strict
``U > 0``, in the dtype of ``U``), ``grad_out * grad(U)`` backward. ``Cls.apply(x, *hyper)`` also
works, with the hyper-parameters optional (snntorch's ``Class.apply(x, alpha)`` idiom).

Formulas follow snntorch 1.0.0 (``shared/API.md`` section 3) except where that produced NaN or was
broken, as documented per class.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor

from ._spike_fn import SpikeFn


class Surrogate:
    """Base of every surrogate value. Subclasses are frozen dataclasses that define `grad`."""

    #: stable small integer used by fused kernels to pick the formula (None: no kernel)
    kernel_id: ClassVar[int | None] = None
    #: whether an overridden `vjp` reads its ``out`` argument (the spikes); a subclass whose `vjp` does
    #: not sets False, and `SpikeFn` then passes None instead of recomputing them
    uses_spikes: ClassVar[bool] = True

    def grad(self, x: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def vjp(self, x: Tensor, out: Tensor | None, grad_out: Tensor) -> Tensor:
        """Vector-Jacobian product ``grad_out * dS/dU`` (overridden by output-dependent surrogates).

        ``out`` is the spikes ``S = H(x)``, or None where `reads_spikes` is False."""
        return grad_out * self.grad(x)

    @classmethod
    def _defined_in(cls, name: str) -> type:
        return next(k for k in cls.__mro__ if name in k.__dict__)

    @classmethod
    def grad_overrides_vjp(cls) -> bool:
        """True when a subclass overrides `grad` below a class whose own `vjp` does not call it (as
        FastSigmoid's): the override wins, and the vector-Jacobian product is ``grad_out * grad(x)``."""
        owner, grad_owner = cls._defined_in("vjp"), cls._defined_in("grad")
        return owner is not Surrogate and grad_owner is not owner and issubclass(grad_owner, owner)

    @classmethod
    def reads_spikes(cls) -> bool:
        """True when `vjp` needs the spikes: an overridden `vjp` whose class does not declare
        ``uses_spikes = False`` beside it (the base `vjp` never reads them; a subclass that overrides
        `vjp` again reads them unless it declares otherwise too)."""
        owner = cls._defined_in("vjp")
        return (owner is not Surrogate and not cls.grad_overrides_vjp()
                and bool(owner.__dict__.get("uses_spikes", True)))

    @classmethod
    def kernel_formula(cls) -> int | None:
        """The `kernel_id` whose formula the fused kernels may apply for this class: None when there is
        none, or when a subclass overrides `grad`, `vjp` or `__call__` below the class that set the id
        (the kernel would compute the parent's spikes or gradient, not the override's)."""
        owner = cls._defined_in("kernel_id")
        for name in ("grad", "vjp", "__call__"):
            if not issubclass(owner, cls._defined_in(name)):
                return None
        return cls.kernel_id

    def kernel_params(self) -> tuple[float, ...]:
        """Hyper-parameters as floats, in the order the fused kernels expect."""
        return ()

    def __call__(self, x: Tensor) -> Tensor:
        return SpikeFn.apply(x, self)

    @classmethod
    def apply(cls, x: Tensor, *args: Any) -> Tensor:
        """``Cls.apply(x, *hyper)``: build the surrogate from positional hyper-parameters and apply it."""
        return cls(*args)(x)


@dataclass(frozen=True)
class ATan(Surrogate):
    """Arctangent surrogate (Fang et al., 2021): ``dS/dU = (alpha/2) / (1 + (pi/2 * alpha * U)^2)``.

    Primitive: ``S~ = arctan(pi/2 * alpha * U) / pi + 1/2``. Peak ``alpha/2`` at ``U = 0``.
    """

    alpha: float = 2.0
    kernel_id: ClassVar[int | None] = 0

    def grad(self, x: Tensor) -> Tensor:
        return (self.alpha / 2) / (1 + (math.pi / 2 * self.alpha * x).pow(2))

    def kernel_params(self) -> tuple[float, ...]:
        return (float(self.alpha),)


@dataclass(frozen=True)
class FastSigmoid(Surrogate):
    """Fast sigmoid (Zenke & Ganguli, 2018, SuperSpike): ``dS/dU = 1 / (slope*|U| + 1)^2``.

    Primitive: ``S~ = U / (1 + slope*|U|)``.
    """

    slope: float = 25.0
    kernel_id: ClassVar[int | None] = 1
    uses_spikes: ClassVar[bool] = False  # its vjp reads only U

    def grad(self, x: Tensor) -> Tensor:
        return 1.0 / (self.slope * x.abs() + 1.0).pow(2)

    def vjp(self, x: Tensor, out: Tensor | None, grad_out: Tensor) -> Tensor:
        # a division, as snntorch computes it (the same rounding, so the same trained numbers)
        return grad_out / (self.slope * x.abs() + 1.0).pow(2)

    def kernel_params(self) -> tuple[float, ...]:
        return (float(self.slope),)


@dataclass(frozen=True)
class Sigmoid(Surrogate):
    """Logistic surrogate: ``dS/dU = slope * sigma(slope*U) * (1 - sigma(slope*U))``.

    Computed as snntorch does, ``slope*e^{-slope U}/(e^{-slope U}+1)^2`` (bit for bit), except where
    the denominator overflows (``slope*U`` below about -44 in float32), where snntorch gives 0 and then
    NaN: there spikeforge computes ``slope * sigma(slope*U) * sigma(-slope*U)``, the same function in
    a form that cannot overflow (tiny positive values, full relative precision).
    """

    slope: float = 25.0
    kernel_id: ClassVar[int | None] = 2
    uses_spikes: ClassVar[bool] = False  # its vjp reads only U

    def grad(self, x: Tensor) -> Tensor:
        return self.vjp(x, x, torch.ones_like(x))

    def vjp(self, x: Tensor, out: Tensor | None, grad_out: Tensor) -> Tensor:
        e = torch.exp(-self.slope * x)
        denominator = (e + 1) ** 2
        grad = grad_out * self.slope * e / denominator
        overflow = torch.isinf(denominator)
        if bool(overflow.any()):
            z = self.slope * x
            grad = torch.where(overflow, grad_out * (self.slope * torch.sigmoid(z) * torch.sigmoid(-z)), grad)
        return grad

    def kernel_params(self) -> tuple[float, ...]:
        return (float(self.slope),)


@dataclass(frozen=True)
class Triangular(Surrogate):
    """snntorch's "triangular" surrogate: ``dS/dU = threshold`` where ``U < 0``, ``-threshold`` where
    ``U >= 0`` (a sign flip, kept for numerical compatibility with snntorch 1.0.0)."""

    threshold: float = 1.0
    kernel_id: ClassVar[int | None] = 3

    def grad(self, x: Tensor) -> Tensor:
        return torch.where(x < 0, self.threshold, -self.threshold).to(x.dtype)

    def kernel_params(self) -> tuple[float, ...]:
        return (float(self.threshold),)


@dataclass(frozen=True)
class StraightThroughEstimator(Surrogate):
    """Straight-through estimator (Bengio et al., 2013): ``dS/dU = 1``."""

    kernel_id: ClassVar[int | None] = 4

    def grad(self, x: Tensor) -> Tensor:
        return torch.ones_like(x)


@dataclass(frozen=True)
class SpikeRateEscape(Surrogate):
    """Spike-rate escape (Gerstner et al., 2014): ``dS/dU = slope * exp(-beta * |U - 1|)``."""


    beta: float = 1.0
    slope: float = 25.0
    kernel_id: ClassVar[int | None] = 5
    uses_spikes: ClassVar[bool] = False  # its vjp reads only U

    def grad(self, x: Tensor) -> Tensor:
        return self.slope * torch.exp(-self.beta * (x - 1).abs())

    def vjp(self, x: Tensor, out: Tensor | None, grad_out: Tensor) -> Tensor:
        return grad_out * self.slope * torch.exp(-self.beta * (x - 1).abs())  # snntorch's order

    def kernel_params(self) -> tuple[float, ...]:
        return (float(self.beta), float(self.slope))


@dataclass(frozen=True)
class Heaviside(Surrogate):
    """Heaviside "surrogate": the gradient is the spike itself, ``dS/dU = S`` (1 where it spiked)."""

    kernel_id: ClassVar[int | None] = 6

    def grad(self, x: Tensor) -> Tensor:
        return (x > 0).to(x.dtype)


@dataclass(frozen=True)
class SparseFastSigmoid(Surrogate):
    """Sparse fast sigmoid (Perez-Nieves & Goodman, 2021): ``1/(slope*|U|+1)^2`` where ``U > B``, else 0."""


    slope: float = 25.0
    B: float = 1.0
    kernel_id: ClassVar[int | None] = 7
    uses_spikes: ClassVar[bool] = False  # its vjp reads only U

    def grad(self, x: Tensor) -> Tensor:
        return torch.where(x > self.B, 1.0 / (self.slope * x.abs() + 1.0).pow(2), torch.zeros_like(x))

    def vjp(self, x: Tensor, out: Tensor | None, grad_out: Tensor) -> Tensor:
        return grad_out / (self.slope * x.abs() + 1.0).pow(2) * (x > self.B).to(x.dtype)  # snntorch's order

    def kernel_params(self) -> tuple[float, ...]:
        return (float(self.slope), float(self.B))


@dataclass(frozen=True)
class StochasticSpikeOperator(Surrogate):
    """Stochastic spike operator (Gardner et al., 2015): gradient 1 where it spiked, and
    ``(u - 0.5 + mean) * variance`` with ``u ~ U[0, 1)`` elsewhere (random; no fused kernel)."""

    mean: float = 0.0
    variance: float = 0.2

    def grad(self, x: Tensor) -> Tensor:
        spiked = x > 0
        noise = (torch.rand_like(x) - 0.5 + self.mean) * self.variance
        return torch.where(spiked, torch.ones_like(x), noise)


@dataclass(frozen=True)
class LeakySpikeOperator(Surrogate):
    """Leaky spike operator: gradient 1 where it spiked, ``slope`` elsewhere.

    snntorch 1.0.0's ``LSO`` crashes (wrong arguments; wrong number of gradients); this is the
    documented intent, implemented.
    """

    slope: float = 0.1
    kernel_id: ClassVar[int | None] = 8

    def grad(self, x: Tensor) -> Tensor:
        return torch.where(x > 0, torch.ones_like(x), torch.full_like(x, self.slope))

    def kernel_params(self) -> tuple[float, ...]:
        return (float(self.slope),)


@dataclass(frozen=True)
class CustomSurrogate(Surrogate):
    """A user gradient: ``custom_surrogate_function(input_, grad_input, spikes) -> grad``.

    Picklable when the function is (a module-level function, not a lambda).
    """

    custom_surrogate_function: Callable[[Tensor, Tensor, Tensor], Tensor] = field(
        default=lambda x, g, s: g  # straight-through when no function is given
    )

    def grad(self, x: Tensor) -> Tensor:
        return self.vjp(x, (x > 0).to(x.dtype), torch.ones_like(x))

    def vjp(self, x: Tensor, out: Tensor | None, grad_out: Tensor) -> Tensor:
        return self.custom_surrogate_function(x, grad_out, out)
