"""JCAMP-DX: IR, Raman (and mass) spectra through the ``jcamp`` package, with its quirks guarded.

A file is split into blocks here, one per ``##TITLE=`` ... ``##END=`` block that holds data (the blocks of
a ``DATA TYPE=LINK`` compound file are read one by one; the link block itself holds no data). Each block is
parsed by :func:`jcamp.read`, which handles AFFN and the compressed ASDF forms (SQZ, DIF, DUP). Its quirks
and how this reader deals with them:

* it prints (``X-Check failed``, ``Y-Check failed``, ``Mismatch of array lengths``) instead of raising:
  its output is captured and each of these makes the block a bad record (the data do not agree with the
  header, so the x axis or the values may be wrong);
* it raises bare ``Exception`` on characters it does not know, e.g. ``?`` (a missing value): a ``?`` in
  the data is reported here with its line, before parsing; other parser errors are reported with the block;
* it returns empty arrays for garbage: reported as "no data";
* it decodes bytes dropping what is not UTF-8: the text is decoded here (UTF-8, else Latin-1) first;
* x may run from high to low wavenumber: the points are sorted by x.

Units: x in ``1/CM`` is kept; ``MICROMETERS`` (``UM``, ``MICRONS``) and ``NANOMETERS`` (IR) are converted
to wavenumbers (cm-1); for Raman with x in nanometres the Raman shift needs the laser wavelength
(``##$LASER WAVELENGTH=`` or ``##.LASER WAVELENGTH=``, in nm). The original unit is kept in
``metadata["x_units_original"]``. The ordinate is not converted: ``metadata["y_units"]`` is the file's
``YUNITS`` as written and ``metadata["ordinate"]`` one of ``"transmittance"``, ``"absorbance"``,
``"reflectance"``, ``"counts"``, ``"intensity"`` or ``"other"``, so transmittance and absorbance
spectra are told apart downstream.

Kind: from ``DATA TYPE`` (``INFRARED ...`` -> ``"ir"``, ``RAMAN ...`` -> ``"raman"``, ``MASS SPECTRUM`` ->
``"ms"``), else the ``kind=`` option; other data types (UV/VIS, NMR) are reported as unsupported.

Metadata: the header labels go through :func:`~nps_id.spectra.metadata.harmonize_key` (``TITLE`` ->
``name``, ``MOLFORM`` -> ``formula``, ``CAS REGISTRY NO`` -> ``cas``, ...) as text; the labels that only
describe the encoding of the data (``FIRSTX``, ``LASTX``, ``NPOINTS``, ``XFACTOR``, ``YFACTOR``, ``DELTAX``,
``MINX``/``MAXX``/``MINY``/``MAXY``, ``FIRSTY``, ``XYDATA``, ``PEAK TABLE``, ``XYPOINTS``, ``END``) are
applied to the arrays and not kept.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
from collections.abc import Iterator
from typing import Any

import numpy as np

from nps_id.spectra.io._common import (
    ErrorPolicy,
    RecordError as _Bad,
    check_metadata,
    check_peaks,
    open_binary,
    truncation,
)
from nps_id.spectra.metadata import harmonize_key
from nps_id.spectra.spectrum import KINDS, Spectrum

__all__ = ["read_jcamp"]

logger = logging.getLogger(__name__)

_LABEL = re.compile(r"^\s*##([^=]*)=(.*)$")
_DATA_LABELS = {"xydata", "peaktable", "xypoints", "peak table"}
_ENCODING_KEYS = {
    "firstx", "lastx", "npoints", "xfactor", "yfactor", "deltax", "minx", "maxx", "miny", "maxy", "firsty",
    "lasty", "xydata", "peak table", "peaktable", "xypoints", "end", "x", "y", "children",
}
_JCAMP_KEYS = {
    "molform": "formula",
    "cas_registry_no": "cas",
    "cas_name": "cas_name",
    "names": "synonyms",
    "mp": "melting_point",
    "bp": "boiling_point",
    "spectrometer/data_system": "instrument",
}


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _blocks(lines: list[str]) -> tuple[list[tuple[int, int, bool]], list[tuple[str, int]]]:
    """Find the innermost ``##TITLE`` .. ``##END`` blocks.

    Returns ([(start, stop, closed)], [(problem, line index)]): `stop` is exclusive (after ``##END``);
    ``closed`` is False for a block cut off by the end of the file.
    """
    blocks: list[tuple[int, int, bool]] = []
    stack: list[int] = []
    for k, line in enumerate(lines):
        m = _LABEL.match(line)
        if not m:
            continue
        label = m.group(1).strip().upper()
        if label == "TITLE":
            stack.append(k)
        elif label == "END" and stack:
            start = stack.pop()
            inner = any(b[0] > start for b in blocks)  # holds blocks: a LINK container
            if not inner:
                blocks.append((start, k + 1, True))
    for start in stack:
        if not any(b[0] > start for b in blocks):
            blocks.append((start, len(lines), False))
    blocks.sort()
    return blocks, []


def _check_data_lines(lines: list[str], start: int) -> None:
    """Raise _Bad naming the line of a '?' (missing value) in a data table."""
    in_data = False
    for k, line in enumerate(lines):
        m = _LABEL.match(line)
        if m:
            in_data = m.group(1).strip().lower() in _DATA_LABELS
            continue
        if in_data and "?" in line.split("$$", 1)[0]:
            raise _Bad(
                "the data hold '?' (missing values), which a spectrum cannot hold; "
                "cut the spectrum to the range that has values or fill the gaps, then read it again",
                start + k,
            )


def _kind(meta: dict[str, Any], option: str | None) -> str:
    data_type = str(meta.get("data type", meta.get("datatype", ""))).upper()
    if "INFRARED" in data_type or data_type.startswith("IR"):
        return "ir"
    if "RAMAN" in data_type:
        return "raman"
    if "MASS" in data_type:
        return "ms"
    if data_type and option is None:
        raise _Bad(f"DATA TYPE {data_type!r} is not supported; nps_id reads INFRARED, RAMAN and MASS spectra")
    if option is None:
        raise _Bad("no DATA TYPE given; pass kind='ir', 'raman' or 'ms' to say what the spectrum is")
    return option


def _laser_nm(meta: dict[str, Any]) -> float | None:
    for key in ("$laser wavelength", ".laser wavelength", "laser wavelength", "$laser_wavelength"):
        if key in meta:
            try:
                return float(str(meta[key]).split()[0])
            except (ValueError, IndexError):
                raise _Bad(f"laser wavelength {meta[key]!r} is not a number (in nm)") from None
    return None


def _to_wavenumber(x: np.ndarray, units: str, kind: str, meta: dict[str, Any]) -> tuple[np.ndarray, str | None]:
    """Convert x to cm-1 where the units say so; return (x, original unit or None when unchanged)."""
    u = units.upper().replace(" ", "")
    if kind == "ms" or u in ("", "1/CM", "CM-1", "CM^-1", "WAVENUMBERS", "WAVENUMBER", "RAMANSHIFT", "M/Z"):
        return x, None
    if u in ("MICROMETERS", "MICROMETRES", "UM", "MICRONS", "MICRON", "NANOMETERS", "NANOMETRES", "NM"):
        if (x <= 0).any():
            raise _Bad(f"x in {units} holds zero or negative wavelengths; cannot convert to cm-1")
        scale = 1e4 if u.startswith("MICR") or u == "UM" else 1e7
        if kind == "raman":
            if scale == 1e4:
                raise _Bad("Raman x in micrometres is not supported; give the Raman shift in 1/CM")
            laser = _laser_nm(meta)
            if laser is None:
                raise _Bad(
                    "Raman x in nanometres needs the laser wavelength to give a Raman shift; add "
                    "'##$LASER WAVELENGTH=<nm>' to the file or convert x to 1/CM"
                )
            return 1e7 / laser - 1e7 / x, units
        return scale / x, units
    if kind in ("ir", "raman") and u not in ("ARBITRARYUNITS", "A.U."):
        raise _Bad(f"XUNITS {units!r} not understood; nps_id needs 1/CM, MICROMETERS or NANOMETERS")
    return x, None


def _ordinate(yunits: str) -> str:
    u = yunits.upper()
    for word, name in (
        ("TRANSMIT", "transmittance"),
        ("ABSORB", "absorbance"),
        ("REFLECT", "reflectance"),
        ("COUNT", "counts"),
        ("INTENS", "intensity"),
        ("ARBITRARY", "intensity"),
        ("RELATIVE ABUNDANCE", "intensity"),
    ):
        if word in u:
            return name
    return "other"


def _parse_block(block: list[str], start: int, kind_option: str | None) -> tuple[np.ndarray, np.ndarray, str, dict]:
    import jcamp

    _check_data_lines(block, start)
    printed = io.StringIO()
    # jcamp raises bare Exception (unknown characters), KeyError (missing FIRSTX/NPOINTS), ValueError,
    # TypeError, IndexError, ZeroDivisionError on malformed blocks: each is one bad block here.
    try:
        with contextlib.redirect_stdout(printed):
            jd = jcamp.read([line + "\n" for line in block])
    except Exception as exc:  # noqa: BLE001
        raise _Bad(f"the jcamp parser failed ({type(exc).__name__}: {exc})", start) from None
    messages = [m for m in printed.getvalue().splitlines() if m.strip()]
    if messages:
        raise _Bad(f"inconsistent data ({messages[0]}); the values do not agree with the header", start)
    x = np.asarray(jd.get("x", []), dtype=np.float64)
    y = np.asarray(jd.get("y", []), dtype=np.float64)
    if x.size == 0 or y.size == 0:
        raise _Bad("no data (no ##XYDATA=, ##XYPOINTS= or ##PEAK TABLE= table with values)", start)
    if x.shape != y.shape:
        raise _Bad(f"{x.size} x values but {y.size} y values", start)
    if "npoints" in jd and isinstance(jd["npoints"], (int, float)) and int(jd["npoints"]) != y.size:
        raise _Bad(f"NPOINTS={jd['npoints']} but {y.size} values follow", start)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise _Bad("the data hold NaN or infinite values", start)
    kind = _kind(jd, kind_option)
    x, original_units = _to_wavenumber(x, str(jd.get("xunits", "")), kind, jd)
    if kind == "ms" and (y < 0).any():
        raise _Bad("mass spectrum with negative intensities", start)
    meta: dict[str, Any] = {}
    for key, value in jd.items():
        if key in _ENCODING_KEYS:
            continue
        canon = harmonize_key(key)
        canon = _JCAMP_KEYS.get(canon, canon)
        text = value.isoformat() if hasattr(value, "isoformat") else str(value)
        meta[canon] = text
    if "yunits" in jd:
        meta["y_units"] = meta.pop("yunits")
        meta["ordinate"] = _ordinate(str(jd["yunits"]))
    if "xunits" in jd:
        meta["x_units"] = "1/CM" if original_units else meta.pop("xunits")
        meta.pop("xunits", None)
    if original_units:
        meta["x_units_original"] = original_units
    try:
        check_metadata(meta)
        x, y32 = check_peaks(x, y, kind)
    except _Bad as bad:
        where = f" (point {bad.index})" if bad.index is not None else ""
        raise _Bad(bad.reason + where, start) from None
    return x, y32, kind, meta


def read_jcamp(path: str, policy: ErrorPolicy, kind: str | None = None) -> Iterator[Spectrum]:
    """Read the spectra of a JCAMP-DX file (gzip-transparent): one per data block.

    Parameters
    ----------
    path : str
        The file.
    policy : ErrorPolicy
        What to do with a bad block (raise, skip, warn) and where to count it.
    kind : {"ir", "raman", "ms"}, optional
        What the spectra are, for files without ``##DATA TYPE=``; a file's own ``DATA TYPE`` wins.

    Yields
    ------
    Spectrum
        One per good data block, in file order, x sorted ascending (wavenumbers in cm-1 for IR/Raman).
    """
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS} or None, got {kind!r}")
    with open_binary(path) as fh:
        raw = fh.read()
        cut = truncation(fh)
    text = _decode(raw).replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    blocks, _ = _blocks(lines)
    if not blocks:
        policy.fail(cut or "no '##TITLE=' block found; is this a JCAMP-DX file?", line=1)
        return
    for i, (start, stop, closed) in enumerate(blocks):
        title = None
        m = _LABEL.match(lines[start])
        if m:
            title = m.group(2).strip()[:80] or None
        if not closed:
            policy.fail(cut or "block has no '##END=' line (truncated file?)", record=i, record_id=title, line=start + 1)
            cut = None  # reported with this block
            continue
        try:
            x, y, k, meta = _parse_block(lines[start:stop], start, kind)
        except _Bad as bad:
            line = None if bad.line is None else bad.line + 1
            policy.fail(bad.reason, record=i, record_id=title, line=line)
            continue
        policy.ok()
        yield Spectrum._trusted(x, y, k, None, meta)
    if cut is not None:  # cut between blocks: the blocks before it were read
        policy.fail(cut, record=len(blocks), line=len(lines))
