"""snntorch's ``spikevision._transforms`` import path (private in snntorch).

In snntorch 1.0.0 these are the torchvision-based event transforms of its HDF5 pipeline (it needs
torchvision and pandas to import). spikeforge's data sets produce frames through
`spikeforge.data.FrameSpec` (time bins, downsampling, crop) and take any callable as
``transform``; use tonic's transforms for event-level processing. Not reproduced (see
docs/differences.md, spikevision).
"""

__all__: list[str] = []
