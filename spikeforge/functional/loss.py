"""snntorch's ``functional.loss`` path; the code lives in `spikeforge.training`."""

from ..training._losses import (
    LossFunctions,
    ce_count_loss,
    ce_max_membrane_loss,
    ce_rate_loss,
    mse_count_loss,
    mse_membrane_loss,
)
from ..training._temporal import SpikeTime, ce_temporal_loss, mse_temporal_loss

__all__ = [
    "LossFunctions",
    "ce_rate_loss",
    "ce_count_loss",
    "ce_max_membrane_loss",
    "mse_count_loss",
    "mse_membrane_loss",
    "SpikeTime",
    "mse_temporal_loss",
    "ce_temporal_loss",
]
