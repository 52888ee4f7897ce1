"""NIST MSP text format: a fast, streaming reader and a writer.

A record is ``Key: value`` lines, a ``Num Peaks: N`` line, then N peaks (``m/z intensity`` per line; NIST's
``m/z intensity; m/z intensity;`` and quoted peak annotations are accepted too), and a blank line.

The reader works on large blocks of the file at once: records are split with one regular expression, the
peaks of all records in a block are parsed by one :func:`numpy.fromstring` call and checked with array
operations (one ``m/z intensity`` pair per line, N lines per record). Only when a block holds a bad
record does it fall back to a record-by-record parse that names the record and line at fault.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterable, Iterator
from typing import IO, Any

import numpy as np

from nps_id.spectra.io._common import (
    MISSING_VALUES,
    ErrorPolicy,
    RecordError as _Bad,
    add_value,
    check_metadata,
    check_peaks,
    check_precursor,
    open_binary,
    truncation,
)
from nps_id.spectra.metadata import MSP_KEYS, harmonize_key
from nps_id.spectra.spectrum import Spectrum, bad_peaks

__all__ = ["read_msp", "write_msp"]

logger = logging.getLogger(__name__)

_BLOCK = 32 << 20  # bytes read per block
_RECORD_SEP = re.compile(rb"\n[ \t]*\n[ \t\n]*")
_NUM_PEAKS = re.compile(rb"^[ \t]*num[ \t]*peaks[ \t]*:[ \t]*(.*?)[ \t]*$", re.I | re.M)
_ANNOTATION = re.compile(rb'"[^"\n]*"')
_PEAK_SPLIT = re.compile(rb"[ \t;:]+")
_COMMA_DECIMAL = re.compile(rb"\d,\d")


def _prefetch(fh: IO[bytes]) -> Iterator[bytes]:
    """Yield `_BLOCK`-sized reads, the next one read (and decompressed) in a thread meanwhile."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(fh.read, _BLOCK)
        while True:
            data = future.result()
            if not data:
                return
            future = pool.submit(fh.read, _BLOCK)
            yield data


def _blocks(fh: IO[bytes], ended_early: list) -> Iterator[tuple[bytes, int]]:
    """Yield (text, first line number) blocks of whole records; ``\\r\\n`` normalised to ``\\n``.

    If the file ends early (a cut gzip file), the text after the last complete record is not yielded:
    `ended_early` gets (reason, that text, its first line) instead, for the reader to report.
    """
    pending = b""
    line = 1
    for data in _prefetch(fh):
        buf = pending + data
        if b"\r" in buf:
            keep_cr = buf.endswith(b"\r")  # a \r\n split between reads
            buf = buf.replace(b"\r\n", b"\n")
            if keep_cr:
                buf = buf[:-1]
            buf = buf.replace(b"\r", b"\n")
            if keep_cr:
                buf += b"\r"
        cut = buf.rfind(b"\n\n")
        if cut < 0:
            pending = buf
            continue
        block, pending = buf[: cut + 2], buf[cut + 2 :]
        yield block, line
        line += block.count(b"\n")
    reason = truncation(fh)
    if reason is not None:
        ended_early.append((reason, pending.replace(b"\r", b"\n"), line))
    elif pending.strip():
        yield pending.replace(b"\r", b"\n"), line


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _parse_header(text: str) -> tuple[dict[str, Any], float | None]:
    """Parse the ``Key: value`` lines of one record (the slow, checking path)."""
    meta: dict[str, Any] = {}
    for k, line in enumerate(text.split("\n")):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        if not sep or not key.strip():
            raise _Bad(f"header line {line[:60]!r} is not 'Key: value'", k)
        add_value(meta, harmonize_key(key), value.strip())
    return meta, _pop_precursor(meta)


