"""Count the records of a spectrum file quickly, from its own markers, without parsing it (for progress bars)."""

from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = ["count_records"]

#: one record starts (or is sized) at each match, per format
_MARKERS = {
    "msp": re.compile(rb"(?im)^[ \t]*num[ \t]*peaks[ \t]*:"),
    "mgf": re.compile(rb"(?im)^[ \t]*BEGIN IONS[ \t]*\r?$"),
    "mzml": re.compile(rb"<spectrum\s"),
    "jcamp": re.compile(rb"(?m)^##TITLE="),
}
_CHUNK = 1 << 23


def count_records(path: str | os.PathLike) -> int | None:
    """An estimate of the records in the spectrum file `path` (``.gz`` read through), or None if unknown.

    MSP: ``Num Peaks`` lines; MGF: ``BEGIN IONS`` lines; mzML: ``<spectrum`` elements; JCAMP-DX: ``##TITLE=`` lines
    (a linked block counts each part); CSV: one. A file that cannot be read (or a cut gzip) gives None: the
    readers report it properly.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "two.msp"
    >>> _ = p.write_text("Name: a\\nNum Peaks: 1\\n41 1\\n\\nNAME: b\\nnum peaks: 1\\n43 2\\n")
    >>> count_records(p)
    2
    """
    from nps_id.spectra.io import detect_format
    from nps_id.spectra.io._common import _is_gzip

    p = Path(path)
    try:
        fmt = detect_format(p)
    except Exception:  # noqa: BLE001 - unknown extension: the reader says why
        return None
    if not p.is_file():
        return None
    if fmt == "csv":
        return 1
    marker = _MARKERS.get(fmt)
    if marker is None:
        return None
    try:
        import gzip

        opener = gzip.open if _is_gzip(p) else open
        n, carry = 0, b""
        with opener(p, "rb") as fh:
            while True:
                block = fh.read(_CHUNK)
                if not block:
                    break
                text = carry + block
                cut = text.rfind(b"\n") + 1  # whole lines only; the rest waits for the next block
                n += len(marker.findall(text, 0, cut))
                carry = text[cut:]
        return n + len(marker.findall(carry))
    except (OSError, EOFError, ValueError):
        return None
