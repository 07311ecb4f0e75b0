"""The docs pages stay true: their Python examples run, every tutorial has a page that includes its
script and shows figures that exist, and the command-line page lists every option of the parser.

The strict site build itself (broken links, missing snippets) is ``make docs``, part of ``make test``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
TUTORIALS = sorted((ROOT / "examples" / "tutorials").glob("[0-9][0-9]_*.py"))
EXAMPLE_PAGES = ["index.md", "concepts/state.md", "concepts/surrogate.md", "concepts/encodings.md"]


def python_blocks(page: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", page.read_text(), flags=re.S | re.M)


@pytest.mark.parametrize("page", EXAMPLE_PAGES)
def test_page_examples_run(page: str) -> None:
    blocks = python_blocks(DOCS / page)
    assert blocks, f"{page} has no python example"
    namespace: dict[str, object] = {}
    for block in blocks:           # one namespace per page: later blocks build on earlier ones
        exec(compile(block, f"docs/{page}", "exec"), namespace)


def test_state_page_claims() -> None:
    """The state page says the three styles agree; its code asserts it, here it is checked again."""
    ns: dict[str, object] = {}
    for block in python_blocks(DOCS / "concepts" / "state.md"):
        exec(block, ns)
    spk_rec, mem_trace = ns["spk_rec"], ns["mem_trace"]
    assert isinstance(spk_rec, torch.Tensor) and isinstance(mem_trace, torch.Tensor)
    assert spk_rec.shape == mem_trace.shape == (25, 32, 10)
    assert ns["spk_out"].shape == (25, 32, 2)   # type: ignore[attr-defined]


@pytest.mark.parametrize("script", TUTORIALS, ids=[s.stem for s in TUTORIALS])
def test_tutorial_page_includes_script_and_figures(script: Path) -> None:
    page = DOCS / "tutorials" / f"{script.stem}.md"
    text = page.read_text()
    assert f'--8<-- "examples/tutorials/{script.name}"' in text
    shown = re.findall(r"\]\(\.\./images/tutorials/([^)]+)\)", text)
    assert shown, f"{page.name} shows no figure"
    folder = DOCS / "images" / "tutorials" / script.stem
    for rel in shown:
        assert (DOCS / "images" / "tutorials" / rel).is_file(), f"{page.name}: {rel} missing"
    committed = sorted(p.name for p in folder.iterdir())
    assert sorted(Path(r).name for r in shown) == committed, "page and committed figures differ"


def test_tutorials_listed_in_nav_and_index() -> None:
    nav = (ROOT / "mkdocs.yml").read_text()
    index = (DOCS / "tutorials" / "index.md").read_text()
    for script in TUTORIALS:
        assert f"tutorials/{script.stem}.md" in nav
        assert f"({script.stem}.md)" in index


def test_one_animation_among_the_figures() -> None:
    assert list((DOCS / "images" / "tutorials").glob("*/*.gif"))


def test_cli_page_lists_every_option() -> None:
    from spikeforge.cli import build_parser

    text = (DOCS / "cli.md").read_text()
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, command in sub.choices.items():   # type: ignore[union-attr]
        assert f"spikeforge {name}" in text
        for action in command._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag != "--help":
                    assert f"`{flag}" in text or f"{flag} " in text, f"{name} {flag} not documented"


def test_snntorch_page_includes_the_differences() -> None:
    text = (DOCS / "snntorch.md").read_text()
    assert '--8<-- "docs/differences.md' in text
