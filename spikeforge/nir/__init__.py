"""NIR (Neuromorphic Intermediate Representation) interchange: export, import, a lenient reader.

See ``docs/nir.md`` for the conventions (``dt``, units, reset, IF).
"""

from ._export import NIRLossyExportWarning, export_to_nir
from ._graph import NIRGraphModule
from ._import import DEFAULT_DT, import_from_nir
from ._maps import NIRExportError
from ._read import NIRReadError, NIRReadWarning, read_lenient

__all__ = [
    "DEFAULT_DT", "NIRExportError", "NIRGraphModule", "NIRLossyExportWarning", "NIRReadError",
    "NIRReadWarning", "export_to_nir", "import_from_nir", "read_lenient",
]
