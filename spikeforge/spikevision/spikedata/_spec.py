"""The frame layout of snntorch's spikevision data sets in `spikeforge.data` terms."""

from __future__ import annotations

from ...data import FrameSpec


def frame_spec(num_steps: int, dt: float, ds: int = 1, crop: tuple[int, ...] | None = None) -> FrameSpec:
    if int(ds) < 1:
        raise ValueError(f"ds must be a positive integer downsampling factor, got {ds}")
    return FrameSpec(
        n_time_bins=int(num_steps), time_window_us=float(dt), spatial_factor=1 / int(ds), crop=crop
    )
