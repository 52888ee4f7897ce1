"""nps_id: identify fentanyl analogues, tramadol, precursors and other new psychoactive substances from spectra."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
