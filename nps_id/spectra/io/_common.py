"""What every reader shares: the error policy, the skip report and opening (gzip-transparent) files."""

from __future__ import annotations

import dataclasses
import gzip
import io
import logging
import os
from pathlib import Path
from typing import IO, Literal

from nps_id.errors import SpectrumFormatError

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
]

#: values that mean "no value" in a numeric field (kept as written in the metadata, never dropped)
MISSING_VALUES = frozenset({"na", "n/a", "nan", "none", "null", "-", "?"})


class RecordError(Exception):
    """A reader's record-level problem: the reason and, where known, the line within the record."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


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


def open_binary(path: str | os.PathLike) -> IO[bytes]:
    """Open a file for reading bytes, decompressing gzip (told by its magic bytes) transparently."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"No such file: {p}")
    if p.is_dir():
        raise IsADirectoryError(f"{p} is a folder; give a file (or use nps_id.spectra.io.find_spectrum_files)")
    return gzip.open(p, "rb") if _is_gzip(p) else open(p, "rb")


def open_text(path: str | os.PathLike) -> IO[str]:
    """Open a file as UTF-8 text (undecodable bytes escaped, never dropped), gzip-transparent."""
    return io.TextIOWrapper(open_binary(path), encoding="utf-8", errors="surrogateescape", newline=None)


def strip_gz(path: str | os.PathLike) -> str:
    """Return the file name without a trailing ``.gz``, lower-cased (for telling the format)."""
    name = Path(path).name.lower()
    return name[:-3] if name.endswith(".gz") else name
