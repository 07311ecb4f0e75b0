"""Regenerate the tutorial figures shown in the docs: docs/images/tutorials/<tutorial>/*.png|gif.

Runs each script of examples/tutorials with the full budget (``--small``: the CI budget) into a
temporary folder and copies the images it wrote. Usage::

    python scripts/make_tutorial_figures.py                  # all tutorials
    python scripts/make_tutorial_figures.py 03 08 --small    # some of them, quickly
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = ROOT / "examples" / "tutorials"
IMAGES = ROOT / "docs" / "images" / "tutorials"


def run_tutorial(script: Path, small: bool, dest: Path) -> list[Path]:
    """Run ``script``'s ``main`` and copy its PNG/GIF files to ``dest`` (emptied first)."""
    spec = importlib.util.spec_from_file_location(f"tutorial_{script.stem}", script)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {script}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with tempfile.TemporaryDirectory() as tmp:
        module.main(small=small, out_dir=Path(tmp))
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        images = sorted(p for p in Path(tmp).iterdir() if p.suffix in (".png", ".gif"))
        return [Path(shutil.copy2(p, dest / p.name)) for p in images]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("only", nargs="*", help="tutorial numbers (e.g. 01 05); default all")
    parser.add_argument("--small", action="store_true", help="the CI budget (fewer epochs and steps)")
    parser.add_argument("--out", type=Path, default=IMAGES, help=f"destination (default {IMAGES})")
    args = parser.parse_args()
    for script in sorted(TUTORIALS.glob("[0-9][0-9]_*.py")):
        if args.only and script.stem[:2] not in args.only:
            continue
        written = run_tutorial(script, args.small, args.out / script.stem)
        print(f"{script.stem}: {', '.join(p.name for p in written)}")


if __name__ == "__main__":
    main()
