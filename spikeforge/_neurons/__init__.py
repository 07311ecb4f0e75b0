"""snntorch's ``snntorch._neurons`` import path: aliases of `spikeforge.neurons` (no logic here)."""

from ..neurons import (
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
    "LIF", "SLSTM", "Alpha", "AssociativeLeaky", "DeltaLeaky", "Lapicque", "Leaky", "LeakyParallel",
    "LinearLeaky", "RLeaky", "RSynaptic", "SConv2dLSTM", "SpikingNeuron", "StateLeaky", "Synaptic",
]
