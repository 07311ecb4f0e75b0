"""snntorch's deprecated ``spikevision`` import path, kept working on top of `spikeforge.data`.

Importing it warns (``DeprecationWarning``), as snntorch does; new code should use
`spikeforge.data` (or tonic) directly.
"""

import warnings

from . import spikedata

warnings.warn(
    "spikeforge.spikevision is deprecated (as snntorch.spikevision is); use spikeforge.data or tonic",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = ["spikedata"]
