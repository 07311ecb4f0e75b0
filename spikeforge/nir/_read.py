"""A lenient reader of NIR files (HDF5), for graphs written by older or third-party tools.

``nir.read(type_check=False)`` still type-checks nested graphs and rejects files written before
``v_reset``/``input_shape`` existed or with 0-d parameters (``shared/NIR.md`` section 1.4). This
reader builds every node, nested ones included, without type checking, fills the fields added in
later NIR versions with their defaults, and raises `NIRReadError` naming the node otherwise.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import h5py
import nir
import numpy as np
from nir.serialization import hdf2dict


class NIRReadError(ValueError):
    """A NIR file or graph that cannot be read or run; the message names the node and the reason."""


class NIRReadWarning(UserWarning):
    """A NIR graph read under an assumption: an ``Input`` shape that disagrees with the first layer's
    weights (the weights win), or a ``dt`` other than the one recorded in the graph's metadata."""


_DEFAULTS: dict[str, dict[str, Any]] = {
    "Conv1d": {"input_shape": None},
    "Conv2d": {"input_shape": None},
}


def _node_from_dict(name: str, d: dict[str, Any]) -> nir.NIRNode:
    kind = d.get("type")
    if isinstance(kind, bytes):
        kind = kind.decode()
    if kind == "NIRGraph":
        nodes = {str(k): _node_from_dict(f"{name}.{k}" if name else str(k), v) for k, v in d["nodes"].items()}
        edges = [(_text(a), _text(b)) for a, b in np.asarray(d.get("edges", [])).reshape(-1, 2)]
        meta = {k: _text(v) for k, v in d.get("metadata", {}).items()}
        return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta, type_check=False)
    cls = getattr(nir, str(kind), None) if kind else None
    if not (isinstance(cls, type) and issubclass(cls, nir.NIRNode)) or cls is nir.NIRNode:
        raise NIRReadError(f"node {name!r}: unknown NIR node type {kind!r}")
    kwargs = dict(_DEFAULTS.get(kind, {}))
    fields = {f.name for f in dataclasses.fields(cls)}
    for key, value in d.items():
        if key in ("type",):
            continue
        if key == "shape" and kind in ("Input", "Output"):
            key = "input_type" if kind == "Input" else "output_type"
        if key == "metadata":
            value = {k: _text(v) for k, v in value.items()}
        elif key not in fields:
            continue  # a field of another NIR version; ignored
        kwargs[key] = _text(value)
    try:
        return cls(**kwargs)
    except Exception as err:  # noqa: BLE001 - re-raised with the node's name
        raise NIRReadError(f"node {name!r} ({kind}): cannot be built from the file: {err}") from err


def _text(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode()
    return value


def read_lenient(path: str | os.PathLike[str]) -> nir.NIRNode:
    """Read a NIR file without type checking, tolerating older NIR versions.

    Args:
        path: the ``.nir`` (HDF5) file.

    Returns:
        The graph (or the single node a file may hold); nested graphs are `nir.NIRGraph`
        nodes too. Parameters keep the file's shapes (0-d arrays included; the importer broadcasts them).

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        NIRReadError: if the file is not a NIR HDF5 file or a node cannot be built (the message names
            the node).
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"NIR file not found: {p}")
    try:
        with h5py.File(p, "r") as f:
            if "node" not in f:
                raise NIRReadError(f"{p}: not a NIR file (no 'node' group)")
            data = hdf2dict(f["node"])
    except OSError as err:
        raise NIRReadError(f"{p}: not a readable NIR (HDF5) file: {err}") from err
    return _node_from_dict("", data)
