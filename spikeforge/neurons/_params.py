"""Checked conversion of the neurons' constructor arguments (beta, alpha, threshold, V, R, C, ...)."""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .. import surrogate

#: parameters for which +inf has a meaning ("this neuron never fires")
INF_ALLOWED = frozenset({"threshold", "delta_threshold"})
#: decays clamped to [0, 1] where they are used: an infinity is clamped too (as in snntorch), with a warning
CLAMPED = frozenset({"beta", "alpha"})
#: neurons whose ``beta`` is not clamped but transformed (``tau = 1/(1 - beta)``, ``C = dt/(R ln(1/beta))``)
UNCLAMPED_OWNERS = frozenset({"StateLeaky", "LinearLeaky", "Lapicque"})


def as_tensor(value: Any) -> Tensor:
    """``torch.as_tensor`` with integers and bools promoted to the default float dtype (no checks)."""
    t = value.detach().clone() if isinstance(value, Tensor) else torch.as_tensor(value)
    if not t.is_floating_point():
        t = t.to(torch.get_default_dtype())
    return t


def _is_bool(value: Any) -> bool:
    """True for a Python/numpy bool or a bool array/tensor."""
    if isinstance(value, Tensor):
        return value.dtype == torch.bool
    if isinstance(value, np.ndarray):
        return value.dtype.kind == "b"
    return isinstance(value, (bool, np.bool_))


def _is_numeric(value: Any) -> bool:
    """True for a real number or bool, a numeric array/tensor or a (nested) list/tuple of those."""
    if isinstance(value, Tensor):
        return not value.is_complex()
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "biuf"
    if isinstance(value, (numbers.Real, np.bool_)):
        return True
    if isinstance(value, (list, tuple)):
        return len(value) > 0 and all(_is_numeric(v) for v in value)
    return False


def _looks_numeric(value: Any) -> bool:
    """True for a string such as ``"0.9"`` that holds a number."""
    if not isinstance(value, str):
        return False
    try:
        float(value)
    except ValueError:
        return False
    return True


def param_tensor(owner: str, name: str, value: Any) -> Tensor:
    """Convert the parameter ``name`` of ``owner`` to a floating tensor (a detached copy of a tensor).

    Allowed: a real number, a non-empty (nested) list/tuple of real numbers, a numeric numpy array, or
    a real tensor; integers become the default float dtype. Values outside a parameter's natural range
    (``beta`` > 1, a negative ``threshold``) are left to the neuron (clamped at use, or a model choice).
    As snntorch accepts them, a bool (read as 1.0/0.0; ``beta=True`` is probably meant as
    ``learn_beta=True``) and an infinite decay in ``CLAMPED`` (clamped at use; not for the
    ``UNCLAMPED_OWNERS``) are accepted with a warning.

    Raises:
        TypeError: naming ``owner`` and ``name``, for anything else (a string, None, a complex number).
        ValueError: naming ``owner`` and ``name``, for NaN, and for an infinite value unless ``name`` is
            a clamped decay, or in ``INF_ALLOWED`` and the value is ``+inf``.
    """
    if not _is_numeric(value):
        hint = f" (pass {value.strip()}, not the string {value!r})" if _looks_numeric(value) else ""
        raise TypeError(
            f"{owner}: {name} must be a number, a sequence of numbers or a real tensor, got "
            f"{type(value).__name__} {value!r}{hint}"
        )
    if _is_bool(value) or (isinstance(value, (list, tuple)) and any(map(_is_bool, value))):
        _warn(f"{owner}: {name}={value!r} is a bool and is read as a number (True = 1.0, False = 0.0)")
    t = as_tensor(value)
    plain = t.detach()
    if bool(torch.isnan(plain).any()):
        raise ValueError(f"{owner}: {name} must not be NaN, got {value!r}")
    if name in CLAMPED and owner not in UNCLAMPED_OWNERS and bool(torch.isinf(plain).any()):
        _warn(f"{owner}: {name}={value!r} is infinite; it is clamped to [0, 1] where it is used")
        return t
    bad_inf = torch.isinf(plain) if name not in INF_ALLOWED else torch.isneginf(plain)
    if bool(bad_inf.any()):
        allowed = "finite or +inf (never fires)" if name in INF_ALLOWED else "finite"
        raise ValueError(f"{owner}: {name} must be {allowed}, got {value!r}")
    return t


def _warn(message: str) -> None:
    warnings.warn(message, UserWarning, stacklevel=5)


def check_spike_grad(owner: str, spike_grad: Any) -> None:
    """Raise ``TypeError`` naming ``owner`` unless ``spike_grad`` is None or callable."""
    if spike_grad is not None and not callable(spike_grad):
        known = isinstance(spike_grad, str) and callable(getattr(surrogate, spike_grad, None))
        hint = f" (use surrogate.{spike_grad}(), not the string {spike_grad!r})" if known else ""
        raise TypeError(
            f"{owner}: spike_grad must be a callable surrogate such as surrogate.atan() or None, got "
            f"{type(spike_grad).__name__} {spike_grad!r}{hint}"
        )

