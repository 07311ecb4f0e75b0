"""snntorch's ``functional.quant`` path; the code lives in `spikeforge.training`."""

from ..training._quant import StateQuant, quant_levels, state_quant

__all__ = ["StateQuant", "state_quant", "quant_levels"]
