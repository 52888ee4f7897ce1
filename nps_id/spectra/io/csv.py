"""Two-column text files (``x, intensity``): CSV, TSV, semicolon- or blank-separated; one spectrum per file.

* The separator is told from the first data line: tab, then ``;``, then ``,``, else blanks.
* An optional header line (the first non-blank line, if it is not numeric) names the columns; it is kept
  in ``metadata["x_label"]`` / ``metadata["y_label"]`` and, when ``kind`` is not given, tells the kind:
  ``raman``/``shift`` -> ``"raman"``; ``wavenumber``/``cm-1``/``1/cm``/``absorbance``/``transmittance`` ->
  ``"ir"``; else (``m/z``, ``mass``, no header) ``"ms"``.
* Lines starting with ``#`` are comments, kept in ``metadata["comment"]``.
* Decimal commas: with the default ``decimal="."`` a value such as ``12,5`` is an error that names the
  line. ``decimal=","`` reads them, but only where that is unambiguous: the columns must then be separated
  by tab, ``;`` or blanks, never by ``,``.
* The points are sorted by x (IR files often run from high to low wavenumber); name = the file stem.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from nps_id.spectra.io._columns import ColumnError, first_line_of_value, parse_columns
from nps_id.spectra.io._common import ErrorPolicy, RecordError, check_metadata, check_peaks, open_text, truncation
from nps_id.spectra.spectrum import KINDS, Spectrum

__all__ = ["read_csv"]

_NUMBER = re.compile(r"^[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?$")


def _is_numeric(field: str) -> bool:
    return bool(_NUMBER.match(field.strip().strip('"')))


def _guess_kind(header: str) -> str:
    h = header.lower()
    if "raman" in h or "shift" in h:
        return "raman"
    if any(w in h for w in ("wavenumber", "cm-1", "cm^-1", "1/cm", "cm⁻¹", "absorbance", "transmittance")):
        return "ir"
    return "ms"


def _separator(line: str) -> str | None:
    for sep in ("\t", ";", ","):
        if sep in line:
            return sep
    return None


def read_csv(
    path: str,
    policy: ErrorPolicy,
    kind: str | None = None,
    decimal: str = ".",
) -> Iterator[Spectrum]:
    """Read one spectrum from a two-column text file (gzip-transparent).

    Parameters
    ----------
    path : str
        The file.
    policy : ErrorPolicy
        What to do with a bad file (raise, or skip and count it).
    kind : {"ms", "ir", "raman"}, optional
        What the spectrum is; default: guessed from the header line, else ``"ms"``.
    decimal : {".", ","}, default "."
        Decimal separator; ``","`` only with tab-, semicolon- or blank-separated columns.

    Yields
    ------
    Spectrum
        The file's spectrum (record 0), x sorted ascending.
    """
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS} or None, got {kind!r}")
    if decimal not in (".", ","):
        raise ValueError(f"decimal must be '.' or ',', got {decimal!r}")
    with open_text(path) as fh:
        text = fh.read()
        cut = truncation(fh)
    base = Path(path).name
    name = Path(base[:-3] if base.lower().endswith(".gz") else base).stem
    if cut is not None:  # a cut gzip file: its one spectrum is incomplete
        policy.fail(cut, record=0, record_id=name)
        return
    try:
        x, y, meta, guessed = _parse(text, decimal)
    except ColumnError as bad:
        policy.fail(bad.reason, record=0, record_id=name, line=None if bad.line is None else bad.line + 1)
        return
    k = kind or guessed
    meta = {"name": name, **meta}
    if k == "ms" and (y < 0).any():
        i = int(np.flatnonzero(y < 0)[0])
        policy.fail(
            f"negative intensity at point {i} of a mass spectrum; pass kind='ir' or 'raman' for vibrational "
            "spectra", record=0, record_id=name,
        )
        return
    try:
        check_metadata(meta)
        x, y32 = check_peaks(x, y, k)
    except RecordError as bad:
        where = f" (point {bad.index})" if bad.index is not None else ""
        policy.fail(bad.reason + where, record=0, record_id=name)
        return
    policy.ok()
    yield Spectrum._trusted(x, y32, k, None, meta)


def _parse(text: str, decimal: str) -> tuple[np.ndarray, np.ndarray, dict[str, Any], str]:
    lines = text.split("\n")
    meta: dict[str, Any] = {}
    comments = [ln.strip()[1:].strip() for ln in lines if ln.strip().startswith("#")]
    if comments:
        meta["comment"] = "\n".join(comments)
    data_idx = [k for k, ln in enumerate(lines) if ln.strip() and not ln.strip().startswith("#")]
    if not data_idx:
        raise ColumnError("no data lines (empty file)", None)
    first = data_idx[0]
    sep = _separator(lines[first])
    header = None
    fields = [f.strip() for f in (lines[first].split(sep) if sep else lines[first].split())]
    if not all(_is_numeric(f) for f in fields if f):
        header = lines[first].strip()
        names = [f.strip().strip('"') for f in fields]
        if len(names) >= 1:
            meta["x_label"] = names[0]
        if len(names) >= 2:
            meta["y_label"] = names[1]
        data_idx = data_idx[1:]
        if not data_idx:
            raise ColumnError("a header line but no data lines", first)
        sep = _separator(lines[data_idx[0]])
    if decimal == "," and sep == ",":
        raise ColumnError(
            "decimal=',' with comma-separated columns is ambiguous; separate the columns with ';' or tab", data_idx[0]
        )
    body_lines = [lines[k] for k in data_idx]
    body = "\n".join(body_lines)
    if sep:
        body = body.replace(sep, " ")
    if decimal == ",":
        body = body.replace(",", ".")
    hint = "pass decimal=',' (with ';' or tab between the columns) or write '.' as decimal separator"
    try:
        x, y, _ = parse_columns(body, comma_hint=hint)
    except ColumnError as exc:
        line = data_idx[exc.line] if exc.line is not None else None
        reason = exc.reason
        if sep == "," and "more than two values" in reason:
            reason += "; if ',' is the decimal separator, separate the columns with ';' or tab and pass decimal=','"
        raise ColumnError(reason, line) from None
    bad = ~(np.isfinite(x) & np.isfinite(y))
    if bad.any():
        k = data_idx[first_line_of_value(body, int(np.flatnonzero(bad)[0]))]
        raise ColumnError("NaN or infinite value", k)
    return x, y, meta, _guess_kind(header or "")
