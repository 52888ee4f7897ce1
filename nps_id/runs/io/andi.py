"""ANDI/netCDF mass spectrometry runs (ASTM E2078, ``.cdf``), read with netCDF4.

The ANDI MS variables used: ``scan_acquisition_time`` (seconds, or minutes where its ``units`` say so), ``scan_index`` (first point of each scan),
``point_count`` (points per scan), ``mass_values`` and ``intensity_values`` (all points, scan after scan). The
points are summed onto a nominal-mass axis (or `bin_width`) by :func:`~nps_id.runs.io._grid.bin_scans`.

The netCDF library reads a cut netCDF-3 file without complaint (the missing values come back as zeros), so the
header of a classic or 64-bit-offset file is read here first (:func:`classic_data_end`) and a file shorter
than its data is refused.
"""

from __future__ import annotations

import logging
import struct
from pathlib import Path
from typing import Any

import numpy as np

from nps_id.errors import InvalidRunError, RunFormatError
from nps_id.runs.io._grid import bin_scans
from nps_id.runs.run import Run

__all__ = ["read_andi", "classic_data_end", "ANDI_VARIABLES"]

logger = logging.getLogger(__name__)

ANDI_VARIABLES = ("scan_acquisition_time", "scan_index", "point_count", "mass_values", "intensity_values")

#: global attributes copied into the run's metadata (ANDI name -> metadata key)
_ATTRIBUTES = {
    "experiment_date_time_stamp": "date",
    "experiment_title": "title",
    "instrument_name": "instrument",
    "instrument_mfr": "vendor",
    "test_ionization_mode": "ionization_mode",
    "external_file_ref_0": "method",
    "source_file_reference": "data_file",
}


_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 4, 6: 8}  # netCDF-3 external types: byte, char, short, int, float, double


