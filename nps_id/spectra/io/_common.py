"""What every reader shares: the error policy, the skip report and opening (gzip-transparent) files."""

from __future__ import annotations

import dataclasses
import gzip
import io
import logging
import os
import zlib
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np

from nps_id.errors import SpectrumFormatError
from nps_id.spectra.spectrum import MZ_MAX, peak_problem

__all__ = [
    "OnError",
    "ReadReport",
    "Skipped",
    "ErrorPolicy",
    "RecordError",
    "MISSING_VALUES",
    "add_value",
    "open_text",
    "open_binary",
    "truncation",
    "check_peaks",
    "check_metadata",
    "check_precursor",
]

#: values that mean "no value" in a numeric field (kept as written in the metadata, never dropped)
MISSING_VALUES = frozenset({"na", "n/a", "nan", "none", "null", "-", "?"})


class RecordError(Exception):
    """A reader's record-level problem: the reason and, where known, the line within the record.

    `index` is, for a bad peak, the 0-based index of the first bad point (for readers that map it to a line).
    """

    def __init__(self, reason: str, line: int | None = None, index: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line
        self.index = index


def check_peaks(x: np.ndarray, intensity: np.ndarray, kind: str = "ms") -> tuple[np.ndarray, np.ndarray]:
    """The one check every reader applies to a record's points: bounds, then sorted by x.

    Returns (x as contiguous float64, intensity as float32), sorted by x (stable). Raises :class:`RecordError`
    naming the first bad point (its index in `index`) when a value is NaN/inf, beyond float32, a negative
    mass-spectrum intensity, an m/z outside ``0 < m/z <= MZ_MAX`` or a wavenumber beyond ``WAVENUMBER_MAX``
    (see :func:`nps_id.spectra.spectrum.peak_problem`).
    """
    x = np.asarray(x, dtype=np.float64)
    problem = peak_problem(x, intensity, kind)
    if problem is not None:
        raise RecordError(problem[0], index=problem[1])
    y32 = np.asarray(intensity).astype(np.float32, copy=False)
    if x.size > 1 and (np.diff(x) < 0).any():
        order = np.argsort(x, kind="stable")
        x, y32 = x[order], y32[order]
    return np.ascontiguousarray(x), np.ascontiguousarray(y32)


def check_precursor(value: float, raw: str) -> float | None:
    """A precursor m/z read from a file: ``None`` for zero (no precursor), else it must be in ``(0, MZ_MAX]``.

    MoNA writes ``PrecursorMZ: 0`` on GC-EI records: zero means "no precursor" (as the technique router reads
    it); the reader keeps the text as written in ``metadata["precursor_mz_text"]``. A negative, NaN/inf or
    absurdly large value is a bad record.
    """
    if value == 0:
        return None
    if not np.isfinite(value) or value < 0:
        raise RecordError(f"precursor m/z {raw!r} is not a positive number")
    if value > MZ_MAX:
        raise RecordError(f"precursor m/z {raw!r} is beyond {MZ_MAX:g}, the largest m/z accepted (damaged value?)")
    return float(value)


def check_metadata(meta: dict[str, Any]) -> None:
    """Reject a record whose metadata hold a NUL character (a sign of a damaged file; HDF5 cannot store it).

    The record is reported (a named error, or a counted skip) rather than changed: nothing a user gave is
    silently altered. The message names the key and says how to repair the file.
    """
    for key, value in meta.items():
        if "\x00" in key or (isinstance(value, str) and "\x00" in value):
            raise RecordError(
                f"metadata {key.replace(chr(0), '')!r} holds a NUL character (\\x00), a sign of a damaged file; "
                "remove the NUL bytes (e.g. tr -d '\\000') and read the file again"
            )


def add_value(meta: dict, key: str, value: str) -> None:
    """Set ``meta[key] = value``; a repeated key (NIST 'Synon:') keeps every value, one per line."""
    if key in meta:
        meta[key] = f"{meta[key]}\n{value}"
    else:
        meta[key] = value

logger = logging.getLogger("nps_id.spectra.io")

OnError = Literal["raise", "skip", "warn"]


@dataclasses.dataclass(frozen=True)
class Skipped:
    """One record that was not read: where it is and why."""

    path: str
    record: int | None
    record_id: str | None
    line: int | None
    reason: str


@dataclasses.dataclass
class ReadReport:
    """Counts of what a read produced: spectra read and records skipped, with reasons.

    Pass one to :func:`nps_id.spectra.load_spectra` (``report=``) to collect them; one report may
    gather several files.
    """

    n_read: int = 0
    skipped: list[Skipped] = dataclasses.field(default_factory=list)
    files: list[str] = dataclasses.field(default_factory=list)

    @property
    def n_skipped(self) -> int:
        """Number of skipped records."""
        return len(self.skipped)

    def reasons(self) -> dict[str, int]:
        """Skip counts by reason (the reason text without the location)."""
        out: dict[str, int] = {}
        for s in self.skipped:
            out[s.reason] = out.get(s.reason, 0) + 1
        return out

    def summary(self) -> str:
        """One line: files, spectra read, skipped with the most common reasons."""
        text = f"{len(self.files)} file(s), {self.n_read} spectra read, {self.n_skipped} skipped"
        if self.skipped:
            top = sorted(self.reasons().items(), key=lambda kv: -kv[1])[:5]
            text += " (" + "; ".join(f"{n} x {r}" for r, n in top) + ")"
        return text


class ErrorPolicy:
    """Applies ``on_error`` for one file: raise, or count (and optionally log) and go on."""

    def __init__(self, path: str | os.PathLike, on_error: OnError, report: ReadReport | None) -> None:
        if on_error not in ("raise", "skip", "warn"):
            raise ValueError(f"on_error must be 'raise', 'skip' or 'warn', got {on_error!r}")
        self.path = str(path)
        self.on_error = on_error
        self.report = report if report is not None else ReadReport()
        self.report.files.append(self.path)

    def fail(
        self, reason: str, *, record: int | None = None, record_id: str | None = None, line: int | None = None
    ) -> None:
        """Handle one bad record: raise :class:`SpectrumFormatError`, or record the skip."""
        if self.on_error == "raise":
            raise SpectrumFormatError(reason, path=self.path, record=record, record_id=record_id, line=line)
        self.report.skipped.append(Skipped(self.path, record, record_id, line, reason))
        if self.on_error == "warn":
            logger.warning(
                "%s", SpectrumFormatError(reason, path=self.path, record=record, record_id=record_id, line=line)
            )

    def ok(self, n: int = 1) -> None:
        """Count `n` spectra read."""
        self.report.n_read += n


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


_BOM = b"\xef\xbb\xbf"

#: the skip reason of a gzip file cut off (or damaged) in the middle; readers add what was lost
TRUNCATED = (
    "the gzip data end early or are damaged ({error}): the file was cut off (interrupted download or copy?); "
    "the records before this point were read, this one and any after it are lost; copy the file again"
)


class _GuardedGzip(io.RawIOBase):
    """A gzip stream that ends (instead of raising) where the compressed data are cut off or damaged.

    The data decompressed before the cut are delivered; `truncated` then says what went wrong, for the reader
    to report as a bad record after the complete ones (as the mzML reader does for a cut file).
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._gz = gzip.open(path, "rb")
        self.truncated: str | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        if self.truncated is not None:
            return 0
        try:
            data = self._gz.read1(len(b))
        except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as exc:
            self.truncated = TRUNCATED.format(error=f"{type(exc).__name__}: {exc}")
            return 0
        n = len(data)
        b[:n] = data
        return n

    def close(self) -> None:
        try:
            self._gz.close()
        finally:
            super().close()


def truncation(fh: Any) -> str | None:
    """The reason a file opened by :func:`open_binary` / :func:`open_text` ended early (a cut gzip), or None."""
    obj = fh
    for _ in range(3):  # text wrapper -> buffered reader -> guarded gzip
        if isinstance(obj, _GuardedGzip):
            return obj.truncated
        obj = getattr(obj, "buffer", None) or getattr(obj, "raw", None)
    return None


def open_binary(path: str | os.PathLike, *, raw: bool = False) -> IO[bytes]:
    """Open a file for reading bytes, decompressing gzip (told by its magic bytes) transparently.

    For the text formats (the default) a leading UTF-8 byte-order mark is skipped, and a gzip stream cut off
    in the middle ends where the data end instead of raising (:func:`truncation` then says so, for the
    reader to count). ``raw=True`` gives the plain, seekable stream (for mzML, whose parser seeks and handles
    both itself).
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"No such file: {p}")
    if p.is_dir():
        raise IsADirectoryError(f"{p} is a folder; give a file (or use nps_id.spectra.io.find_spectrum_files)")
    if raw:
        return gzip.open(p, "rb") if _is_gzip(p) else open(p, "rb")
    fh: io.BufferedReader = (
        io.BufferedReader(_GuardedGzip(p), buffer_size=1 << 20) if _is_gzip(p) else open(p, "rb")
    )
    if fh.peek(3)[:3] == _BOM:
        fh.read(3)
    return fh


def open_text(path: str | os.PathLike) -> IO[str]:
    """Open a file as UTF-8 text (undecodable bytes escaped, never dropped; a byte-order mark skipped),
    gzip-transparent."""
    return io.TextIOWrapper(open_binary(path), encoding="utf-8", errors="surrogateescape", newline=None)


def strip_gz(path: str | os.PathLike) -> str:
    """Return the file name without a trailing ``.gz``, lower-cased (for telling the format)."""
    name = Path(path).name.lower()
    return name[:-3] if name.endswith(".gz") else name
