"""snntorch's ``spikevision.events_timeslices`` import path: the event slicing and binning helpers of
its deprecated pipeline, implemented in `spikeforge.data.legacy.slices` (several of snntorch's fail on
numpy >= 1.24; these do what they were written to do). New code: `spikeforge.data.events_to_frames`.
"""

from ..data.legacy.slices import (
    cast_evs,
    chunk_evs_dvs,
    chunk_evs_pol_dvs,
    expand_targets,
    find_first,
    frame_evs,
    get_binary_frame,
    get_binary_frame_np,
    get_event_slice,
    get_slice,
    get_subsampled_coordinates,
    get_time_surface,
    get_tmad_slice,
    one_hot,
)

__all__ = [
    "cast_evs", "chunk_evs_dvs", "chunk_evs_pol_dvs", "expand_targets", "find_first", "frame_evs",
    "get_binary_frame", "get_binary_frame_np", "get_event_slice", "get_slice",
    "get_subsampled_coordinates", "get_time_surface", "get_tmad_slice", "one_hot",
]
