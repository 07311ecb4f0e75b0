"""snntorch's ``spikeplot`` import path: ``import spikeforge.spikeplot as splt``.

The functions live in `spikeforge.plotting`; see ``docs/differences.md`` ("Plotting") for where
they differ from snntorch 1.0.0.
"""

from .plotting import (
    Camera,
    animator,
    plot_cur_mem_spk,
    plot_snn_spikes,
    plot_spk_cur_mem_spk,
    plot_spk_mem_spk,
    raster,
    save_animation,
    spike_count,
    traces,
)

__all__ = [
    "Camera", "animator", "plot_cur_mem_spk", "plot_snn_spikes", "plot_spk_cur_mem_spk", "plot_spk_mem_spk",
    "raster", "save_animation", "spike_count", "traces",
]
