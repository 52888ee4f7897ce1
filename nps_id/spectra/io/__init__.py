"""Reading and writing spectra: one entry point, the format told by the file extension.

========  =========================  ======  ======
format    extensions                 read    write
========  =========================  ======  ======
msp       .msp                       yes     yes
mgf       .mgf                       yes     yes
mzml      .mzml                      yes     no
jcamp     .jdx, .dx, .jcamp          yes     no
csv       .csv, .tsv, .txt           yes     no
========  =========================  ======  ======

Any of them may be gzip-compressed (``.gz`` after the extension, or told by the file's first bytes).
"""

from __future__ import annotations

import gzip
import importlib
import logging

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from nps_id.errors import UnknownFormatError
from nps_id.spectra.io._common import ErrorPolicy, OnError, ReadReport, Skipped, strip_gz
from nps_id.spectra.spectrum import Spectrum

__all__ = [
    "FORMATS",
    "ReadReport",
    "Skipped",
    "detect_format",
    "find_spectrum_files",
    "iter_spectra",
    "load_spectra",
    "save_spectra",
]

logger = logging.getLogger(__name__)

#: format name -> (module, reader function, writer function or None)
FORMATS: dict[str, tuple[str, str, str | None]] = {
    "msp": ("nps_id.spectra.io.msp", "read_msp", "write_msp"),
    "mgf": ("nps_id.spectra.io.mgf", "read_mgf", "write_mgf"),
    "mzml": ("nps_id.spectra.io.mzml", "read_mzml", None),
    "jcamp": ("nps_id.spectra.io.jcampdx", "read_jcamp", None),
    "csv": ("nps_id.spectra.io.csv", "read_csv", None),
}

_EXTENSIONS = {
    ".msp": "msp",
    ".mgf": "mgf",
    ".mzml": "mzml",
    ".jdx": "jcamp",
    ".dx": "jcamp",
    ".jcamp": "jcamp",
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
}


def detect_format(path: str | os.PathLike) -> str:
    """Tell a file's format from its extension (a trailing ``.gz`` ignored).

    Raises
    ------
    UnknownFormatError
        If the extension is not one nps_id reads; the message lists the known ones.
    """
    suffix = Path(strip_gz(path)).suffix
    try:
        return _EXTENSIONS[suffix]
    except KeyError:
        known = ", ".join(sorted(_EXTENSIONS))
        raise UnknownFormatError(
            f"{path}: cannot tell the spectrum format from the extension {suffix or '(none)'!r}; "
            f"known extensions: {known} (optionally .gz); or pass format= one of {sorted(FORMATS)}"
        ) from None


def _function(fmt: str, which: int):
    try:
        entry = FORMATS[fmt]
    except KeyError:
        raise UnknownFormatError(f"unknown format {fmt!r}; choose one of {sorted(FORMATS)}") from None
    if entry[which] is None:
        raise UnknownFormatError(f"nps_id can read {fmt!r} but not write it; write MSP or MGF instead")
    return getattr(importlib.import_module(entry[0]), entry[which])


def iter_spectra(
    path: str | os.PathLike,
    format: str | None = None,
    on_error: OnError = "raise",
    report: ReadReport | None = None,
    **options: Any,
) -> Iterator[Spectrum]:
    """Read spectra from a file one by one (streaming).

    Parameters
    ----------
    path : str or path-like
        The file; ``.gz`` compression is handled transparently.
    format : {"msp", "mgf", "mzml", "jcamp", "csv"}, optional
        Override the format told by the extension.
    on_error : {"raise", "skip", "warn"}, default "raise"
        On a bad record: raise :class:`~nps_id.errors.SpectrumFormatError` naming the file, record and line;
        or skip it and count it in `report` (``"warn"`` also logs a warning for it).
    report : ReadReport, optional
        Collects the counts of spectra read and records skipped (with reasons).
    **options
        Passed to the format's reader (e.g. ``kind="raman"`` for CSV).

    Yields
    ------
    Spectrum
    """
    fmt = format or detect_format(path)
    reader = _function(fmt, 1)
    policy = ErrorPolicy(path, on_error, report)
    yield from reader(str(path), policy, **options)


def load_spectra(
    path: str | os.PathLike,
    format: str | None = None,
    on_error: OnError = "raise",
    report: ReadReport | None = None,
    **options: Any,
) -> list[Spectrum]:
    """Read all spectra of a file into a list; see :func:`iter_spectra` for the parameters.

    Examples
    --------
    >>> from nps_id.spectra import load_spectra, ReadReport  # doctest: +SKIP
    >>> report = ReadReport()  # doctest: +SKIP
    >>> spectra = load_spectra("library.msp.gz", on_error="skip", report=report)  # doctest: +SKIP
    >>> print(report.summary())  # doctest: +SKIP
    """
    return list(iter_spectra(path, format=format, on_error=on_error, report=report, **options))


def save_spectra(spectra: Iterable[Spectrum], path: str | os.PathLike, format: str | None = None) -> int:
    """Write spectra to an MSP or MGF file (gzip-compressed if the name ends in ``.gz``).

    Returns
    -------
    int
        The number of spectra written.
    """
    fmt = format or detect_format(path)
    writer = _function(fmt, 2)
    if str(path).lower().endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8", newline="\n") as fh:
            return writer(spectra, fh)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        return writer(spectra, fh)


def find_spectrum_files(path: str | os.PathLike) -> list[Path]:
    """Return the readable spectrum files under a folder (sorted), or ``[path]`` for a file.

    GC-MS runs saved as Agilent ``.D`` folders are not searched inside (their ``tic_front.csv`` and the like are
    not spectra); each one left out is logged.
    """
    from nps_id.runs.io import run_format

    p = Path(path)
    if p.is_file():
        return [p]
    if not p.is_dir():
        raise FileNotFoundError(f"No such file or folder: {p}")
    out: list[Path] = []
    for root, dirs, files in os.walk(p):
        here = Path(root)
        if run_format(here) == "agilent":
            logger.warning("%s: a GC-MS run, not a spectrum file; left out", here)
            dirs.clear()
            continue
        out.extend(here / f for f in files if Path(strip_gz(f)).suffix in _EXTENSIONS and (here / f).is_file())
    return sorted(out)


