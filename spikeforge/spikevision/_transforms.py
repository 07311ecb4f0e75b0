"""snntorch's ``spikevision._transforms`` import path (private in snntorch): the event and frame
transforms of its deprecated pipeline, implemented in `spikeforge.data.legacy.transforms` (no
torchvision or pandas needed). spikeforge's own data sets take any callable as ``transform``.
"""

from ..data.legacy.transforms import (
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
    find_first,
    hflip,
    rot90,
    shuffle_along_axis,
    toDtype,
    toOneHot,
)

__all__ = [
    "Attention", "CropCenter", "CropDims", "Downsample", "ExpFilterEvents", "FilterEvents", "Repeat",
    "Rescale", "ToChannelHeightWidth", "ToCountFrame", "ToEventSum", "ToTensor", "dvs_permute",
    "find_first", "hflip", "rot90", "shuffle_along_axis", "toDtype", "toOneHot",
]
