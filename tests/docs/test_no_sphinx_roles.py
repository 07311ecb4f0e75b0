"""No docstring in spikeforge uses a Sphinx role (":class:`Leaky`", ":func:`...`", ...): mkdocstrings
renders docstrings as Markdown, where a role shows as plain text. Use Markdown inline code
(`` `Leaky` ``) or an mkdocstrings cross-reference (``[`Leaky`][spikeforge.Leaky]``)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "spikeforge"
ROLE = re.compile(r":(?:py:)?[a-z]+:`")



def _docstring_roles(path: Path) -> list[str]:
    """``"line: text"`` for every Sphinx role in a string statement (module, class, function and
    attribute docstrings) of ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        is_str = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        text = node.value.value if is_str else None
        if isinstance(text, str):
            for i, line in enumerate(text.splitlines()):
                if ROLE.search(line):
                    found.append(f"{node.lineno + i}: {line.strip()}")
    return found


def _sources() -> dict[str, Path]:
    return {p.relative_to(PACKAGE).as_posix(): p for p in sorted(PACKAGE.rglob("*.py"))}


def test_role_pattern_matches_roles_only() -> None:
    assert ROLE.search("see :class:`Leaky` and :func:`spikeforge.utils.reset`")
    assert ROLE.search(":py:meth:`forward`")
    assert not ROLE.search("see `Leaky` and ``x: int`` and [`Leaky`][spikeforge.Leaky]")


def test_no_sphinx_roles_in_docstrings() -> None:
    bad = {
        name: roles
        for name, path in _sources().items()
        if (roles := _docstring_roles(path))
    }
    assert not bad, "Sphinx roles render as plain text in the API pages; use `name` instead:\n" + "\n".join(
        f"spikeforge/{name}:{role}" for name, roles in bad.items() for role in roles
    )
