"""mzML: spectra read through pyteomics' indexed mzML reader.

pyteomics builds (or reads) a byte-offset index of the ``<spectrum>`` elements, and each spectrum is then
parsed on its own, so one damaged spectrum (bad binary data, a missing array) is reported and skipped
without losing the rest. A file that is not well-formed XML up to the first spectrum cannot be indexed and
fails as a whole. Chromatograms are not spectra and are not read (their count is logged).

Each spectrum becomes a :class:`Spectrum` with ``kind="ms"``: the arrays as stored (centroid or profile:
``metadata["spectrum_representation"]`` says which; profile data is not centroided), the precursor m/z
from the first selected ion, and metadata as text (as the text formats give it):

=========================  ===========================================================
key                        from
=========================  ===========================================================
spectrum_id                the spectrum's ``id`` (e.g. ``"scan=17"``)
name                       ``spectrum title``, if present
ms_level                   ``ms level`` as ``"MS1"``, ``"MS2"``, ... (as in the MSP files)
ion_mode                   ``"POSITIVE"`` / ``"NEGATIVE"`` (from the scan polarity)
retention_time             scan start time in seconds (minutes converted)
spectrum_representation    ``"centroid"`` or ``"profile"``
filter_string              the vendor filter string, if present
charge                     precursor charge state
precursor_intensity        precursor peak intensity
collision_energy           activation collision energy
activation                 activation method(s), e.g. ``"beam-type collisional dissociation"``
=========================  ===========================================================
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from nps_id.spectra.io._common import (
    ErrorPolicy,
    RecordError as _Bad,
    check_metadata,
    check_peaks,
    check_precursor,
    open_binary,
)
from nps_id.spectra.spectrum import Spectrum

__all__ = ["read_mzml"]

logger = logging.getLogger(__name__)

_ACTIVATIONS = (
    "collision-induced dissociation",
    "beam-type collisional dissociation",
    "higher energy beam-type collision-induced dissociation",
    "electron transfer dissociation",
    "electron capture dissociation",
    "photodissociation",
    "in-source collision-induced dissociation",
    "trap-type collision-induced dissociation",
    "supplemental beam-type collision-induced dissociation",
    "electron transfer/higher-energy collision dissociation",
)


def _text(value: Any) -> str:
    return repr(float(value)) if isinstance(value, float) else str(value)


def _seconds(value: Any) -> float:
    unit = str(getattr(value, "unit_info", "") or "").lower()
    return float(value) * 60.0 if unit.startswith("min") else float(value)


def _convert(spec: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, float | None, dict[str, Any]]:
    meta: dict[str, Any] = {"spectrum_id": str(spec.get("id", ""))}
    if "spectrum title" in spec:
        meta["name"] = str(spec["spectrum title"])
    if "ms level" in spec:
        meta["ms_level"] = f"MS{int(spec['ms level'])}"
    if "positive scan" in spec:
        meta["ion_mode"] = "POSITIVE"
    elif "negative scan" in spec:
        meta["ion_mode"] = "NEGATIVE"
    if "profile spectrum" in spec:
        meta["spectrum_representation"] = "profile"
    elif "centroid spectrum" in spec:
        meta["spectrum_representation"] = "centroid"
    scans = (spec.get("scanList") or {}).get("scan") or [{}]
    scan = scans[0]
    if "scan start time" in scan:
        meta["retention_time"] = repr(_seconds(scan["scan start time"]))
    if "filter string" in scan:
        meta["filter_string"] = str(scan["filter string"])
    precursor_mz = None
    precursors = (spec.get("precursorList") or {}).get("precursor") or []
    if precursors:
        prec = precursors[0]
        ions = (prec.get("selectedIonList") or {}).get("selectedIon") or []
        if ions:
            ion = ions[0]
            if "selected ion m/z" in ion:
                precursor_mz = check_precursor(float(ion["selected ion m/z"]), str(ion["selected ion m/z"]))
                if precursor_mz is None:  # zero: no precursor, kept as written
                    meta["precursor_mz_text"] = str(ion["selected ion m/z"])
            if "charge state" in ion:
                meta["charge"] = str(int(ion["charge state"]))
            if "peak intensity" in ion:
                meta["precursor_intensity"] = _text(ion["peak intensity"])
        activation = prec.get("activation") or {}
        if "collision energy" in activation:
            meta["collision_energy"] = _text(activation["collision energy"])
        methods = [a for a in _ACTIVATIONS if a in activation]
        if methods:
            meta["activation"] = "\n".join(methods)
    if "m/z array" not in spec or "intensity array" not in spec:
        raise _Bad("spectrum has no m/z or intensity array")
    mz = np.asarray(spec["m/z array"], dtype=np.float64)
    inten = np.asarray(spec["intensity array"], dtype=np.float64)
    if mz.shape != inten.shape or mz.ndim != 1:
        raise _Bad(f"m/z array has {mz.size} values but intensity array has {inten.size}")
    if mz.size == 0:
        raise _Bad("empty spectrum (no data points)")
    check_metadata(meta)
    try:
        mz, inten32 = check_peaks(mz, inten, "ms")
    except _Bad as bad:
        raise _Bad(f"{bad.reason} (point {bad.index})") from None
    return mz, inten32, precursor_mz, meta


def read_mzml(path: str, policy: ErrorPolicy) -> Iterator[Spectrum]:
    """Read spectra from an mzML file (gzip-transparent) with pyteomics.

    Parameters
    ----------
    path : str
        The file.
    policy : ErrorPolicy
        What to do with a bad spectrum (raise, skip, warn) and where to count it.

    Yields
    ------
    Spectrum
        One per good spectrum, in file order; ``kind="ms"``.

    Notes
    -----
    Errors name the file, the spectrum's index (0-based, in file order) and its ``id``; mzML has no useful
    line numbers. A file that cannot be indexed at all (not XML, not mzML, cut before the first spectrum)
    is one failure with no record index.
    """
    from lxml import etree
    from pyteomics import mzml
    from pyteomics.auxiliary import PyteomicsError

    with open_binary(path, raw=True) as fh:  # pyteomics seeks; it reads a cut file up to the cut itself
        try:
            reader = mzml.MzML(fh, use_index=True, decode_binary=True)
            index = reader.index
            ids = list(index["spectrum"].keys()) if "spectrum" in index else []
            n_chrom = len(index["chromatogram"]) if "chromatogram" in index else 0
        except (PyteomicsError, etree.LxmlError, ValueError, OSError, EOFError, KeyError) as exc:
            policy.fail(f"cannot index the file as mzML ({type(exc).__name__}: {exc}); is it mzML?")
            return
        if not ids:
            policy.fail(f"no <spectrum> elements found; is {Path(path).name} an mzML file with spectra?")
            return
        if n_chrom:
            logger.info("%s: %d chromatogram(s) not read (nps_id reads spectra only)", path, n_chrom)
        with reader:
            for i, sid in enumerate(ids):
                try:
                    spec = reader.get_by_index(i) if hasattr(reader, "get_by_index") else reader.get_by_id(sid)
                    mz, inten, precursor, meta = _convert(spec)
                except _Bad as bad:
                    policy.fail(str(bad), record=i, record_id=sid)
                    continue
                # pyteomics and lxml raise many types on damaged elements (bad base64/zlib data, broken
                # XML, missing attributes); each is one bad spectrum here, reported with its id.
                except Exception as exc:  # noqa: BLE001
                    policy.fail(f"cannot parse the spectrum ({type(exc).__name__}: {exc})", record=i, record_id=sid)
                    continue
                policy.ok()
                yield Spectrum._trusted(mz, inten, "ms", precursor, meta)
