"""Spectra: the :class:`Spectrum` type, readers and writers, processing, libraries and search.

Names are imported lazily, so ``import nps_id.spectra`` stays cheap.
"""

from __future__ import annotations

from nps_id._lazy import lazy_names

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


__getattr__, __dir__ = lazy_names(__name__, _LAZY)
