"""spikeforge: spiking neural networks on PyTorch.

``import spikeforge as snn`` runs snntorch neuron code unchanged (see ``shared/API.md``); whole
sequences run through :meth:`forward_sequence` and fused kernels.
"""

from . import surrogate
from ._version import __version__
from .neurons import LIF, Alpha, Lapicque, Leaky, RLeaky, RSynaptic, SpikingNeuron, Synaptic

__all__ = [
    "__version__", "surrogate", "SpikingNeuron", "LIF", "Leaky", "Synaptic", "Alpha", "Lapicque",
    "RLeaky", "RSynaptic",
]
