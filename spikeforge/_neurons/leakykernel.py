"""snntorch's ``snntorch._neurons.leakykernel`` import path (aliases only).

snntorch 1.0.0's ``LeakyKernel`` is the same ``nn.RNN`` model as its ``LeakyParallel`` (same
arguments, same computation), so it is an alias of `spikeforge.neurons.LeakyParallel`.
"""

from ..neurons.parallel import LeakyParallel as LeakyKernel

__all__ = ["LeakyKernel"]
