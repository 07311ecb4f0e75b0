"""snntorch's ``spikevision.neuromorphic_dataset`` import path: its transform wrapper and checksum
helpers (`spikeforge.data.legacy.files`).

Not provided: the download helpers (``download_url``, ``download_and_extract_archive``,
``DownloadProgressBar``, ``gen_bar_updater``) and the downloading ``NeuromorphicDataset`` base class:
spikeforge never downloads. Its data sets (`spikeforge.spikevision.spikedata`, on
`spikeforge.data.EventDataset`) read the published files from ``root`` and raise
`spikeforge.data.DatasetNotFoundError` naming what to place there (see docs/differences.md,
spikevision).
"""

from ..data.legacy.files import StandardTransform, calculate_md5, check_integrity, check_md5, identity

__all__ = ["StandardTransform", "calculate_md5", "check_integrity", "check_md5", "identity"]
