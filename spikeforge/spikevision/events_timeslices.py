"""snntorch's ``spikevision.events_timeslices`` import path.

In snntorch 1.0.0 this module holds the event-slicing helpers of its HDF5 download-and-convert
pipeline (adapted from torchneuromorphic); several of them fail on numpy >= 1.24 (they use the
removed ``np.int``). spikeforge reads the published files directly and bins events into frames
with `spikeforge.data.events_to_frames`; the helpers are not reproduced (see docs/differences.md,
spikevision).
"""

__all__: list[str] = []
