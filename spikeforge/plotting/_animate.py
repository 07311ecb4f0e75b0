"""Animations: ``animator`` (one image per time step), ``Camera`` (frame-by-frame capture) and saving."""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import animation
from matplotlib.animation import Animation, ArtistAnimation
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ._data import ArrayLike, to_numpy

__all__ = ["Camera", "animator", "save_animation"]


class Camera:
    """Record frames of a figure: draw, call `snap`, draw again, ... then `animate`.

    Each snap collects the artists added to the figure's axes since the previous snap (lines,
    collections, patches, images, texts), so every frame is what was drawn in between.

    Args:
        figure: the figure whose axes are captured.
    """

    def __init__(self, figure: Figure) -> None:
        self._figure = figure
        self._seen: set[int] = set()
        self._frames: list[list[Artist]] = []

    def snap(self) -> list[Artist]:
        """Close the current frame; returns the artists it holds."""
        frame = [
            artist
            for ax in self._figure.axes
            for artist in (*ax.lines, *ax.collections, *ax.patches, *ax.images, *ax.texts, *ax.artists)
            if id(artist) not in self._seen
        ]
        self._seen.update(id(a) for a in frame)
        self._frames.append(frame)
        return frame

    def animate(self, *args: Any, **kwargs: Any) -> ArtistAnimation:
        """Build the animation of the snapped frames; arguments go to ``ArtistAnimation``.

        Raises:
            RuntimeError: if no frame was snapped.
        """
        if not self._frames:
            raise RuntimeError("Camera.animate() needs at least one snap()")
        return ArtistAnimation(self._figure, self._frames, *args, **kwargs)


def animator(
    data: ArrayLike,
    fig: Figure,
    ax: Axes,
    num_steps: int | bool = False,
    interval: int = 40,
    cmap: str = "plasma",
    *,
    path: str | PathLike[str] | None = None,
    fps: float | None = None,
) -> ArtistAnimation:
    """Animate a ``[T, H, W]`` recording as one image per time step.

    All frames share the colour scale ``[data.min(), data.max()]``; each frame is labelled with its
    step (``t = k``), which also keeps identical consecutive frames apart in a saved GIF.

    Args:
        data: frames ``[T, H, W]`` (or ``[T, N]``, drawn as a single row of pixels); any device.
        fig: the figure of ``ax``.
        ax: the axes to draw on (its axis is turned off).
        num_steps: number of leading steps to animate (default ``False``: all ``T``).
        interval: delay between frames in milliseconds.
        cmap: matplotlib colour map name.
        path: if given, the animation is also saved there (see `save_animation`).
        fps: frames per second when saving (default ``1000 / interval``).

    Returns:
        The ``ArtistAnimation``, one frame per step.

    Raises:
        ValueError: data not 2-D or 3-D, or ``num_steps`` outside ``1 .. T``.
        RuntimeError: see `save_animation`.
    """
    arr = to_numpy(data, "data")
    if arr.ndim == 2:
        arr = arr[:, None, :]
    if arr.ndim != 3 or arr.shape[0] == 0:
        raise ValueError(f"data must be [T, H, W] (or [T, N]) with T >= 1, got shape {arr.shape}")
    steps = arr.shape[0] if num_steps is False else int(num_steps)
    if num_steps is True or not 1 <= steps <= arr.shape[0]:
        raise ValueError(f"num_steps must be in 1..{arr.shape[0]} or False, got {num_steps!r}")
    lo, hi = float(arr.min()), float(arr.max())
    ax.axis("off")
    frames = []
    for t in range(steps):
        image = ax.imshow(arr[t], cmap=cmap, vmin=lo, vmax=hi)
        label = ax.text(0.01, 0.99, f"t = {t}", transform=ax.transAxes, va="top", ha="left",
                        color="white", fontsize=9, bbox={"facecolor": "black", "alpha": 0.5, "lw": 0})
        frames.append([image, label])
    anim = ArtistAnimation(fig, frames, interval=interval)
    if path is not None:
        save_animation(anim, path, fps=fps if fps is not None else 1000.0 / interval)
    return anim


def save_animation(
    anim: Animation, path: str | PathLike[str], fps: float = 25.0, dpi: float | None = None
) -> Path:
    """Save an animation: ``.gif`` through pillow, ``.mp4`` through ffmpeg.

    Args:
        anim: the animation (e.g. from `animator` or ``spike_count(animate=True)``).
        path: output file; its suffix chooses the writer. Parent folders are created.
        fps: frames per second.
        dpi: resolution (default the figure's).

    Returns:
        The path written.

    Raises:
        ValueError: a suffix other than ``.gif``/``.mp4``, or a non-positive ``fps``.
        RuntimeError: the writer the suffix needs is not available (pillow for GIF, the ``ffmpeg``
            program on ``PATH`` for MP4), with what to install.
    """
    out = Path(path)
    suffix = out.suffix.lower()
    writers = {
        ".gif": ("pillow", "pillow (pip install pillow)"),
        ".mp4": ("ffmpeg", "the ffmpeg program on PATH (e.g. apt install ffmpeg, conda install ffmpeg)"),
    }
    if suffix not in writers:
        raise ValueError(f"path must end in .gif or .mp4, got {out.name!r}")
    if not np.isfinite(fps) or fps <= 0:
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    name, needs = writers[suffix]
    if not animation.writers.is_available(name):
        raise RuntimeError(f"saving {suffix} needs {needs}; matplotlib found no '{name}' writer")
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = animation.writers[name](fps=fps)
    anim.save(str(out), writer=writer, dpi=dpi)
    return out
