"""Spike encoders: rate, latency and delta codes and spike targets (re-exported as ``spikegen``)."""

from ._delta import delta
from ._latency import (
    _latency_errors,
    latency,
    latency_code,
    latency_code_linear,
    latency_code_log,
    latency_interpolate,
)
from ._rate import rate, rate_conv, rate_interpolate, target_rate_code
from ._targets import (
    from_one_hot,
    targets_convert,
    targets_latency,
    targets_rate,
    to_one_hot,
    to_one_hot_inverse,
)

__all__ = [
    "rate",
    "rate_conv",
    "latency",
    "latency_code",
    "latency_code_linear",
    "latency_code_log",
    "latency_interpolate",
    "delta",
    "targets_convert",
    "targets_rate",
    "targets_latency",
    "target_rate_code",
    "rate_interpolate",
    "to_one_hot",
    "to_one_hot_inverse",
    "from_one_hot",
    "_latency_errors",
]
