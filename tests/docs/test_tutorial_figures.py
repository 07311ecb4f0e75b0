"""The committed tutorial figures keep everything inside the image: no axis label or tick text touches
an edge (a label cut off by the figure border leaves dark pixels in the last row)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest

IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images" / "tutorials"
FIGURES = sorted(IMAGES.glob("*/*.png"))


def _dark_edges(path: Path) -> dict[str, int]:
    rgb = np.asarray(mpimg.imread(path))[..., :3]
    dark = (rgb < 0.9).any(-1)
    return {
        "top": int(dark[0].sum()),
        "bottom": int(dark[-1].sum()),
        "left": int(dark[:, 0].sum()),
        "right": int(dark[:, -1].sum()),
    }


def test_the_nir_roundtrip_figure_is_present() -> None:
    assert (IMAGES / "08_nir_export" / "nir_roundtrip.png") in FIGURES


@pytest.mark.parametrize(
    "path",
    FIGURES,
    ids=[p.relative_to(IMAGES).as_posix() for p in FIGURES],
)
def test_nothing_touches_the_border(path: Path) -> None:
    edges = _dark_edges(path)
    assert not any(edges.values()), f"dark pixels on the border (cut-off text?): {edges}"
