"""snntorch's ``snntorch._neurons.leakyunroll`` import path.

snntorch 1.0.0 defines a second, unexported ``LeakyParallel`` here whose ``forward`` raises
``TypeError`` for every input (and whose constructor raises for tuple sizes), so no working code
depends on it; it is not reproduced. Use `spikeforge.neurons.LeakyParallel` (or
``spikeforge._neurons.leakyparallel``).
"""

__all__: list[str] = []
