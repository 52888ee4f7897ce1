"""nps_id: identify fentanyl analogues, tramadol, precursors and other new psychoactive substances from spectra."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "classify"]


def __getattr__(name: str):
    # lazy, so that ``import nps_id`` stays cheap; nps_id.classify is a callable module (see nps_id.classify)
    if name == "classify":
        import importlib

        return importlib.import_module("nps_id.classify")
    raise AttributeError(f"module 'nps_id' has no attribute {name!r}")
