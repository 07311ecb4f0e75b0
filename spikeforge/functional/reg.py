"""snntorch's ``functional.reg`` path; the code lives in `spikeforge.training`."""

from ..training._reg import l1_rate_sparsity

__all__ = ["l1_rate_sparsity"]
