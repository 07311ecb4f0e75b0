"""snntorch's ``functional.stdp_learner`` path; the code lives in `spikeforge.training`."""

from ..training._stdp import (
    STDPLearner,
    mstdp_linear_single_step,
    mstdpet_linear_single_step,
    stdp_conv1d_single_step,
    stdp_conv2d_single_step,
    stdp_linear_single_step,
)

__all__ = [
    "STDPLearner",
    "stdp_linear_single_step",
    "mstdp_linear_single_step",
    "mstdpet_linear_single_step",
    "stdp_conv2d_single_step",
    "stdp_conv1d_single_step",
]
