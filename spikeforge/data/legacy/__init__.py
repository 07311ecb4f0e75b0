"""The event helpers of snntorch's deprecated ``spikevision`` pipeline, as spikeforge's own code.

snntorch 1.0.0 ships these (adapted from torchneuromorphic) under ``snntorch.spikevision``; code
written for it imports them from there, so spikeforge provides them under the same paths
(``spikeforge.spikevision.events_timeslices``, ``._transforms``, ``._utils``,
``.neuromorphic_dataset``, ``.spikedata.*``) with the same behaviour, written from that behaviour:

- `slices`: binning address events into frames and slicing event streams in time;
- `transforms`: callables for event arrays and frames (crops, counts, flips, one-hot labels);
- `files`: checksums, snntorch's file readers returning its tuples, and the frame plot.

Where snntorch's version fails on numpy >= 1.24 (the removed ``np.int``) these do what it was written
to do; the few other differences are listed in docs/differences.md (spikevision). New code should use
`spikeforge.data` (`events_to_frames`, `FrameSpec`, the readers) or tonic.
"""

from .files import (
    StandardTransform,
    aedat_to_events,
    calculate_md5,
    check_integrity,
    check_md5,
    identity,
    load_ATIS_bin,
    load_jaer,
    load_shd_hdf5,
    nmnist_get_file_names,
    nmnist_load_events_from_bin,
    one_hot1d,
    plot_frames_imshow,
)
from .slices import (
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
from .transforms import (
    Attention,
    CropCenter,
    CropDims,
    Downsample,
    ExpFilterEvents,
    FilterEvents,
    Repeat,
    Rescale,
    ToChannelHeightWidth,
    ToCountFrame,
    ToEventSum,
    ToTensor,
    dvs_permute,
    hflip,
    rot90,
    shuffle_along_axis,
    toDtype,
    toOneHot,
)

__all__ = [
    "Attention", "CropCenter", "CropDims", "Downsample", "ExpFilterEvents", "FilterEvents", "Repeat",
    "Rescale", "StandardTransform", "ToChannelHeightWidth", "ToCountFrame", "ToEventSum", "ToTensor",
    "aedat_to_events", "calculate_md5", "cast_evs", "check_integrity", "check_md5", "chunk_evs_dvs",
    "chunk_evs_pol_dvs", "dvs_permute", "expand_targets", "find_first", "frame_evs", "get_binary_frame",
    "get_binary_frame_np", "get_event_slice", "get_slice", "get_subsampled_coordinates",
    "get_time_surface", "get_tmad_slice", "hflip", "identity", "load_ATIS_bin", "load_jaer",
    "load_shd_hdf5", "nmnist_get_file_names", "nmnist_load_events_from_bin", "one_hot", "one_hot1d",
    "plot_frames_imshow", "rot90", "shuffle_along_axis", "toDtype", "toOneHot",
]
