"""Mascot Generic Format (MGF): a streaming reader and a writer.

A record is ``BEGIN IONS``, ``KEY=value`` lines, peak lines (``m/z intensity [further fields]``) and
``END IONS``; ``KEY=value`` lines before the first record are file-wide parameters that every record
inherits (a record's own value wins), as in pyteomics. Lines starting with ``#``, ``;``, ``!`` or ``/`` are
comments.

Why not pyteomics' reader (the design notes suggest reusing it)? Measured against what nps_id needs,
:class:`pyteomics.mgf.IndexedMGF` indexes records by ``TITLE``, so records with the same title (common in
libraries: MassBank has many spectra per compound) overwrite each other in the index and records without a
title are merged into their neighbour; :class:`pyteomics.mgf.MGF` keeps only the last of repeated keys,
rewrites ``RTINSECONDS``/``CHARGE`` values (so they do not read back as written) and parses the peaks one
Python ``float()`` at a time. This reader keeps every key and value as written, splits records with one
regular expression per block, parses each record's peaks with one numpy call, and on a bad record reports
file, record index, title and line, then carries on with the next ``BEGIN IONS``. Its results agree with
pyteomics' on well-formed files (see the tests). It borrows pyteomics' reading of ``PEPMASS``
(``m/z [intensity] [charge]``).

Metadata: keys go through :func:`~nps_id.spectra.metadata.harmonize_key`; repeated keys are joined with
``"\\n"`` (as the MSP reader does). ``PEPMASS`` becomes :attr:`Spectrum.precursor_mz` (its first number);
if it says more (an intensity, a charge) or is a missing-value marker (``NA``, ``?``, ...) the text as
written is kept in ``metadata["precursor_mz_text"]``. Fields after m/z and intensity on a peak line are
kept in ``metadata["peak_annotations"]``, one ``m/z<TAB>fields`` line per annotated peak.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from typing import IO, Any

import numpy as np

from nps_id.spectra.io._columns import ColumnError, first_line_of_value, parse_columns
from nps_id.spectra.io._common import (
    MISSING_VALUES,
    ErrorPolicy,
    RecordError as _Bad,
    add_value,
    check_metadata,
    check_peaks,
    check_precursor,
    open_text,
    truncation,
)
from nps_id.spectra.metadata import MGF_KEYS, harmonize_key
from nps_id.spectra.spectrum import Spectrum

__all__ = ["read_mgf", "write_mgf"]

logger = logging.getLogger(__name__)

_BLOCK_CHARS = 16 << 20
_MARKER = re.compile(r"^[ \t]*(BEGIN|END)[ \t]+IONS[ \t]*$", re.I | re.M)
_COMMENTS = "#;!/"
_COMMA_HINT = "MGF peaks are 'm/z intensity' with '.' as decimal separator"


def _parse_pepmass(raw: str) -> tuple[float | None, bool]:
    """Return (precursor m/z or None, whether the raw text must be kept as well)."""
    text = raw.strip()
    if not text:
        return None, False
    if text.lower() in MISSING_VALUES:
        return None, True
    from pyteomics.mgf import MGFBase  # imported here: pyteomics is slow to import
    from pyteomics.auxiliary import PyteomicsError

    try:
        (mz, _intensity), _charge = MGFBase.parse_pepmass_charge(text)
    except (PyteomicsError, ValueError):
        raise _Bad(f"PEPMASS {text[:40]!r} is not 'm/z [intensity] [charge]'") from None
    if mz is None or not np.isfinite(mz) or mz < 0:
        raise _Bad(f"PEPMASS {text[:40]!r} is not a positive m/z")
    precursor = check_precursor(float(mz), text[:40])
    return precursor, precursor is None or text.split()[0] != text


def _records(fh: IO[str]) -> Iterator[tuple[str, str | None, int, int]]:
    """Split the text into ("record", body, line) and ("outside", text, line) pieces, block by block.

    Yields (what, text, first line of `text` (1-based), line of the BEGIN IONS marker or 0).
    ``what`` is "record" (complete BEGIN..END body), "open" (BEGIN IONS without END IONS: truncated),
    "end" (END IONS without BEGIN IONS), "outside" (text between records) or, last, "cut" (the text after the
    last complete record of a file that ends early, a cut gzip file: `text` is then the reason, the line and
    marker line are those of the cut piece, the marker line 0 when it is not inside a record).
    """
    pending = ""
    line = 1  # line number of pending[0]
    eof = False
    while not eof:
        data = fh.read(_BLOCK_CHARS)
        eof = not data
        buf = pending + data
        pos = 0
        open_at: tuple[int, int] | None = None  # (offset after BEGIN line, its line number)
        consumed = 0
        consumed_line = line
        scan_end = len(buf) if eof else buf.rfind("\n") + 1  # whole lines only
        for m in _MARKER.finditer(buf, 0, scan_end):
            mline = line + buf.count("\n", pos, m.start())
            line, pos = mline, m.start()
            if m.group(1).upper() == "BEGIN":
                if open_at is not None:  # a BEGIN inside a record: the earlier one is truncated
                    yield "open", buf[open_at[0] : m.start()], open_at[1] + 1, open_at[1]
                else:
                    yield "outside", buf[consumed : m.start()], consumed_line, 0
                consumed, consumed_line = m.start(), mline
                open_at = (m.end() + 1, mline)
            else:
                if open_at is None:
                    yield "outside", buf[consumed : m.start()], consumed_line, 0
                    yield "end", "", mline, mline
                else:
                    yield "record", buf[open_at[0] : m.start()], open_at[1] + 1, open_at[1]
                    open_at = None
                consumed = min(m.end() + 1, len(buf))
                consumed_line = mline + 1
        if eof:
            reason = truncation(fh)
            if reason is not None:
                if open_at is not None:
                    yield "cut", reason, open_at[1], open_at[1]
                else:
                    lead = len(buf) - len(buf[consumed:].lstrip())
                    yield "cut", reason, consumed_line + buf.count("\n", consumed, lead), 0
                return
            if open_at is not None:
                yield "open", buf[open_at[0] :], open_at[1] + 1, open_at[1]
            else:
                yield "outside", buf[consumed:], consumed_line, 0
            return
        pending = buf[consumed:]
        line = consumed_line


def _parse_params(lines: list[str], meta: dict[str, Any], first: int) -> list[int]:
    """Add ``KEY=value`` lines to `meta`; return the indices of lines that are not parameters."""
    others = []
    for k, line in enumerate(lines, first):
        stripped = line.strip()
        if not stripped or stripped[0] in _COMMENTS:
            continue
        key, sep, value = stripped.partition("=")
        if not sep:
            others.append(k)
            continue
        if not key.strip():
            raise _Bad(f"line {stripped[:40]!r} has no key before '='", k)
        add_value(meta, harmonize_key(key), value.strip())
    return others


def _parse_record(body: str, header: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, float | None, dict]:
    lines = body.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    # parameters normally come first: split after the last line holding '='
    last_param = -1
    if "=" in body:
        cut = body.rfind("=")
        last_param = body.count("\n", 0, cut)
    own: dict[str, Any] = {}
    peak_lines_before = _parse_params(lines[: last_param + 1], own, 0)
    meta = {**header, **own}
    raw = meta.pop("precursor_mz", None)
    precursor = None
    if raw is not None:
        precursor, keep = _parse_pepmass(raw)
        if keep:
            meta["precursor_mz_text"] = raw
    if peak_lines_before:  # peaks interleaved with parameters: rare, parse line by line
        peak_idx = peak_lines_before + list(range(last_param + 1, len(lines)))
        peak_text = "\n".join(lines[i] for i in peak_idx)
    else:
        peak_idx = None
        peak_text = "\n".join(lines[last_param + 1 :])
    try:
        mz, inten, extra = parse_columns(peak_text, allow_extra=True, comment_chars=_COMMENTS, comma_hint=_COMMA_HINT)
    except ColumnError as exc:
        k = exc.line if exc.line is not None else 0
        raise _Bad(exc.reason, peak_idx[k] if peak_idx else last_param + 1 + k) from None
    if mz.size == 0:
        raise _Bad("empty spectrum (no peak lines between BEGIN IONS and END IONS)")
    if extra:
        meta["peak_annotations"] = "\n".join(f"{float(mz[i])!r}\t{text}" for i, text in extra)
    check_metadata(meta)
    try:
        mz, inten32 = check_peaks(mz, inten, "ms")
    except _Bad as bad:
        k = first_line_of_value(peak_text, bad.index or 0, _COMMENTS)
        raise _Bad(bad.reason, peak_idx[k] if peak_idx else last_param + 1 + k) from None
    return mz, inten32, precursor, meta


def _title(body: str) -> str | None:
    m = re.search(r"^[ \t]*TITLE[ \t]*=(.*)$", body[:8192], re.I | re.M)
    return m.group(1).strip()[:80] if m else None


def read_mgf(path: str, policy: ErrorPolicy) -> Iterator[Spectrum]:
    """Read spectra from an MGF file (gzip-transparent), streaming.

    Parameters
    ----------
    path : str
        The file.
    policy : ErrorPolicy
        What to do with a bad record (raise, skip, warn) and where to count it.

    Yields
    ------
    Spectrum
        One per good record, in file order; ``kind="ms"``.

    Notes
    -----
    Bad records (no ``END IONS`` before the next ``BEGIN IONS`` or the end of the file, a peak line that
    is not two numbers, comma decimals, NaN, negative intensities, no peaks, a bad ``PEPMASS``) are reported
    with the file, the record index (0-based, counting ``BEGIN IONS`` lines), its ``TITLE`` and the line.
    A line outside the records that is neither ``KEY=value`` nor a comment, and an ``END IONS`` without
    ``BEGIN IONS``, are reported with their line and no record index.
    """
    header: dict[str, Any] = {}
    record = 0
    with open_text(path) as fh:
        for what, text, line, begin_line in _records(fh):
            if what == "outside":
                if not text.strip():
                    continue
                try:
                    lines = text.split("\n")
                    for k in _parse_params(lines, header, 0):
                        raise _Bad(
                            f"line {lines[k].strip()[:40]!r} is outside BEGIN IONS/END IONS and not 'KEY=value'", k
                        )
                except _Bad as bad:
                    policy.fail(bad.reason, line=line + (bad.line or 0))
                continue
            if what == "end":
                policy.fail("END IONS without a BEGIN IONS before it", line=line)
                continue
            if what == "cut":  # a cut gzip file: the records before it were read
                policy.fail(text, record=record if begin_line else None, line=line)
                continue
            index = record
            record += 1
            if what == "open":
                policy.fail(
                    "BEGIN IONS without END IONS (truncated record)", record=index, record_id=_title(text),
                    line=begin_line,
                )
                continue
            try:
                mz, inten, precursor, meta = _parse_record(text, header)
            except _Bad as bad:
                at = begin_line if bad.line is None else line + bad.line
                policy.fail(bad.reason, record=index, record_id=_title(text), line=at)
                continue
            policy.ok()
            yield Spectrum._trusted(mz, inten, "ms", precursor, meta)


_LABELS: dict[str, str] = {}


def _label(key: str, n: int) -> str:
    label = _LABELS.get(key)
    if label is None:
        label = MGF_KEYS.get(key, key.upper())
        bad = (
            not label
            or "=" in label
            or "\n" in label
            or label.strip() != label
            or label[0] in _COMMENTS
            or harmonize_key(label) != key
        )
        if bad:
            raise ValueError(
                f"spectrum {n}: metadata key {key!r} cannot be written to MGF so that it reads back the same "
                "(keys must be harmonised, non-empty, without '=', newlines or a leading '#;!/'); rename it"
            )
        _LABELS[key] = label
    return label


def write_mgf(spectra: Iterable[Spectrum], fh: IO[str]) -> int:
    """Write spectra as MGF text; every metadata field and every peak is written.

    ``name`` is written as ``TITLE``, the precursor as ``PEPMASS`` (``metadata["precursor_mz_text"]`` as
    written, if present, else the shortest round-trip ``repr``), other keys through
    :data:`~nps_id.spectra.metadata.MGF_KEYS` (else upper-cased); a multi-line value becomes one
    ``KEY=line`` per line, which the reader joins back. m/z values are written with ``repr`` and intensities
    with the shortest text that reads back to the same float32, so reading the file gives equal spectra.
    A spectrum without a precursor (GC-EI) gets no ``PEPMASS`` line.

    Parameters
    ----------
    spectra : iterable of Spectrum
        Mass spectra to write.
    fh : text file
        Open for writing.

    Returns
    -------
    int
        The number of spectra written.

    Raises
    ------
    ValueError
        For a spectrum that is not a mass spectrum, or a metadata key that could not be read back
        (containing ``=``, a newline, or not harmonised).
    """
    n = 0
    for s in spectra:
        if s.kind != "ms":
            raise ValueError(f"MGF holds mass spectra only; spectrum {n} is kind={s.kind!r}")
        lines = ["BEGIN IONS"]
        meta = dict(s.metadata)
        name = meta.pop("name", None)
        if name is not None:
            lines.extend(f"TITLE={v}" for v in str(name).split("\n"))
        raw_precursor = meta.pop("precursor_mz_text", None)
        if s.precursor_mz is not None or raw_precursor:
            lines.append(f"PEPMASS={raw_precursor or repr(float(s.precursor_mz))}")
        for key, value in meta.items():
            label = _label(key, n)
            lines.extend(f"{label}={v}" for v in str(value).split("\n"))
        mz_text = [repr(v) for v in s.x.tolist()]
        int_text = [str(v) for v in s.intensity]  # numpy float32 str: shortest text that round-trips
        lines.extend(f"{a}\t{b}" for a, b in zip(mz_text, int_text))
        lines.append("END IONS")
        fh.write("\n".join(lines))
        fh.write("\n\n")
        n += 1
    return n
