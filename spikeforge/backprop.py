"""snntorch's ``backprop`` import path; the loops live in `spikeforge.training`."""

from .training._backprop import BPTT, RTRL, TBPTT

__all__ = ["BPTT", "TBPTT", "RTRL"]
