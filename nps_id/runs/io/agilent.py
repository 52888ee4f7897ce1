"""Agilent ChemStation / MassHunter GC-MS ``.D`` folders, read with rainbow-api.

rainbow (``rainbow.read``) parses the folder's MS files into a scans x m/z matrix on a nominal-mass grid. Before
it runs, each ChemStation ``.ms`` file (``data.ms``) is walked record by record here, reading only the record
headers, so that a damaged or truncated file is refused with the file and the scan named: rainbow itself reads a
cut file partly or fails with a bare ``struct.error``.

The ChemStation MS file layout used for that check (big-endian unless noted): the file starts with
``01 32 00 00``; the scan count is at ``0x142`` (little-endian 16-bit) for GC files (``0x116``, 32-bit, for LC
"MSD Spectral File"s); the 16-bit word at ``0x10A`` gives the first scan record (``2 * word - 2``). A scan
record is its length in 16-bit words, the retention time in ms (32-bit at +2), the number of (m/z, abundance)
pairs (16-bit at +12), then four bytes a pair and a 10-byte tail, ``28 + 4 * pairs`` bytes in all. After the
records, a file may hold a 12-byte-per-scan index.
"""

from __future__ import annotations

import logging
import struct
from pathlib import Path
from typing import Any

import numpy as np

from nps_id.errors import InvalidRunError, RunFormatError
from nps_id.runs.run import Run

__all__ = ["read_agilent", "check_ms_file"]

logger = logging.getLogger(__name__)

_MAGIC = 0x01320000
_INDEX_BYTES = 12  # per scan, after the records


def check_ms_file(path: str | Path) -> int:
    """Walk the scan records of a ChemStation ``.ms`` file; return the scan count.

    Files that do not start with the ChemStation MS header are not checked (0 is returned): rainbow decides
    what they are.

    Raises
    ------
    RunFormatError
        If the header or a scan record is cut or inconsistent, naming the file and the scan.
    """
    path = Path(path)
    data = path.read_bytes()
    size = len(data)
    where = str(path)
    if size < 0x144:
        raise RunFormatError(f"the file is truncated: {size} bytes, shorter than the MS file header", path=where)
    if struct.unpack_from(">I", data, 0)[0] != _MAGIC:
        return 0
    kind = data[5 : 5 + data[4]].decode("latin-1", "replace")
    if kind == "MSD Spectral File":
        n_scans = struct.unpack_from(">I", data, 0x116)[0]
    else:
        n_scans = struct.unpack_from("<H", data, 0x142)[0]
    offset = struct.unpack_from(">H", data, 0x10A)[0] * 2 - 2
    if n_scans == 0:
        raise RunFormatError("the MS file holds no scans (empty acquisition?)", path=where)
    if offset < 0x144 or offset > size:
        raise RunFormatError(f"damaged header: the first scan would start at byte {offset} of {size}", path=where)
    last_time = -1
    for i in range(n_scans):
        if offset + 14 > size:
            raise RunFormatError(
                f"the file is truncated: scan {i + 1} of {n_scans} starts at byte {offset} but the file ends at {size}",
                path=where,
            )
        words, time_ms = struct.unpack_from(">HI", data, offset)
        pairs = struct.unpack_from(">H", data, offset + 12)[0]
        length = 28 + 4 * pairs
        if words * 2 != length:
            raise RunFormatError(
                f"damaged scan {i + 1} of {n_scans} at byte {offset}: its record length ({words * 2} bytes) does not "
                f"match its {pairs} m/z values ({length} bytes)",
                path=where,
            )
        if time_ms <= last_time:
            raise RunFormatError(
                f"damaged scan {i + 1} of {n_scans}: retention time {time_ms} ms is not after the previous scan's",
                path=where,
            )
        if offset + length > size:
            raise RunFormatError(
                f"the file is truncated: scan {i + 1} of {n_scans} is cut ({size - offset} of {length} bytes)",
                path=where,
            )
        last_time = time_ms
        offset += length
    tail = size - offset
    if 0 < tail < _INDEX_BYTES * n_scans:
        raise RunFormatError(
            f"the file is truncated: the scan index after the {n_scans} scans is cut "
            f"({tail} of {_INDEX_BYTES * n_scans} bytes)",
            path=where,
        )
    return n_scans


def _ms_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".ms")


def _pick_scan_file(datafiles: list[Any]) -> Any | None:
    """The full-scan MS data file (not SIM); the one with the most m/z values when there are several."""
    scans = [
        f
        for f in datafiles
        if f.detector == "MS" and str(f.metadata.get("acquisition_mode", "Scan")).lower() != "sim"
    ]
    if not scans:
        return None
    return max(scans, key=lambda f: (np.asarray(f.ylabels).size, f.name.lower() == "data.ms"))


def read_agilent(path: str | Path) -> Run:
    """Read the full-scan MS data of an Agilent ``.D`` folder.

    Parameters
    ----------
    path : str or Path
        The ``.D`` folder.

    Returns
    -------
    Run
        Nominal-mass m/z axis as rainbow bins it; ``metadata`` holds ``vendor``, ``instrument``, ``method``,
        ``date``, ``acquisition_mode``, ``data_file`` (the file read), ``other_detectors`` (e.g. FID, SIM) and
        ``ionization`` (``"EI"``).

    Raises
    ------
    FileNotFoundError
        If the folder does not exist.
    RunFormatError
        If an MS file is damaged or truncated, rainbow cannot parse the folder, or it holds no full-scan MS data.
    """
    folder = Path(path)
    if not folder.is_dir():
        if folder.exists():
            raise RunFormatError("an Agilent run is a .D folder, not a file", path=str(folder))
        raise FileNotFoundError(f"No such run folder: {folder}")
    ms_files = _ms_files(folder)
    for f in ms_files:
        check_ms_file(f)
    import rainbow

    try:
        directory = rainbow.read(str(folder), requested_files=[f.name for f in ms_files] or None)
    except Exception as exc:  # noqa: BLE001 - rainbow raises bare struct/numpy/Exception errors on bad input
        raise RunFormatError(f"rainbow-api cannot read the folder ({type(exc).__name__}: {exc})", path=str(folder)) from exc
    datafiles = list(getattr(directory, "datafiles", []) or [])
    chosen = _pick_scan_file(datafiles)
    if chosen is None:
        found = ", ".join(f"{f.name} ({f.detector})" for f in datafiles) or "nothing readable"
        raise RunFormatError(f"no full-scan MS data in the folder (found: {found})", path=str(folder))
    meta: dict[str, Any] = {"vendor": "Agilent", "ionization": "EI", "data_file": chosen.name}
    for key in ("date", "method", "instrument", "acquisition_mode"):
        value = chosen.metadata.get(key) or directory.metadata.get(key)
        if value:
            meta[key] = str(value).strip()
    others = [f"{f.name} ({f.detector})" for f in datafiles if f is not chosen]
    if others:
        meta["other_detectors"] = ", ".join(others)
    try:
        mz = np.asarray(chosen.ylabels, dtype=np.float64)
        run = Run(chosen.xlabels, mz, chosen.data, source=str(folder), metadata=meta)
    except (InvalidRunError, ValueError, TypeError) as exc:
        raise RunFormatError(f"{chosen.name} holds inconsistent data ({exc})", path=str(folder)) from exc
    logger.debug("%s: %d scans, m/z %g-%g", folder, run.n_scans, mz.min(initial=0), mz.max(initial=0))
    return run
