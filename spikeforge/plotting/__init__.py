"""Plots of spiking activity (matplotlib only; works headless).

``spikeforge.spikeplot`` re-exports the snntorch-compatible names; `spikeforge.plotting.figures`
holds the figures of a training run.
"""

from ._animate import Camera, animator, save_animation
from ._counts import spike_count
from ._data import select_neurons, time_by_neuron, to_numpy
from ._panels import plot_cur_mem_spk, plot_snn_spikes, plot_spk_cur_mem_spk, plot_spk_mem_spk
from ._raster import raster
from ._traces import traces

__all__ = [
    "Camera", "animator", "plot_cur_mem_spk", "plot_snn_spikes", "plot_spk_cur_mem_spk", "plot_spk_mem_spk",
    "raster", "save_animation", "select_neurons", "spike_count", "time_by_neuron", "to_numpy", "traces",
]
