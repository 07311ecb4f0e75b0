"""snntorch's ``spikegen`` import path; the encoders live in `spikeforge.encoding`."""

import torch

from .encoding import *  # noqa: F403
from .encoding import __all__ as _encoding_all
from .encoding import _latency_errors  # noqa: F401

dtype = torch.float

__all__ = [*_encoding_all, "dtype"]
