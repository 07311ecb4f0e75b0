"""The BPTT example in docs/training.md runs, is the same as examples/bptt_example.py, and learns."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_docs_snippet_trains_and_loss_decreases() -> None:
    doc = (ROOT / "docs" / "training.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", doc, flags=re.S)
    assert len(blocks) == 1
    assert blocks[0] == (ROOT / "examples" / "bptt_example.py").read_text()
    scope: dict = {}
    exec(compile(blocks[0], "docs/training.md", "exec"), scope)
    losses = scope["losses"]
    assert losses[-1] < 0.7 * losses[0]
