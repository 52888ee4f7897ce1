"""The technique router: which kind of measurement a spectrum is, decided once for the whole package.

Library build (``library info``), search, ``classify``, training and evaluation all call :func:`route` (one
spectrum) or :func:`route_columns` (a whole library, vectorised over the distinct metadata combinations), so
a spectrum is never "GC-EI" in one place and "MS/MS" in another.

Techniques
----------
``gc_ei``
    Electron-ionisation full-scan spectra (GC-MS). Searched at nominal mass against ``gc_ei`` references only;
    the EI class model learns and predicts these.
``msms``
    Product-ion (tandem, MS2 or higher) spectra of any ionisation (LC-ESI/APCI-MS/MS, ...). Searched against
    ``msms`` references only; the MS/MS class model learns and predicts these.
``full_scan``
    Full-scan (MS1) spectra of a soft or other non-EI ionisation (ESI, APCI, APPI, CI, FAB, MALDI, ...).
    Neither searched against GC-EI references nor used as training data of either model: their peaks are
    molecular ions and adducts, not fragmentation patterns.
``ir``, ``raman``
    Vibrational spectra (read and processed; not searched in this version).

Rules, first match wins
-----------------------
1. Not a mass spectrum: the spectrum's kind (``ir``, ``raman``).
2. An MS level of 2 or more (``MS2``, ``MSn``, ``2``): ``msms``.
3. An explicit MS level of 1 (``MS``, ``MS1``, ``1``): ``gc_ei`` for EI, ``full_scan`` for any other named
   ionisation, ``gc_ei`` *inferred* when no ionisation is given.
4. No MS level: EI -> ``gc_ei``; another named ionisation -> ``msms`` with a precursor m/z, ``full_scan``
   without one.
5. Neither MS level nor ionisation (a bare export): ``msms`` *inferred* with a precursor m/z, ``gc_ei``
   *inferred* without one (whatever the m/z precision: decimal GC-MS exports are common, and a GC-EI
   library is searched at nominal mass anyway).

The ionisation is read from ``ionization``, else from the tokens of ``instrument_type`` (``GC-EI-TOF`` -> EI,
``LC-ESI-QTOF`` -> ESI). A precursor m/z of zero or less means "none" (MoNA writes ``PrecursorMZ: 0`` on EI
records). *Inferred* techniques are flagged, so a result can say that metadata was missing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["TECHNIQUES", "MODEL_KIND", "Technique", "route", "technique_of", "route_columns", "technique_counts"]

#: every value :func:`route` returns
TECHNIQUES: tuple[str, ...] = ("gc_ei", "msms", "full_scan", "ir", "raman")

#: technique -> the class model that covers it (``SpectrumClassifier(mode=...)``); others have no model
MODEL_KIND: dict[str, str] = {"gc_ei": "ei", "msms": "msms"}

#: ionisation names (upper case) as written in the wild -> canonical name
_IONISATION = {
    "EI": "EI", "EI+": "EI", "ELECTRON IONIZATION": "EI", "ELECTRON IONISATION": "EI", "ELECTRON IMPACT": "EI",
    "ESI": "ESI", "ESI+": "ESI", "ESI-": "ESI", "ELECTROSPRAY": "ESI", "ELECTROSPRAY IONIZATION": "ESI",
    "APCI": "APCI", "APPI": "APPI", "CI": "CI", "PCI": "CI", "NCI": "CI", "FAB": "FAB", "FI": "FI", "FD": "FD",
    "MALDI": "MALDI", "DART": "DART", "DESI": "DESI", "SIMS": "SIMS",
}
_TOKEN = re.compile(r"[A-Za-z]+")


@dataclass(frozen=True)
class Technique:
    """The technique of one spectrum.

    Attributes
    ----------
    name : str
        One of :data:`TECHNIQUES`.
    inferred : bool
        True when the metadata did not say (rule 3 or 5 of the module docstring).
    reason : str
        Why, in words (for logs and result rows).
    """

    name: str
    inferred: bool
    reason: str

    def __str__(self) -> str:
        return f"{self.name} (inferred)" if self.inferred else self.name


def _ionisation(ionization: Any, instrument_type: Any) -> str:
    """Canonical ionisation from the ``ionization`` value, else from the ``instrument_type`` tokens ("" if none)."""
    text = str(ionization or "").strip().upper()
    if text and text not in ("NA", "N/A", "NONE", "UNKNOWN"):
        if text.startswith("OTHER:"):
            text = text[6:].strip()
        return _IONISATION.get(text, text)
    for token in _TOKEN.findall(str(instrument_type or "").upper()):
        if token in _IONISATION:
            return _IONISATION[token]
    return ""


def _ms_level(value: Any) -> int | None:
    """MS level from ``MS``/``MS1``/``MS2``/``MSn``/``2`` ... (None if not given or not understood)."""
    text = str(value or "").strip().upper().replace(" ", "")
    if not text or text in ("NA", "N/A", "NONE"):
        return None
    if text.startswith("MS"):
        text = text[2:]
        if text == "":
            return 1
        if text == "N":
            return 2
    try:
        return max(1, int(float(text)))
    except ValueError:
        return None


def _has_precursor(precursor_mz: Any) -> bool:
    try:
        p = float(precursor_mz)
    except (TypeError, ValueError):
        return False
    return math.isfinite(p) and p > 0


def route(
    kind: str = "ms",
    precursor_mz: Any = None,
    ionization: Any = "",
    ms_level: Any = "",
    instrument_type: Any = "",
) -> Technique:
    """The technique of a spectrum from its metadata (rules in the module docstring).

    Parameters
    ----------
    kind : {"ms", "ir", "raman"}
    precursor_mz : float or None
        None, NaN, zero or negative: no precursor.
    ionization, ms_level, instrument_type : str
        Metadata values as read (any case; ``""`` where missing).

    Returns
    -------
    Technique

    Examples
    --------
    >>> str(route("ms", None, "EI", "MS1")), str(route("ms", 303.2, "ESI", "MS2"))
    ('gc_ei', 'msms')
    >>> str(route("ms", None, "ESI", "MS")), str(route("ms", None)), str(route("ms", 0.0, "EI"))
    ('full_scan', 'gc_ei (inferred)', 'gc_ei')
    """
    if kind != "ms":
        return Technique(kind, False, f"{kind} spectrum")
    ion = _ionisation(ionization, instrument_type)
    level = _ms_level(ms_level)
    prec = _has_precursor(precursor_mz)
    if level is not None and level >= 2:
        return Technique("msms", False, f"MS level {level}" + ("" if prec else " (no precursor m/z given)"))
    if level == 1:
        if ion == "EI":
            return Technique("gc_ei", False, "EI, MS1")
        if ion:
            return Technique("full_scan", False, f"{ion} full scan (MS1)")
        return Technique("gc_ei", True, "MS1 without ionisation: taken as GC-EI")
    if ion == "EI":
        return Technique("gc_ei", False, "EI")
    if ion:
        if prec:
            return Technique("msms", False, f"{ion} with a precursor m/z")
        return Technique("full_scan", False, f"{ion} without a precursor m/z: full scan")
    if prec:
        return Technique("msms", True, "no ionisation or MS level; a precursor m/z: taken as MS/MS")
    return Technique("gc_ei", True, "no ionisation, MS level or precursor m/z: taken as GC-EI")


def technique_of(spectrum: Any) -> Technique:
    """:func:`route` for a :class:`~nps_id.spectra.Spectrum` (its kind, precursor and metadata)."""
    meta = spectrum.metadata
    return route(spectrum.kind, spectrum.precursor_mz, meta.get("ionization", ""), meta.get("ms_level", ""),
                 meta.get("instrument_type", ""))


def _column(library: Any, name: str, n: int) -> np.ndarray:
    if name in library.columns:
        return np.asarray(library.column(name)).astype(str)
    return np.full(n, "", dtype=object).astype(str)


def route_columns(library: Any) -> tuple[np.ndarray, np.ndarray]:
    """The technique of every spectrum of a library (anything with ``kinds``, ``precursor_mz``, ``columns`` and
    ``column(name)``), computed once per distinct metadata combination.

    Returns
    -------
    names : ndarray of str
        One of :data:`TECHNIQUES` per spectrum.
    inferred : ndarray of bool
    """
    n = len(library)
    if n == 0:
        return np.zeros(0, dtype="<U9"), np.zeros(0, dtype=bool)
    kinds = np.asarray(library.kinds).astype(str)
    prec = np.asarray(library.precursor_mz, dtype=np.float64)
    has_prec = np.where(np.isfinite(prec) & (prec > 0), "1", "0")
    combo = np.char.add(np.char.add(np.char.add(kinds, "\t"), has_prec), "\t")
    for col in ("ionization", "ms_level", "instrument_type"):
        combo = np.char.add(np.char.add(combo, _column(library, col, n)), "\t")
    uniq, inv = np.unique(combo, return_inverse=True)
    decided = []
    for u in uniq:
        kind, p, ion, level, itype, _ = str(u).split("\t")
        decided.append(route(kind, 1.0 if p == "1" else None, ion, level, itype))
    names = np.array([t.name for t in decided])[inv]
    inferred = np.array([t.inferred for t in decided], dtype=bool)[inv]
    return names, inferred


def technique_counts(library: Any) -> dict[str, int]:
    """Spectra per technique (and ``"<technique> (inferred)"`` counts where metadata was missing)."""
    names, inferred = route_columns(library)
    out: dict[str, int] = {}
    for t in TECHNIQUES:
        m = names == t
        if m.any():
            out[t] = int(m.sum())
            if (m & inferred).any():
                out[f"{t} (inferred)"] = int((m & inferred).sum())
    return out
