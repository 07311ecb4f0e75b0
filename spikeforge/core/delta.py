"""Delta leaky neuron (snntorch ``DeltaLeaky``): a non-resetting leaky integrator that fires when its
membrane *changes* by more than ``delta`` in one step (delta/"sigma-delta" coding, O'Connor & Welling
2016; Yousefzadeh et al. 2019).

``U[t] = beta*U[t-1] + X[t]`` (``beta`` clamped to [0, 1], no reset);
``S[t] = H(|U[t] - U[t-1]| - delta)*g`` (unsigned: a rise and a fall both spike).
"""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor

from ._firing import Firing, fire, quantise


class DeltaState(NamedTuple):
    mem: Tensor
    #: the membrane one step earlier (returned for snntorch compatibility; not used by the update)
    mem_prev: Tensor


class DeltaParams(NamedTuple):
    beta: Tensor
    delta_threshold: Tensor
    graded: Tensor


def delta_step(x: Tensor, state: DeltaState, p: DeltaParams, f: Firing) -> tuple[Tensor, DeltaState]:
    """One step of the delta neuron; returns ``(spk, DeltaState(mem, mem_prev))``.

    ``f.state_quant`` quantises the new membrane; ``f.inhibition`` lets only the largest change per row
    spike; ``f.reset``/``f.reset_delay`` have no effect (the neuron never resets).
    """
    prev = state.mem
    (mem,) = quantise(f, p.beta.clamp(0, 1) * prev + x)
    spk = fire((mem - prev).abs(), p.delta_threshold, p.graded, f._replace(state_quant=None))
    return spk, DeltaState(mem, prev)
