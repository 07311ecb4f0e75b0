"""``DeltaLeaky``: a leaky integrator that spikes on large changes of its membrane."""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import Tensor, nn

from ..core import DeltaParams, DeltaState, delta_step
from ._params import as_tensor, param_tensor
from .leaky import Leaky


class DeltaLeaky(Leaky):
    r"""Delta neuron (snntorch ``DeltaLeaky``; delta/sigma-delta coding, O'Connor & Welling 2016): a
    leaky integrator that never resets and fires when its membrane changed by more than
    ``delta_threshold`` in one step.

    ``U[t] = beta*U[t-1] + X[t]`` (``beta`` clamped to [0, 1]); ``S[t] = H(|U[t] - U[t-1]| - delta)*g``
    (unsigned: a rise and a fall both give a positive spike; ``H`` strict).

    Args:
        delta_threshold: ``delta``, the change of membrane that triggers a spike (input units).
        *args, **kwargs: `Leaky`'s arguments; ``beta`` is required (by keyword, or as the second
            positional argument). ``graded_spikes_factor`` scales spikes, ``state_quant`` quantises the
            membrane and ``inhibition`` keeps only the largest change per row; ``threshold`` is not used
            (warns when set), ``reset_mechanism``/``reset_delay`` have no effect (no reset).

    Shapes: ``input_`` any ``[B, ...]``; ``mem``, ``mem_prev``, ``spk`` the same shape and dtype.

    ``forward(input_, mem=None)`` takes ``mem`` as the pair ``(mem, mem_prev)`` returned by the previous
    call (either may be None), a single membrane tensor, or None (continue from the stored state, or from
    zero). It returns ``(spk, (mem, mem_prev))`` in every mode, ``init_hidden=True`` included, as
    snntorch does (so the neuron does not fit ``nn.Sequential`` directly; a ``mem`` passed with
    ``init_hidden=True`` is ignored and warns once). ``forward_sequence`` returns the flat
    ``(spk[T, ...], mem, mem_prev)``.

    Raises:
        TypeError: ``beta`` missing; ``mem`` of an unsupported type.
    """

    _state_names = ("mem", "mem_prev")
    _state_type = DeltaState
    _step_fn = staticmethod(delta_step)

    def __init__(self, delta_threshold: float | Tensor = 1.0, *args: Any, **kwargs: Any) -> None:
        if not args and "beta" not in kwargs:
            raise TypeError(
                "DeltaLeaky needs beta, e.g. DeltaLeaky(beta=0.9, delta_threshold=0.1) (the first positional "
                "argument is delta_threshold)"
            )
        param_tensor("DeltaLeaky", "delta_threshold", delta_threshold)
        super().__init__(*args, **kwargs)
        self.delta_threshold = delta_threshold
        if isinstance(self.threshold, nn.Parameter) or bool(torch.any(self.threshold != 1.0)):
            warnings.warn(
                "DeltaLeaky fires when |U[t] - U[t-1]| > delta_threshold; `threshold` is not used",
                UserWarning,
                stacklevel=2,
            )

    def params(self) -> DeltaParams:  # type: ignore[override]
        return DeltaParams(self.beta, as_tensor(self.delta_threshold), self.graded_spikes_factor)

    def forward(self, input_: Tensor, mem: Any = None) -> Any:  # type: ignore[override]
        if self.init_hidden and mem is not None:
            self._warn_once(
                "state-ignored",
                "`mem` is ignored while init_hidden=True (the stored state is used), as in snntorch",
            )
            mem = None
        if mem is None:
            given: tuple[Tensor | None, Tensor | None] = (None, None)
        elif isinstance(mem, Tensor):
            given = (mem, None)
        elif isinstance(mem, (tuple, list)) and len(mem) == 2:
            given = (mem[0], mem[1])
        else:
            raise TypeError(
                f"`mem` must be None, a tensor, or the pair (mem, mem_prev); got {type(mem).__name__}"
            )
        return self._forward(input_, given)

    def _output(self, spk: Tensor, states: tuple[Tensor, ...]) -> Any:
        return spk, states