class _Header:
    """Just enough of a netCDF-3 classic / 64-bit-offset header to know where the data ends."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def int(self, size: int = 4) -> int:
        value = struct.unpack_from(">i" if size == 4 else ">q", self.data, self.pos)[0]
        self.pos += size
        return value

    def skip_name(self) -> None:
        n = self.int()
        self.pos += -(-n // 4) * 4

    def skip_attributes(self) -> None:
        self.int()  # tag (NC_ATTRIBUTE or absent)
        for _ in range(self.int()):
            self.skip_name()
            kind = self.int()
            n = self.int()
            self.pos += -(-(n * _TYPE_SIZES[kind]) // 4) * 4


def classic_data_end(path: str | Path, head: int = 1 << 20) -> int | None:
    """The byte where the data of a netCDF-3 (classic or 64-bit offset) file ends, from its header; None for
    other files (netCDF-4/HDF5, CDF-5) or a header that cannot be parsed. A shorter file is truncated: the
    netCDF library would return the missing values as zeros or fill values without complaint."""
    with open(path, "rb") as fh:
        data = fh.read(head)
    if len(data) < 8 or data[:3] != b"CDF" or data[3] not in (1, 2):
        return None
    offset_size = 4 if data[3] == 1 else 8
    h = _Header(data)
    h.pos = 4
    try:
        n_records = h.int()
        h.int()  # dimension list tag
        dims = []
        for _ in range(h.int()):
            h.skip_name()
            dims.append(h.int())
        h.skip_attributes()
        h.int()  # variable list tag
        end = h.pos
        record_size, record_begin = 0, None
        for _ in range(h.int()):
            h.skip_name()
            dim_ids = [h.int() for _ in range(h.int())]
            h.skip_attributes()
            kind = h.int()
            vsize = h.int()
            begin = h.int(offset_size)
            if dim_ids and dims[dim_ids[0]] == 0:  # a record variable
                record_size += vsize
                record_begin = begin if record_begin is None else min(record_begin, begin)
            else:  # its bytes without the padding a last variable may lack
                end = max(end, begin + int(np.prod([dims[d] for d in dim_ids])) * _TYPE_SIZES[kind])
    except (struct.error, IndexError, KeyError):
        return None
    if record_begin is not None and n_records > 0:
        end = max(end, record_begin + n_records * record_size)
    return end


def _values(ds: Any, name: str, where: str) -> np.ndarray:
    try:
        var = ds.variables[name]
        var.set_auto_mask(True)
        values = var[:]
    except KeyError:
        raise RunFormatError(
            f"not an ANDI MS file: the variable {name!r} is missing (needs {', '.join(ANDI_VARIABLES)})", path=where
        ) from None
    except (OSError, RuntimeError, ValueError, IndexError) as exc:
        raise RunFormatError(f"cannot read the variable {name!r} (damaged or truncated file?): {exc}", path=where) from exc
    if np.ma.isMaskedArray(values) and np.ma.getmaskarray(values).any():
        n = int(np.ma.getmaskarray(values).sum())
        raise RunFormatError(f"the variable {name!r} has {n} missing (fill) values; the file is incomplete", path=where)
    return np.asarray(np.ma.getdata(values)).ravel()


def read_andi(path: str | Path, bin_width: float = 1.0) -> Run:
    """Read an ANDI/netCDF MS run.

    Parameters
    ----------
    path : str or Path
        The ``.cdf`` file.
    bin_width : float, default 1.0
        m/z bin width in Da (1: nominal mass, as unit-mass GC-MS libraries).

    Returns
    -------
    Run
        ``metadata`` holds the instrument, date, title and ionisation mode the file names, and ``ionization``
        (``"EI"`` unless the file says otherwise).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    RunFormatError
        If it is not netCDF, lacks the ANDI MS variables, is truncated, or its scan table is inconsistent.
    """
    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such run file: {path}")
    import netCDF4

    data_end = classic_data_end(path)
    size = path.stat().st_size
    if data_end is not None and size < data_end:
        raise RunFormatError(f"the file is truncated: {size} bytes, but its header places data up to byte {data_end}",
                             path=where)
    try:
        ds = netCDF4.Dataset(where, "r")
    except (OSError, RuntimeError, ValueError) as exc:
        raise RunFormatError(f"not a readable netCDF file ({exc}); is it an ANDI MS .cdf export?", path=where) from exc
    with ds:
        times, start, count, mz, inten = (_values(ds, name, where) for name in ANDI_VARIABLES)
        unit = str(getattr(ds.variables["scan_acquisition_time"], "units", "seconds")).strip().lower()
        meta: dict[str, Any] = {"ionization": "EI"}
        for attr, key in _ATTRIBUTES.items():
            value = getattr(ds, attr, None)
            if value not in (None, ""):
                meta[key] = str(value).strip()
    n = times.size
    if not (start.size == count.size == n):
        raise RunFormatError(
            f"inconsistent scan table: {n} scan times, {start.size} scan indices, {count.size} point counts", path=where
        )
    if mz.size != inten.size:
        raise RunFormatError(f"{mz.size} m/z values but {inten.size} intensities (truncated file?)", path=where)
    start = start.astype(np.int64)
    count = count.astype(np.int64)
    if (count < 0).any() or (start < 0).any():
        raise RunFormatError("negative scan indices or point counts", path=where)
    ends = start + count
    if n and ends.max() > mz.size:
        bad = int(np.argmax(ends > mz.size))
        raise RunFormatError(
            f"the file is truncated: scan {bad + 1} of {n} needs points up to {ends[bad]} but only {mz.size} are stored",
            path=where,
        )
    if n > 1 and (start[1:] != ends[:-1]).any():
        # scans out of order or with gaps: gather each scan's points explicitly
        take = np.concatenate([np.arange(s, e) for s, e in zip(start, ends)]) if n else np.empty(0, np.int64)
        mz, inten = mz[take], inten[take]
    elif n:
        mz, inten = mz[start[0] : ends[-1]], inten[start[0] : ends[-1]]
    if not (np.isfinite(mz).all() and np.isfinite(inten).all()):
        raise RunFormatError("m/z or intensity values are NaN or infinite", path=where)
    if (inten < 0).any():
        raise RunFormatError("negative intensities", path=where)
    axis, matrix = bin_scans(mz, inten, count, bin_width)
    try:
        minutes = times.astype(np.float64) / (1.0 if unit.startswith("min") else 60.0)
        return Run(minutes, axis, matrix, source=where, metadata=meta)
    except InvalidRunError as exc:
        raise RunFormatError(f"inconsistent scans ({exc})", path=where) from exc
