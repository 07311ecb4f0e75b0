"""snntorch's ``spikevision.neuromorphic_dataset`` import path.

In snntorch 1.0.0 this module holds the download, checksum and HDF5 base class of its data sets.
spikeforge never downloads: its data sets (`spikeforge.spikevision.spikedata`, on
`spikeforge.data.EventDataset`) read the published files from ``root`` and raise
`spikeforge.data.DatasetNotFoundError` naming what to place there. Not reproduced (see
docs/differences.md, spikevision).
"""

__all__: list[str] = []
