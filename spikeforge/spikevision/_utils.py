"""snntorch's ``spikevision._utils`` import path (private in snntorch): its file readers and frame plot,
implemented in `spikeforge.data.legacy.files`.

Not provided: ``legacy_aedat_to_events`` (needs iniVation's ``dv`` package; use
`spikeforge.data.read_aedat31` or tonic) and ``rosbag_to_events`` (needs ROS's ``importRosbag``).
"""

from ..data.legacy.files import aedat_to_events, load_ATIS_bin, load_jaer, plot_frames_imshow

__all__ = ["aedat_to_events", "load_ATIS_bin", "load_jaer", "plot_frames_imshow"]
