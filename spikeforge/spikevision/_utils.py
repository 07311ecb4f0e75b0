"""snntorch's ``spikevision._utils`` import path (private in snntorch).

In snntorch 1.0.0 these are file readers and a plotting helper for its HDF5 pipeline. spikeforge's
readers are `spikeforge.data.read_nmnist` (N-MNIST ``.bin``), `spikeforge.data.read_aedat31`
(DVS Gesture ``.aedat``) and `spikeforge.data.read_shd`; they return structured event arrays
instead of snntorch's tuples, so they are not aliased here (see docs/differences.md, spikevision).
"""

__all__: list[str] = []
