"""The library-side arrays of the search index and how they are stored.

Helpers of :class:`~nps_id.spectra.search.index.SearchIndex`: where an index is stored and the names of its
stage-1 matrices, each peak's 1-Da bin, the library's mass per bin (for folding stage-1 columns), stage-1 rows in
their stored form (bf16 bits or float32), and files written atomically so that a process reading the index never
sees half a file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from nps_id.spectra.search._peaks import PeakTable


def index_path(library_path: str | os.PathLike) -> Path:
    """Where the index of the library file `library_path` is stored: ``LIB.h5`` -> ``LIB.search/``."""
    p = Path(library_path)
    return p.with_name(p.stem + ".search")


def _spec_key(spec: tuple) -> str:
    kind, mp, ip, source, folded = spec
    return f"{kind}-{source}-mz{mp:g}-int{ip:g}" + ("" if folded else "-unfolded")


def _bins(table: PeakTable) -> np.ndarray:
    """Each peak's 1-Da bin (nearest integer m/z, clipped at 0) as int32."""
    return np.maximum(np.rint(table.mz), 0).astype(np.int32)


def _bin_mass(table: PeakTable, lo: int, width: int) -> np.ndarray:
    """Summed squared intensity of the library per 1-Da bin ``lo .. lo + width - 1`` (outside: the edge bins)."""
    col = np.clip(np.rint(table.mz).astype(np.int64) - lo, 0, width - 1)
    return np.bincount(col, weights=np.asarray(table.intensity, dtype=np.float64) ** 2, minlength=width)


def _to_storage(rows: np.ndarray, dtype: str) -> np.ndarray:
    """float32 rows -> bf16 bit patterns (uint16, round-to-nearest-even) or float32."""
    if dtype == "fp32":
        return rows
    bits = rows.view(np.uint32)
    rounded = bits + 0x7FFF + ((bits >> 16) & 1)
    return (rounded >> 16).astype(np.uint16)


def _replace_atomically(target: Path, write) -> None:
    """Write a file through ``write(binary file)`` to a temporary name beside `target`, then rename it over
    `target`: a process reading the index never sees half a file, whoever writes at the same time."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
