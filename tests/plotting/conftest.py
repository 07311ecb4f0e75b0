"""Helpers for the plotting tests: decode a written image and check it is not blank."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def _check_image(path: Path) -> np.ndarray:
    """Decode ``path`` (PNG or first GIF frame) and assert it holds a picture, not one flat colour."""
    assert path.is_file() and path.stat().st_size > 0, path
    with Image.open(path) as im:
        im.load()
        pixels = np.asarray(im.convert("RGB"))
    assert pixels.ndim == 3 and pixels.shape[0] > 10 and pixels.shape[1] > 10
    packed = pixels.astype(np.int32) @ np.array([1 << 16, 1 << 8, 1], dtype=np.int32)
    colours = np.unique(packed)
    assert len(colours) >= 3, f"{path.name} is blank: {len(colours)} colours"
    # Something other than the background covers a visible share of the picture.
    background = np.all(pixels == pixels[0, 0], axis=-1)
    assert 0.005 < 1 - background.mean(), f"{path.name} is almost blank"
    return pixels


@pytest.fixture
def check_image() -> Callable[[Path], np.ndarray]:
    return _check_image
