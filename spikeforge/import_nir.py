"""snntorch-compatible path: ``from spikeforge.import_nir import import_from_nir``."""

from .nir import NIRGraphModule, NIRReadError, import_from_nir

__all__ = ["NIRGraphModule", "NIRReadError", "import_from_nir"]
