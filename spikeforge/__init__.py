"""spikeforge: spiking neural networks on PyTorch.

``import spikeforge as snn`` runs snntorch neuron code unchanged (see ``shared/API.md``); whole
sequences run through `forward_sequence` and fused kernels.
"""

from . import ops, surrogate  # noqa: F401 - importing ops registers the fused kernels
from ._version import __version__
from .layers import BatchNormTT1d, BatchNormTT2d, GradedSpikes
from .network import LayerTrace, SequentialSNN
from .neurons import (
    LIF,
    SLSTM,
    Alpha,
    AssociativeLeaky,
    DeltaLeaky,
    Lapicque,
    Leaky,
    LeakyParallel,
    LinearLeaky,
    RLeaky,
    RSynaptic,
    SConv2dLSTM,
    SpikingNeuron,
    StateLeaky,
    Synaptic,
)

__all__ = [
    "__version__", "surrogate", "SpikingNeuron", "LIF", "Leaky", "Synaptic", "Alpha", "Lapicque",
    "RLeaky", "RSynaptic",
]
__all__ += [
    "SLSTM", "SConv2dLSTM", "LeakyParallel", "StateLeaky", "LinearLeaky", "DeltaLeaky", "BatchNormTT1d",
    "BatchNormTT2d", "GradedSpikes",
]
__all__ += ["AssociativeLeaky"]
__all__ += ["export_to_nir", "import_from_nir"]
__all__ += ["SequentialSNN", "LayerTrace"]


def __getattr__(name: str) -> object:
    """Lazy NIR entry points (``nir``/``h5py`` load only when used) and snntorch-path submodules."""
    if name in ("export_to_nir", "import_from_nir"):
        from . import nir as _nir

        return getattr(_nir, name)
    if name in ("spikegen", "functional", "backprop", "utils"):
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'spikeforge' has no attribute {name!r}")