def _pop_precursor(meta: dict[str, Any]) -> float | None:
    raw = meta.pop("precursor_mz", None)
    if raw is None or raw == "":
        return None
    if raw.lower() in MISSING_VALUES:  # kept as written, so a written file says the same
        meta["precursor_mz_text"] = raw
        return None
    try:
        value = float(raw.split()[0])
    except (ValueError, IndexError):
        raise _Bad(f"precursor m/z {raw!r} is not a number") from None
    precursor = check_precursor(value, raw)
    # keep what follows the number (e.g. an intensity), or a zero meaning "none", as written: nothing dropped
    if precursor is None or raw.split()[0] != raw:
        meta["precursor_mz_text"] = raw
    return precursor


def _parse_peaks(block: bytes, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Parse the peak lines of one record, checking everything (the slow path)."""
    pairs: list[bytes] = []
    for k, line in enumerate(block.split(b"\n")):
        body = _ANNOTATION.sub(b" ", line) if b'"' in line else line
        if _COMMA_DECIMAL.search(body):
            raise _Bad(f"peak line {_decode(line[:40])!r} uses a comma as decimal separator; use '.'", k)
        toks = [t for t in _PEAK_SPLIT.split(body.strip()) if t]
        if len(toks) % 2:
            raise _Bad(f"peak line {_decode(line[:40])!r} does not hold m/z-intensity pairs", k)
        for t in toks:
            try:
                float(t)
            except ValueError:
                raise _Bad(f"peak value {_decode(t[:20])!r} is not a number", k) from None
        pairs.extend(toks)
    if len(pairs) != 2 * n:
        raise _Bad(f"'Num Peaks: {n}' but {len(pairs) // 2} peaks follow")
    values = np.array([float(t) for t in pairs], dtype=np.float64).reshape(-1, 2)
    return values[:, 0], values[:, 1]


def _fast_check(peaks: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check all records' peaks at once: (m/z, float32 intensity, per-record ok mask).

    A record is ok when its peaks are within the bounds every reader applies (:func:`bad_peaks`) and its
    m/z sorted; the others go through :func:`check_peaks` (which sorts, or names the problem).
    """
    mz = np.ascontiguousarray(peaks[:, 0])
    with np.errstate(over="ignore", invalid="ignore"):  # out-of-range values are flagged just below
        inten = peaks[:, 1].astype(np.float32)
    record = np.repeat(np.arange(counts.size), counts)
    bad_peak = bad_peaks(mz, peaks[:, 1], "ms")
    bad = np.bincount(record[bad_peak], minlength=counts.size) > 0
    if mz.size > 1:
        down = np.flatnonzero(np.diff(mz) < 0) + 1  # peak k smaller than peak k-1
        same = record[down] == record[down - 1]
        bad[record[down[same]]] = True
    return mz, inten, ~bad


def _fast_peaks(blocks: list[bytes], counts: np.ndarray) -> np.ndarray | None:
    """Parse all records' peaks at once; return an (sum(counts), 2) array, or None if any record is off."""
    if not blocks:
        return np.empty((0, 2))
    joined = b"\n".join(blocks)
    if b'"' in joined or b";" in joined or b":" in joined or b"," in joined:
        return None
    lines_per_block = np.fromiter((b.count(b"\n") + 1 for b in blocks), dtype=np.int64, count=len(blocks))
    if not np.array_equal(lines_per_block, counts):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            flat = np.fromstring(joined, dtype=np.float64, sep=" ")  # noqa: NPY201 - text mode is supported
        except (ValueError, DeprecationWarning):
            return None
    total = int(counts.sum())
    if flat.size != 2 * total:
        return None
    # exactly two numbers on every line: count token starts per line
    arr = np.frombuffer(joined, dtype=np.uint8)
    space = (arr == 32) | (arr == 9)
    newline = arr == 10
    word = ~(space | newline)
    starts = np.flatnonzero(word & np.concatenate(([True], ~word[:-1])))
    line_of_start = np.searchsorted(np.flatnonzero(newline), starts)
    if not (np.bincount(line_of_start, minlength=total) == 2).all():
        return None
    return flat.reshape(-1, 2)


def read_msp(path: str, policy: ErrorPolicy) -> Iterator[Spectrum]:
    """Read spectra from an MSP file (gzip-transparent), streaming block by block.

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
    """
    record = 0
    cut: list[tuple[str, bytes, int]] = []
    with open_binary(path) as fh:
        for text, first_line in _blocks(fh, cut):
            parts = _RECORD_SEP.split(text)
            # line numbers of record starts, computed only if something fails
            starts: list[int] | None = None

            def where(i: int) -> int:
                nonlocal starts
                if starts is None:
                    starts = [m.end() for m in _RECORD_SEP.finditer(text)]
                    lead = len(text) - len(text.lstrip(b"\n \t"))
                    starts.insert(0, lead)
                    starts = [first_line + text.count(b"\n", 0, s) for s in starts]
                    if not parts[0].strip():
                        starts.pop(0)
                return starts[i]

            recs = [p for p in parts if p.strip()]
            yield from _read_records(recs, record, policy, where)
            record += len(recs)
    if cut:  # a cut gzip file: the records before the cut are read; the cut one (or the cut itself) counted
        reason, rest, line = cut[0]
        lead = len(rest) - len(rest.lstrip(b"\n \t"))
        name = _record_name(rest) if rest.strip() else None
        policy.fail(reason, record=record, record_id=name, line=line + rest.count(b"\n", 0, lead))


def _split_record(rec: bytes) -> tuple[bytes, int, bytes]:
    """Return (header bytes, Num Peaks value, peak bytes) of one record."""
    i = rec.find(b"Num Peaks:")
    if i < 0 or (i > 0 and rec[i - 1] != 10):
        m = _NUM_PEAKS.search(rec)
        if m is None:
            raise _Bad("no 'Num Peaks:' line (truncated record, or not an MSP file?)")
        head, raw_n, end = rec[: m.start()], m.group(1), m.end()
    else:
        end = rec.find(b"\n", i)
        end = len(rec) if end < 0 else end
        head, raw_n = rec[:i], rec[i + 10 : end]
    try:
        n = int(raw_n)
    except ValueError:
        raise _Bad(f"'Num Peaks: {_decode(raw_n.strip()[:20])}' is not a whole number") from None
    if n <= 0:
        raise _Bad(f"empty spectrum ('Num Peaks: {n}')")
    body = rec[end + 1 :].strip(b"\n")
    if n > (len(body) + 1) // 2:  # each peak takes at least two characters ('1 1' with a separator)
        shown = _decode(raw_n.strip()[:24])
        raise _Bad(f"'Num Peaks: {shown}' cannot be right: the {len(body)} bytes of peak lines hold fewer peaks")
    return head.rstrip(b"\n"), n, body


def _read_records(recs: list[bytes], first: int, policy: ErrorPolicy, where) -> Iterator[Spectrum]:
    heads: list[bytes] = []
    blocks: list[bytes] = []
    counts: list[int] = []
    index: list[int] = []
    for i, rec in enumerate(recs):
        try:
            head, n, block = _split_record(rec)
        except _Bad as bad:
            policy.fail(bad.reason, record=first + i, record_id=_record_name(rec), line=where(i))
            continue
        heads.append(head)
        blocks.append(block)
        counts.append(n)
        index.append(i)
    metas = _fast_headers(heads)
    peaks = _fast_peaks(blocks, np.asarray(counts, dtype=np.int64))
    checked = None
    if peaks is not None:
        checked = _fast_check(peaks, np.asarray(counts, dtype=np.int64))
    offset = 0
    for j, i in enumerate(index):
        n = counts[j]
        try:
            try:
                if metas is None:
                    meta, precursor = _parse_header(_decode(heads[j]))
                else:
                    meta = metas[j]
                    precursor = _pop_precursor(meta)
                if b"\x00" in heads[j]:
                    check_metadata(meta)
            except _Bad as bad:
                raise _Bad(bad.reason, bad.line) from None
            try:
                if checked is not None and checked[2][j]:
                    mz, inten = checked[0][offset : offset + n], checked[1][offset : offset + n]
                else:
                    if peaks is None:
                        mz, inten = _parse_peaks(blocks[j], n)
                    else:
                        mz, inten = peaks[offset : offset + n, 0], peaks[offset : offset + n, 1]
                    mz, inten = check_peaks(mz, inten, "ms")
            except _Bad as bad:
                peak_line = None if bad.line is None else heads[j].count(b"\n") + 2 + bad.line
                raise _Bad(bad.reason, peak_line) from None
        except _Bad as bad:
            policy.fail(
                bad.reason, record=first + i, record_id=_record_name(recs[i]), line=where(i) + (bad.line or 0)
            )
            offset += n
            continue
        offset += n
        policy.ok()
        yield Spectrum._trusted(mz, inten, "ms", precursor, meta)


_KEYS: dict[str, str] = {}


def _fast_headers(heads: list[bytes]) -> list[dict[str, Any]] | None:
    """Parse all records' headers at once; None if any header needs the checking path."""
    if not heads:
        return []
    try:
        text = b"\n".join(heads).decode("utf-8")
    except UnicodeDecodeError:
        return None
    parts = [line.partition(":") for line in text.split("\n")]
    keys = _KEYS
    out: list[dict[str, Any]] = []
    pos = 0
    for head in heads:
        stop = pos + head.count(b"\n") + 1
        meta: dict[str, Any] = {}
        for key, sep, value in parts[pos:stop]:
            canon = keys.get(key)
            if canon is None or not sep:
                if not sep or not key.strip():
                    return None  # not 'Key: value': the checking path names the line
                canon = keys.setdefault(key, harmonize_key(key))
            if canon in meta:
                add_value(meta, canon, value.strip())
            else:
                meta[canon] = value.strip()
        out.append(meta)
        pos = stop
    return out


def _record_name(rec: bytes) -> str | None:
    m = re.search(rb"^[ \t]*name[ \t]*:[ \t]*(.*?)[ \t]*$", rec[:4096], re.I | re.M)
    return _decode(m.group(1))[:80] if m else None


def write_msp(spectra: Iterable[Spectrum], fh: IO[str]) -> int:
    """Write spectra as MSP text; every metadata field and every peak is written.

    m/z values are written with Python's shortest round-trip ``repr`` and intensities with the
    shortest text that reads back to the same float32, so reading the file gives equal spectra.

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
    """
    n = 0
    for s in spectra:
        if s.kind != "ms":
            raise ValueError(f"MSP holds mass spectra only; spectrum {n} is kind={s.kind!r}")
        lines = []
        meta = dict(s.metadata)
        name = meta.pop("name", None)
        if name is not None:
            lines.extend(f"NAME: {v}" for v in str(name).split("\n"))
        raw_precursor = meta.pop("precursor_mz_text", None)
        if s.precursor_mz is not None or raw_precursor:
            lines.append(f"PRECURSORMZ: {raw_precursor or repr(float(s.precursor_mz))}")
        for key, value in meta.items():
            label = MSP_KEYS.get(key, key.upper())
            lines.extend(f"{label}: {v}" for v in str(value).split("\n"))
        lines.append(f"Num Peaks: {s.n_peaks}")
        mz_text = [repr(v) for v in s.x.tolist()]
        int_text = [str(v) for v in s.intensity]  # numpy float32 str: shortest text that round-trips
        lines.extend(f"{a}\t{b}" for a, b in zip(mz_text, int_text))
        fh.write("\n".join(lines))
        fh.write("\n\n")
        n += 1
    return n
