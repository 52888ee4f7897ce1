"""The library-side arrays of the search index and how they are stored.

Helpers of :class:`~nps_id.spectra.search.index.SearchIndex`: where an index is stored and the names of its
stage-1 matrices, each peak's 1-Da bin, the library's mass per bin (for folding stage-1 columns), stage-1 rows in
their stored form (bf16 bits or float32), and files written atomically so that a process reading the index never
sees half a file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from nps_id.spectra.search._peaks import PeakTable

logger = logging.getLogger("nps_id.spectra.search.index")

#: 2: stage-1 matrices stored as [bins x spectra]; 3: GC-EI bins folded into fewer columns; 4: nominal; 5: sha256
INDEX_VERSION = 5


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


def digest(arr: Any) -> str:
    """sha256 of an array's data (a stored stage-1 matrix: checked each time the index is opened)."""
    return hashlib.sha256(np.ascontiguousarray(arr).data).hexdigest()


def read_meta(folder: Path) -> dict[str, Any] | None:
    """The ``meta.json`` of a stored index as a dict; None (logged) if it is missing, unreadable or damaged."""
    f = folder / "meta.json"
    if not f.exists():
        return None
    try:
        meta = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        logger.warning("the search index at %s is damaged (meta.json: %s); it is rebuilt", folder, exc)
        return None
    if not isinstance(meta, dict):
        logger.warning("the search index at %s is damaged (meta.json is not an object); it is rebuilt", folder)
        return None
    return meta


def load_matrix(folder: Path, key: str, expected: str | None, shape: tuple[int, ...]) -> np.ndarray | None:
    """Memory-map the stored stage-1 matrix `key`, checked against its sha256 `expected` and against `shape`
    (``(n_spectra,)``: one of its two axes holds the library's spectra);
    None (logged: it is rebuilt) if it is missing, unreadable or damaged."""
    f = folder / f"{key}.npy"
    if not f.exists():
        logger.warning("stored stage-1 matrix %s is missing; it is rebuilt", f)
        return None
    try:
        arr = np.load(f, mmap_mode="r", allow_pickle=False)
        ok = arr.ndim == 2 and shape[0] in arr.shape and arr.dtype in (np.uint16, np.float32)
        ok = ok and expected is not None and digest(arr) == expected
    except (OSError, ValueError, EOFError) as exc:
        logger.warning("stored stage-1 matrix %s is damaged (%s); it is rebuilt", f, exc)
        return None
    if not ok:
        logger.warning("stored stage-1 matrix %s does not match its checksum or shape (damaged); it is rebuilt", f)
        return None
    return arr


def _settings(index: Any) -> dict[str, Any]:
    """What a stored index must share with `index` to be its own: library checksum and stage-1 settings."""
    return {
        "version": INDEX_VERSION,
        "checksum": index.checksum,
        "coarse_dtype": index.coarse_dtype,
        "lo": index.lo,
        "width": index.width,
        "colmap": None if index.colmap is None else index.colmap.tolist(),
        "nominal": index.nominal,
    }


def load_stored(index: Any, folder: Path, build: bool) -> None:
    """Give `index` the stored matrices in `folder` that belong to it (checked: settings, library checksum, each
    matrix's sha256 and shape), and remember `folder` for :meth:`SearchIndex.persist`.

    A stale, missing or damaged index is rebuilt when first needed (logged) if `build`, else refused.

    Raises
    ------
    LibraryError
        If the stored index is stale or missing and ``build=False``.
    """
    from nps_id.errors import LibraryError

    meta = read_meta(folder)
    if meta is not None:
        want = _settings(index)
        want["nominal"] = bool(want["nominal"])
        if all(meta.get(k, False if k == "nominal" else None) == v for k, v in want.items()):
            digests = meta.get("sha256") if isinstance(meta.get("sha256"), dict) else {}
            for key in meta.get("matrices", []) if isinstance(meta.get("matrices"), list) else []:
                arr = load_matrix(folder, str(key), digests.get(key), (len(index.table),))
                if arr is not None:  # else rebuilt when first needed (and stored again by persist)
                    index._matrices[key] = arr
            index._path = folder
            return
        if not build:
            raise LibraryError(
                f"the search index at {folder} was built for another library or settings (stale); "
                "rebuild it with SearchIndex.build(...).save() or open(..., build=True)"
            )
        logger.info("search index at %s is stale; rebuilding", folder)
    elif not build:
        raise LibraryError(f"no usable search index at {folder}; build one with SearchIndex.build(library).save()")
    index._path = folder


def write_stored(index: Any, folder: Path) -> Path:
    """Write the built matrices of `index` (each file atomically) and its ``meta.json`` into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for key, arr in index._matrices.items():
        f = folder / f"{key}.npy"
        if not f.exists() or not isinstance(arr, np.memmap):
            _replace_atomically(f, lambda fh, a=arr: np.save(fh, np.asarray(a)))
    meta = {
        **_settings(index),
        "n_spectra": len(index.table),
        "matrices": sorted(index._matrices),
        "sha256": {key: digest(arr) for key, arr in index._matrices.items()},
    }
    _replace_atomically(folder / "meta.json", lambda fh: fh.write(json.dumps(meta, indent=1).encode()))
    return folder
