"""spikeplot.animator, Camera and save_animation: frame counts, colour scale, writers and their errors."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib import animation
from PIL import Image

from spikeforge import spikeplot as splt

# Some tests build an animation only to inspect or reject it; matplotlib warns when such one is freed.
pytestmark = pytest.mark.filterwarnings("ignore:Animation was deleted without rendering")


def _gif_frames(path: Path) -> list[np.ndarray]:
    frames = []
    with Image.open(path) as im:
        for k in range(im.n_frames):
            im.seek(k)
            frames.append(np.asarray(im.convert("RGB")))
    return frames


def test_animator_gif_has_one_frame_per_step(tmp_path: Path, check_image) -> None:
    data = torch.bernoulli(torch.full((7, 6, 6), 0.4, requires_grad=False))
    fig, ax = plt.subplots(figsize=(2, 2), dpi=40)
    anim = splt.animator(data, fig, ax, interval=50, path=tmp_path / "a.gif")
    assert isinstance(anim, animation.ArtistAnimation)
    frames = _gif_frames(tmp_path / "a.gif")
    assert len(frames) == 7
    check_image(tmp_path / "a.gif")
    with Image.open(tmp_path / "a.gif") as im:
        assert im.info["duration"] == 50


def test_animator_keeps_identical_steps_as_separate_frames(tmp_path: Path) -> None:
    fig, ax = plt.subplots(figsize=(2, 2), dpi=40)
    splt.animator(torch.zeros(5, 4, 4), fig, ax, path=tmp_path / "z.gif")
    assert len(_gif_frames(tmp_path / "z.gif")) == 5


def test_animator_uses_one_colour_scale_and_num_steps() -> None:
    data = torch.arange(48.0).reshape(3, 4, 4)
    fig, ax = plt.subplots()
    splt.animator(data, fig, ax, num_steps=2, cmap="viridis")
    assert len(ax.images) == 2
    for k, image in enumerate(ax.images):
        assert image.get_clim() == (0.0, 47.0)
        assert np.array_equal(image.get_array(), data[k].numpy())
        assert image.get_cmap().name == "viridis"
    assert [t.get_text() for t in ax.texts] == ["t = 0", "t = 1"]
    assert not ax.axison


def test_animator_errors() -> None:
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match=r"num_steps must be in 1\.\.3"):
        splt.animator(torch.zeros(3, 2, 2), fig, ax, num_steps=4)
    with pytest.raises(ValueError, match=r"\[T, H, W\]"):
        splt.animator(torch.zeros(3, 1, 2, 2), fig, ax)


def test_mp4_without_ffmpeg_raises_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = animation.writers.is_available
    monkeypatch.setattr(animation.writers, "is_available", lambda name: name != "ffmpeg" and real(name))
    fig, ax = plt.subplots()
    anim = splt.animator(torch.rand(3, 2, 2), fig, ax)
    with pytest.raises(RuntimeError, match="needs the ffmpeg program on PATH"):
        splt.save_animation(anim, tmp_path / "a.mp4")
    assert not (tmp_path / "a.mp4").exists()


def test_gif_without_pillow_writer_raises_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(animation.writers, "is_available", lambda name: False)
    fig, ax = plt.subplots()
    with pytest.raises(RuntimeError, match="pip install pillow"):
        splt.animator(torch.rand(3, 2, 2), fig, ax, path=tmp_path / "a.gif")


@pytest.mark.skipif(not animation.writers.is_available("ffmpeg"), reason="ffmpeg is not installed")
def test_mp4_with_ffmpeg(tmp_path: Path) -> None:
    fig, ax = plt.subplots(figsize=(2, 2), dpi=40)
    anim = splt.animator(torch.rand(4, 4, 4), fig, ax)
    path = splt.save_animation(anim, tmp_path / "a.mp4", fps=4)
    assert path.read_bytes()[4:8] == b"ftyp"


def test_save_animation_argument_errors(tmp_path: Path) -> None:
    fig, ax = plt.subplots()
    anim = splt.animator(torch.rand(2, 2, 2), fig, ax)
    with pytest.raises(ValueError, match=r"\.gif or \.mp4"):
        splt.save_animation(anim, tmp_path / "a.avi")
    with pytest.raises(ValueError, match="fps"):
        splt.save_animation(anim, tmp_path / "a.gif", fps=0)


def test_camera_records_what_was_drawn_between_snaps(tmp_path: Path) -> None:
    fig, ax = plt.subplots(figsize=(2, 2), dpi=40)
    camera = splt.Camera(fig)
    for k in range(4):
        ax.plot([0, 1], [0, k], color="black")
        ax.text(0, 0, str(k))
        assert len(camera.snap()) == 2
    anim = camera.animate(interval=20)
    path = splt.save_animation(anim, tmp_path / "c.gif", fps=10)
    assert len(_gif_frames(path)) == 4
    with pytest.raises(RuntimeError, match="snap"):
        splt.Camera(fig).animate()
