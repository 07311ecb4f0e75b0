"""Pure step functions: the one specification of each neuron model.

Each model has a ``State`` and a ``Params`` NamedTuple and a pure
``step(x, state, params, firing) -> (spk, new_state)``; modules, the sequence runner, fused kernels
and the NIR mapping are all checked against these.
"""

from ._firing import NONE, RESET_CODES, SUBTRACT, ZERO, Firing, fire, immediate_reset, quantise, reset_mask
from .alpha import AlphaParams, AlphaState, alpha_step, alpha_tau
from .delta import DeltaParams, DeltaState, delta_step
from .lapicque import LapicqueParams, LapicqueState, lapicque_step
from .leaky import LeakyParams, LeakyState, leaky_step
from .lstm import LSTMState, SConv2dLSTMParams, SLSTMParams, sconv2dlstm_step, slstm_step
from .recurrent import (
    OneToOne,
    RLeakyParams,
    RLeakyState,
    RSynapticParams,
    RSynapticState,
    rleaky_step,
    rsynaptic_step,
)
from .synaptic import SynapticParams, SynapticState, synaptic_step

__all__ = [
    "NONE", "RESET_CODES", "SUBTRACT", "ZERO", "Firing", "fire", "immediate_reset", "quantise",
    "reset_mask", "AlphaParams", "AlphaState", "alpha_step", "alpha_tau", "LapicqueParams",
    "LapicqueState", "lapicque_step", "LeakyParams", "LeakyState", "leaky_step", "OneToOne", "RLeakyParams",
    "RLeakyState", "RSynapticParams", "RSynapticState", "rleaky_step", "rsynaptic_step",
    "SynapticParams", "SynapticState", "synaptic_step",
    "DeltaParams", "DeltaState", "delta_step", "LSTMState", "SConv2dLSTMParams", "SLSTMParams",
    "sconv2dlstm_step", "slstm_step",
]
