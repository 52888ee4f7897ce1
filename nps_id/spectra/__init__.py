"""Spectra: the :class:`Spectrum` type, readers and writers, processing, libraries and search.

Names are imported lazily, so ``import nps_id.spectra`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "Spectrum",
    "ReadReport",
    "load_spectra",
    "iter_spectra",
    "save_spectra",
    "SpectralLibrary",
    "Pipeline",
]

_LAZY = {
    "Spectrum": "nps_id.spectra.spectrum",
    "ReadReport": "nps_id.spectra.io",
    "load_spectra": "nps_id.spectra.io",
    "iter_spectra": "nps_id.spectra.io",
    "save_spectra": "nps_id.spectra.io",
    "SpectralLibrary": "nps_id.spectra.library",
    "Pipeline": "nps_id.spectra.processing",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nps_id.spectra' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
