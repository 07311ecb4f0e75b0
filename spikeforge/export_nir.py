"""snntorch-compatible path: ``from spikeforge.export_nir import export_to_nir``."""

from .nir import NIRExportError, NIRLossyExportWarning, export_to_nir

__all__ = ["NIRExportError", "NIRLossyExportWarning", "export_to_nir"]
