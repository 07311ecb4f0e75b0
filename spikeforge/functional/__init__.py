"""snntorch's ``functional`` import path (``import spikeforge.functional as SF``): losses, accuracy,
regularisers and probes; ``quant`` and ``stdp_learner`` are submodules, also reachable as attributes."""

from . import acc, loss, probe, quant, reg, stdp_learner
from .acc import *  # noqa: F403
from .loss import *  # noqa: F403
from .probe import *  # noqa: F403
from .reg import *  # noqa: F403

__all__ = [
    *acc.__all__,
    *loss.__all__,
    *reg.__all__,
    *probe.__all__,
    "acc",
    "loss",
    "reg",
    "probe",
    "quant",
    "stdp_learner",
]
