"""Surrogate gradients (``snntorch.surrogate`` compatible).

Factories return frozen, picklable surrogate values; call one on ``U = mem - threshold`` to get
spikes ``H(U)`` (strict ``U > 0``, same dtype as ``U``) whose backward uses the surrogate derivative.

Example:
    >>> import spikeforge as snn
    >>> from spikeforge import surrogate
    >>> lif = snn.Leaky(beta=0.9, spike_grad=surrogate.fast_sigmoid(slope=25))
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from ._spike_fn import SpikeFn, heaviside_no_grad
from ._surrogates import (
    ATan,
    CustomSurrogate,
    FastSigmoid,
    Heaviside,
    LeakySpikeOperator,
    Sigmoid,
    SparseFastSigmoid,
    SpikeRateEscape,
    StochasticSpikeOperator,
    StraightThroughEstimator,
    Surrogate,
    Triangular,
)

__all__ = [
    "ATan", "CustomSurrogate", "FastSigmoid", "Heaviside", "LeakySpikeOperator", "SparseFastSigmoid",
    "SpikeFn", "SpikeRateEscape", "StochasticSpikeOperator", "StraightThroughEstimator", "Surrogate",
    "Sigmoid", "Triangular", "atan", "fast_sigmoid", "sigmoid", "triangular",
    "straight_through_estimator", "spike_rate_escape", "heaviside", "SSO", "LSO", "SFS",
    "custom_surrogate", "heaviside_no_grad",
]


def atan(alpha: float = 2.0) -> ATan:
    """Arctangent surrogate, ``dS/dU = (alpha/2) / (1 + (pi/2 * alpha * U)^2)``."""
    return ATan(alpha)


def fast_sigmoid(slope: float = 25) -> FastSigmoid:
    """Fast sigmoid surrogate, ``dS/dU = 1 / (slope*|U| + 1)^2``."""
    return FastSigmoid(slope)


def sigmoid(slope: float = 25) -> Sigmoid:
    """Logistic surrogate, ``dS/dU = slope * s * (1 - s)`` with ``s = sigmoid(slope*U)`` (computed as
    ``slope * sigmoid(slope*U) * sigmoid(-slope*U)``)."""
    return Sigmoid(slope)


def triangular(threshold: float = 1) -> Triangular:
    """snntorch's triangular surrogate: ``+threshold`` for ``U < 0``, ``-threshold`` otherwise."""
    return Triangular(threshold)


def straight_through_estimator() -> StraightThroughEstimator:
    """Straight-through estimator, ``dS/dU = 1``."""
    return StraightThroughEstimator()


def spike_rate_escape(beta: float = 1, slope: float = 25) -> SpikeRateEscape:
    """Spike-rate escape, ``dS/dU = slope * exp(-beta*|U - 1|)``."""
    return SpikeRateEscape(beta, slope)


def heaviside() -> Heaviside:
    """Heaviside: gradient 1 where the neuron spiked, 0 elsewhere."""
    return Heaviside()


def SSO(mean: float = 0, variance: float = 0.2) -> StochasticSpikeOperator:  # noqa: N802 - snntorch name
    """Stochastic spike operator: 1 where spiked, ``(u - 0.5 + mean)*variance`` elsewhere, u ~ U[0,1)."""
    return StochasticSpikeOperator(mean, variance)


def LSO(slope: float = 0.1) -> LeakySpikeOperator:  # noqa: N802 - snntorch name
    """Leaky spike operator: 1 where spiked, ``slope`` elsewhere (broken in snntorch 1.0.0, works here)."""
    return LeakySpikeOperator(slope)


def SFS(slope: float = 25, B: float = 1) -> SparseFastSigmoid:  # noqa: N802,N803 - snntorch names
    """Sparse fast sigmoid: fast-sigmoid gradient only where ``U > B``."""
    return SparseFastSigmoid(slope, B)


def custom_surrogate(
    custom_surrogate_function: Callable[[Tensor, Tensor, Tensor], Tensor],
) -> CustomSurrogate:
    """A surrogate whose backward is ``custom_surrogate_function(input_, grad_input, spikes)``."""
    return CustomSurrogate(custom_surrogate_function)
