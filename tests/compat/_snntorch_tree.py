"""The public API of the installed snntorch, read from its source files (nothing is imported: some of
its modules need torchvision, which is not a dependency).

A module's public names are its top-level classes, functions and plain data constants (dicts, lists,
strings, numbers), plus the names it imports from another snntorch module where they are public
(followed through ``from x import *``), without a leading underscore. Not counted, with the reason:

* names bound to modules (``from snntorch import spikegen`` inside ``backprop``): the module path
  itself is checked;
* names imported from other libraries (``Callable``, ``Optional``, torchvision's ``Compose``,
  celluloid's ``Camera``) and constants bound to torch objects (``dtype = torch.float``): they are
  those libraries' API, not snntorch's.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import pkgutil
from pathlib import Path

SPEC = importlib.util.find_spec("snntorch")
ROOT = Path(SPEC.submodule_search_locations[0]) if SPEC and SPEC.submodule_search_locations else None

_DATA = (ast.Dict, ast.List, ast.Tuple, ast.Set, ast.Constant, ast.DictComp, ast.ListComp, ast.SetComp)


def modules() -> list[str]:
    """Every module of the installed snntorch package tree (``pkgutil.iter_modules``, recursively)."""
    assert ROOT is not None

    def walk(path: Path, prefix: str) -> list[str]:
        found = []
        for info in pkgutil.iter_modules([str(path)], prefix):
            found.append(info.name)
            if info.ispkg:
                found += walk(path / info.name.rsplit(".", 1)[1], info.name + ".")
        return found

    return ["snntorch", *walk(ROOT, "snntorch.")]


def _source(module: str) -> tuple[Path, bool]:
    assert ROOT is not None
    base = ROOT.parent.joinpath(*module.split("."))
    if (base / "__init__.py").exists():
        return base / "__init__.py", True
    return base.with_suffix(".py"), False


def _is_module(module: str) -> bool:
    assert ROOT is not None
    base = ROOT.parent.joinpath(*module.split("."))
    return (base / "__init__.py").exists() or base.with_suffix(".py").exists()


def _resolve(module: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    package = module.split(".") if is_pkg else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


@functools.cache
def public_names(module: str) -> dict[str, str]:
    """``{name: home module}`` of ``module``'s public names (the home is where the name is defined)."""
    path, is_pkg = _source(module)
    tree = ast.parse(path.read_text())
    names: dict[str, str] = {}
    declared_all: list[str] | None = None
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names[node.name] = module
        elif isinstance(node, ast.Assign) and isinstance(node.value, _DATA):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    if target.id == "__all__":
                        declared_all = list(ast.literal_eval(node.value))
                    names[target.id] = module
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(module, is_pkg, node)
            if not source.startswith("snntorch") or not _is_module(source):
                continue
            for alias in node.names:
                if alias.name == "*":
                    names.update(public_names(source))
                elif not _is_module(f"{source}.{alias.name}") and alias.name in public_names(source):
                    names[alias.asname or alias.name] = public_names(source)[alias.name]
    public = {n: home for n, home in names.items() if not n.startswith("_")}
    return {n: public[n] for n in declared_all if n in public} if declared_all is not None else public


def literal(module: str, name: str) -> object:
    """The value of the top-level ``name = <literal>`` of ``module`` (``ast.literal_eval``)."""
    tree = ast.parse(_source(module)[0].read_text())
    for node in tree.body:
        targets = [t.id for t in getattr(node, "targets", []) if isinstance(t, ast.Name)]
        if isinstance(node, ast.Assign) and name in targets:
            return ast.literal_eval(node.value)
    raise KeyError(f"{module}.{name}")
