"""snntorch's ``spikevision.spikedata`` classes (NMNIST, DVSGesture, SHD) with their signatures.

They read the local files of `spikeforge.data` (``root`` is the data folder holding ``NMNIST/``,
``SHD/`` or ``DVSGesture/``) and never download: when the files are absent,
`DatasetNotFoundError` says where to place them, whatever
``download_and_create`` says. Samples are count frames of ``dt`` microseconds from ``t = 0``,
``num_steps`` of them (later events dropped), with the shapes of snntorch's classes. A given
``target_transform`` is applied to the integer label (snntorch replaced it by a one-hot repeat).
"""

from .dvs_gesture import DVSGesture
from .nmnist import NMNIST
from .shd import SHD

__all__ = ["NMNIST", "DVSGesture", "SHD"]
