"""The docs gallery is made by scripts/make_gallery.py: it runs, writes every image, none is blank."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[2]


def _load_script():
    spec = importlib.util.spec_from_file_location("make_gallery", ROOT / "scripts" / "make_gallery.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gallery_script_writes_non_blank_images(tmp_path: Path, check_image) -> None:
    written = _load_script().make_gallery(tmp_path, steps=30)
    assert written and all(p.parent == tmp_path for p in written)
    assert sorted(p.name for p in written) == sorted(p.name for p in tmp_path.iterdir())
    for path in written:
        check_image(path)
    (gif,) = [p for p in written if p.suffix == ".gif"]
    with Image.open(gif) as im:
        assert im.n_frames == 20


def test_gallery_page_shows_every_committed_image_and_they_exist() -> None:
    page = (ROOT / "docs" / "gallery.md").read_text()
    shown = set(re.findall(r"\]\(images/gallery/([^)]+)\)", page))
    committed = {p.name for p in (ROOT / "docs" / "images" / "gallery").iterdir()}
    assert shown == committed
