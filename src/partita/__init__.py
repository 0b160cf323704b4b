"""Partita: asset-centric, data-aware orchestration."""

__version__ = "0.1.0"
__all__ = ["__version__"]
