"""A whole reference library in one HDF5 file.

Layout of the file (``format_version`` 1)::

    /                      attrs: format_version, nps_id_version, n_spectra, checksum, pipeline, created
    /peaks/mz              float64, all peaks of all spectra, concatenated (contiguous: memory-mapped on open)
    /peaks/intensity       float32, the same length
    /peaks/offsets         int64, n_spectra + 1: spectrum i is peaks[offsets[i]:offsets[i + 1]]
    /spectra/precursor_mz  float64, NaN where a spectrum has none
    /spectra/kind          text column ("ms", "ir", "raman")
    /columns/<name>        text column: UTF-8 values joined by NUL bytes (uint8); attrs: kind="text"
                           or a numeric/bool array; attrs: kind="numeric"
    /present/<name>        bool, only where a present value is the empty string (so "" and missing differ)

Text columns hold the metadata exactly as read (values are text), so ``library -> spectra`` gives back what
went in. Columns added later (class labels from :mod:`nps_id.chem`) are stored the same way. The checksum
covers the peaks, precursors, kinds and the metadata columns present when the library was built; columns
added later with :meth:`SpectralLibrary.set_column` (derived data) do not change it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nps_id import __version__
from nps_id.errors import LibraryError
from nps_id.spectra.spectrum import Spectrum, pack_peaks

__all__ = ["SpectralLibrary", "FORMAT_VERSION"]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
_SEP = "\x00"


def _encode_text(values: Sequence[str], name: str) -> np.ndarray:
    joined = _SEP.join(values)
    if joined.count(_SEP) != max(len(values) - 1, 0):
        raise LibraryError(f"column {name!r}: a value holds a NUL character, which cannot be stored")
    return np.frombuffer(joined.encode("utf-8", "surrogateescape"), dtype=np.uint8)


def _decode_text(raw: np.ndarray, n: int) -> np.ndarray:
    if n == 0:
        return np.empty(0, dtype=object)
    values = raw.tobytes().decode("utf-8", "surrogateescape").split(_SEP)
    if len(values) != n:
        raise LibraryError(f"damaged text column: {len(values)} values for {n} spectra")
    out = np.empty(n, dtype=object)
    out[:] = values
    return out


class SpectralLibrary:
    """Many spectra in CSR arrays plus metadata columns; stored in, and opened from, one HDF5 file.

    Build one with :meth:`build` (from files), :meth:`from_spectra` (from a list) or :meth:`open` (an
    HDF5 file written by :meth:`save`). Indexing gives :class:`Spectrum` objects whose arrays are views
    into the library's arrays (no copy).

    Parameters
    ----------
    mz, intensity : ndarray
        All peaks concatenated (float64 / float32).
    offsets : ndarray
        int64, ``n + 1`` values; spectrum i holds peaks ``offsets[i]:offsets[i + 1]``.
    precursor_mz : ndarray, optional
        float64 per spectrum, NaN where none.
    kinds : ndarray, optional
        Per-spectrum kind ("ms", "ir", "raman"); default all "ms".
    columns : dict, optional
        Metadata columns: name -> 1-D array of length n (text columns: str, "" where missing).
    pipeline : str, optional
        Text of the processing pipeline applied to every spectrum (see :mod:`nps_id.spectra.processing`).

    Examples
    --------
    >>> lib = SpectralLibrary.build(["library.msp.gz"], "library.h5")  # doctest: +SKIP
    >>> lib = SpectralLibrary.open("library.h5")  # doctest: +SKIP
    >>> ei = lib.select(lib.column("ionization") == "EI")  # doctest: +SKIP
    >>> ei[0].metadata["name"]  # doctest: +SKIP
    """

    def __init__(
        self,
        mz: np.ndarray,
        intensity: np.ndarray,
        offsets: np.ndarray,
        precursor_mz: np.ndarray | None = None,
        kinds: np.ndarray | None = None,
        columns: dict[str, np.ndarray] | None = None,
        pipeline: str | None = None,
        *,
        present: dict[str, np.ndarray] | None = None,
        checksum: str | None = None,
        path: str | os.PathLike | None = None,
    ) -> None:
        self.mz = np.asarray(mz, dtype=np.float64)
        self.intensity = np.asarray(intensity, dtype=np.float32)
        self.offsets = np.asarray(offsets, dtype=np.int64)
        n = self.offsets.size - 1
        if n < 0 or self.offsets[0] != 0 or self.offsets[-1] != self.mz.size or self.mz.size != self.intensity.size:
            raise LibraryError("inconsistent peak arrays: offsets must start at 0 and end at the number of peaks")
        if n and (np.diff(self.offsets) < 0).any():
            raise LibraryError("offsets must be non-decreasing")
        self.precursor_mz = (
            np.full(n, np.nan) if precursor_mz is None else np.asarray(precursor_mz, dtype=np.float64)
        )
        if kinds is None:
            kinds = np.full(n, "ms", dtype=object)
        self.kinds = np.asarray(kinds, dtype=object)
        if self.precursor_mz.shape != (n,) or self.kinds.shape != (n,):
            raise LibraryError(f"precursor_mz and kinds must have one value per spectrum ({n})")
        self.pipeline = pipeline
        self.path = None if path is None else str(path)
        self._columns: dict[str, np.ndarray | None] = {}
        self._column_kinds: dict[str, str] = {}
        self._present: dict[str, np.ndarray] = dict(present or {})
        self._raw_text: dict[str, tuple[bytes, np.ndarray, np.ndarray]] = {}  # name -> (UTF-8 bytes, starts, ends)
        for name, values in (columns or {}).items():
            self._store_column(name, values)
        self._base_columns = list(self._columns)
        self.checksum = checksum if checksum is not None else self._compute_checksum()
        self.build_report = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_spectra(cls, spectra: Iterable[Spectrum], pipeline: Any = None) -> "SpectralLibrary":
        """Build an in-memory library from spectra (processed with `pipeline` if given).

        Parameters
        ----------
        spectra : iterable of Spectrum
        pipeline : Pipeline or str, optional
            Processing applied to every spectrum before it is stored; spectra it drops are not stored
            (their count is logged).
        """
        spectra = list(spectra)
        pipe_text = None
        if pipeline is not None:
            pipe = _as_pipeline(pipeline)
            pipe_text = pipe.to_string()
            kept = pipe.apply(spectra)
            if len(kept) != len(spectra):
                logger.info("pipeline dropped %d of %d spectra", len(spectra) - len(kept), len(spectra))
            spectra = kept
        n = len(spectra)
        mz, intensity, offsets, precursor = pack_peaks(spectra)
        kinds = np.array([s.kind for s in spectra], dtype=object)
        metas = [s.metadata for s in spectra]
        keys: dict[str, None] = {}
        for m in metas:
            keys.update(dict.fromkeys(m))
        columns: dict[str, np.ndarray] = {}
        present: dict[str, np.ndarray] = {}
        for key in keys:
            values = [m.get(key) for m in metas]
            if any(v is not None and not isinstance(v, str) for v in values):
                raise LibraryError(
                    f"metadata {key!r} holds a non-text value ({type(next(v for v in values if v is not None and not isinstance(v, str))).__name__}); "
                    "library metadata is stored as text: convert it with str() first"
                )
            col = np.empty(n, dtype=object)
            col[:] = ["" if v is None else v for v in values]
            columns[key] = col
            if any(v == "" for v in values):
                present[key] = np.array([v is not None for v in values], dtype=bool)
        return cls(mz, intensity, offsets, precursor, kinds, columns, pipe_text, present=present)

    @classmethod
    def build(
        cls,
        files: Sequence[str | os.PathLike],
        path: str | os.PathLike | None = None,
        pipeline: Any = None,
        on_error: str = "skip",
        progress: bool | None = None,
        format: str | None = None,
    ) -> "SpectralLibrary":
        """Read spectrum files (any supported format), optionally process them, and save to `path`.

        Parameters
        ----------
        files : sequence of path
            Files (or folders, searched for spectrum files) to read.
        path : path, optional
            HDF5 file to write; the library stays in memory if None.
        pipeline : Pipeline or str, optional
            Processing applied to every spectrum before it is stored.
        on_error : {"skip", "warn", "raise"}, default "skip"
            What to do with a bad record; skipped records are counted in ``build_report``.
        progress : bool, optional
            Show a progress bar (default: when writing to a terminal).
        format : str, optional
            Force the file format instead of telling it from the extension.

        Returns
        -------
        SpectralLibrary
            With ``build_report`` (a :class:`~nps_id.spectra.io.ReadReport`) set.
        """
        from nps_id.spectra.io import ReadReport, find_spectrum_files, iter_spectra

        paths: list[Path] = []
        for f in files:
            paths.extend(find_spectrum_files(f))
        if not paths:
            raise LibraryError(f"no spectrum files found in {[str(f) for f in files]}")
        report = ReadReport()
        spectra: list[Spectrum] = []
        bar = _progress(progress)
        for p in paths:
            before = report.n_read
            for s in iter_spectra(p, format=format, on_error=on_error, report=report):  # type: ignore[arg-type]
                spectra.append(s)
                if bar is not None and len(spectra) % 1000 == 0:
                    bar.update(1000)
            logger.info("%s: %d spectra read", p, report.n_read - before)
        if bar is not None:
            bar.update(len(spectra) % 1000)
            bar.close()
        lib = cls.from_spectra(spectra, pipeline=pipeline)
        lib.build_report = report
        if path is not None:
            lib.save(path)
        return lib

    @classmethod
    def open(cls, path: str | os.PathLike) -> "SpectralLibrary":
        """Open a library written by :meth:`save`: no text is parsed; peaks are memory-mapped.

        Raises
        ------
        LibraryError
            If the file is not an nps_id library, or of a format version this nps_id cannot read.
        """
        import h5py

        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"No such library file: {path}; build one with `python -m nps_id library build`")
        try:
            fh = h5py.File(path, "r")
        except OSError as exc:
            raise LibraryError(f"{path} is not an HDF5 file ({exc})") from None
        with fh:
            version = fh.attrs.get("format_version")
            if version is None or "peaks" not in fh:
                raise LibraryError(f"{path} is not an nps_id spectral library")
            if int(version) != FORMAT_VERSION:
                raise LibraryError(
                    f"{path} has library format version {int(version)}; this nps_id reads version "
                    f"{FORMAT_VERSION}: rebuild it with `python -m nps_id library build`"
                )
            n = int(fh.attrs["n_spectra"])
            offsets = fh["peaks/offsets"][()]
            mz = _memmap(path, fh["peaks/mz"])
            intensity = _memmap(path, fh["peaks/intensity"])
            precursor = fh["spectra/precursor_mz"][()]
            kinds = _decode_text(fh["spectra/kind"][()], n)
            pipeline = fh.attrs.get("pipeline") or None
            checksum = str(fh.attrs["checksum"])
            base = list(fh.attrs.get("base_columns", []))
            present = {k: fh["present"][k][()] for k in fh.get("present", {})}
            names = list(fh["columns"]) if "columns" in fh else []
            col_kinds = {k: str(fh["columns"][k].attrs.get("kind", "text")) for k in names}
        lib = cls(mz, intensity, offsets, precursor, kinds, None, pipeline, present=present, checksum=checksum, path=path)
        order = [c for c in base if c in col_kinds] + [c for c in names if c not in base]
        for k in order:  # loaded on first use
            lib._columns[k] = None
            lib._column_kinds[k] = col_kinds[k]
        lib._base_columns = [c for c in base if c in col_kinds]
        return lib

    # ------------------------------------------------------------------ saving
    def save(self, path: str | os.PathLike) -> None:
        """Write the library to an HDF5 file (replacing it), then point the library at that file."""
        import h5py

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".partial")
        columns = {k: self.column(k) for k in self._columns}
        with h5py.File(tmp, "w") as fh:
            fh.attrs["format_version"] = FORMAT_VERSION
            fh.attrs["nps_id_version"] = __version__
            fh.attrs["n_spectra"] = len(self)
            fh.attrs["checksum"] = self.checksum
            fh.attrs["pipeline"] = self.pipeline or ""
            fh.attrs["created"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            fh.attrs["base_columns"] = list(self._base_columns)
            fh.create_dataset("peaks/mz", data=np.ascontiguousarray(self.mz))
            fh.create_dataset("peaks/intensity", data=np.ascontiguousarray(self.intensity))
            fh.create_dataset("peaks/offsets", data=self.offsets)
            fh.create_dataset("spectra/precursor_mz", data=self.precursor_mz)
            fh.create_dataset("spectra/kind", data=_encode_text(list(self.kinds), "kind"))
            fh.create_group("columns")
            for name, values in columns.items():
                _write_column(fh, name, values, self._column_kinds[name])
            for name, mask in self._present.items():
                fh.create_dataset(f"present/{name}", data=mask)
        os.replace(tmp, path)
        self.path = str(path)
        logger.info("wrote %s (%d spectra, %d peaks)", path, len(self), self.mz.size)

    # ------------------------------------------------------------------ access
    def __len__(self) -> int:
        return int(self.offsets.size - 1)

    def peaks(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Return views of spectrum i's m/z and intensity arrays."""
        a, b = self.offsets[i], self.offsets[i + 1]
        return self.mz[a:b], self.intensity[a:b]

    @property
    def n_peaks(self) -> np.ndarray:
        """Number of peaks per spectrum."""
        return np.diff(self.offsets)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, (int, np.integer)):
            n = len(self)
            if not -n <= i < n:
                raise IndexError(f"spectrum index {i} out of range for a library of {n}")
            i = int(i) % n
            mz, inten = self.peaks(i)
            prec = self.precursor_mz[i]
            meta = {}
            for k in self._columns:
                if k in self._base_columns:
                    v = self._text_at(k, i)
                    if v != "" or (k in self._present and self._present[k][i]):
                        meta[k] = v
            return Spectrum._trusted(mz, inten, str(self.kinds[i]), None if np.isnan(prec) else float(prec), meta)
        return self.select(i)

    def _text_at(self, name: str, i: int) -> str:
        """Value `i` of a text column, without decoding the whole column when it is not loaded yet."""
        values = self._columns[name]
        if values is not None or self.path is None:
            return self.column(name)[i]
        raw = self._raw_text.get(name)
        if raw is None:
            import h5py

            with h5py.File(self.path, "r") as fh:
                blob = _memmap(Path(self.path), fh["columns"][name])
            seps = np.flatnonzero(blob == 0)
            if seps.size != len(self) - 1:
                return self.column(name)[i]  # damaged: column() says so
            raw = self._raw_text[name] = (blob.tobytes(), np.concatenate(([0], seps + 1)), np.append(seps, blob.size))
        blob, starts, ends = raw
        return blob[starts[i] : ends[i]].decode("utf-8", "surrogateescape")

    def __iter__(self) -> Iterator[Spectrum]:
        for name in self._base_columns:  # every row is read: decode whole columns at once
            self.column(name)
        for i in range(len(self)):
            yield self[i]

    def to_spectra(self) -> list[Spectrum]:
        """Return all spectra as a list (arrays are views into the library)."""
        return list(self)

    @property
    def columns(self) -> list[str]:
        """Names of the metadata and label columns."""
        return list(self._columns)

    def column(self, name: str) -> np.ndarray:
        """Return one column (text columns: object array of str, "" where missing).

        Raises
        ------
        KeyError
            If the library has no such column; the message lists those it has.
        """
        if name not in self._columns:
            raise KeyError(f"library has no column {name!r}; columns: {', '.join(self._columns) or '(none)'}")
        values = self._columns[name]
        if values is None:
            import h5py

            with h5py.File(self.path, "r") as fh:
                raw = fh["columns"][name][()]
            values = _decode_text(raw, len(self)) if self._column_kinds[name] == "text" else raw
            values.flags.writeable = False
            self._columns[name] = values
        return values

    def set_column(self, name: str, values: Any, save: bool = True) -> None:
        """Add or replace a column (e.g. class labels); written to the library file too if it has one.

        Parameters
        ----------
        name : str
        values : array_like
            One value per spectrum: text (str) or numbers/bools.
        save : bool, default True
            Also write the column into the HDF5 file the library was opened from / saved to.
        """
        self._store_column(name, values)
        if save and self.path is not None:
            import h5py

            with h5py.File(self.path, "r+") as fh:
                if name in fh["columns"]:
                    del fh["columns"][name]
                _write_column(fh, name, self._columns[name], self._column_kinds[name])

    def _store_column(self, name: str, values: Any) -> None:
        arr = np.asarray(values)
        if arr.shape != (len(self),):
            raise LibraryError(f"column {name!r} needs one value per spectrum ({len(self)}), got shape {arr.shape}")
        if arr.dtype.kind in "biuf":
            kind = "numeric"
        else:
            kind = "text"
            if arr.dtype != object or not all(isinstance(v, str) for v in arr):
                if any(v is None for v in arr):
                    raise LibraryError(f"column {name!r} holds None; use '' for a missing text value")
                arr = np.array([str(v) for v in arr], dtype=object)
            else:
                arr = arr.copy()
        arr.flags.writeable = False
        self._columns[name] = arr
        self._raw_text.pop(name, None)
        self._column_kinds[name] = kind

    def select(self, which: Any) -> "SpectralLibrary":
        """Return an in-memory library of the chosen spectra (boolean mask, indices or slice), in that order."""
        idx = np.arange(len(self))[which] if isinstance(which, slice) else np.asarray(which)
        if idx.dtype == bool:
            if idx.shape != (len(self),):
                raise LibraryError(f"mask has {idx.size} values for a library of {len(self)}")
            idx = np.flatnonzero(idx)
        idx = idx.astype(np.int64)
        lengths = self.n_peaks[idx]
        offsets = np.zeros(idx.size + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        take = np.repeat(self.offsets[idx] - offsets[:-1], lengths) + np.arange(offsets[-1])
        columns = {k: self.column(k)[idx] for k in self._columns}
        present = {k: v[idx] for k, v in self._present.items()}
        sub = SpectralLibrary(
            self.mz[take], self.intensity[take], offsets, self.precursor_mz[idx], self.kinds[idx], columns,
            self.pipeline, present=present, checksum="",
        )
        sub._base_columns = list(self._base_columns)
        sub.checksum = sub._compute_checksum()
        return sub

    def verify(self) -> bool:
        """Recompute the checksum and compare it with the stored one."""
        return self._compute_checksum() == self.checksum

    def info(self) -> dict[str, Any]:
        """Summary: size, peaks, kinds, techniques (:mod:`nps_id.spectra.technique`), ionisation types, structures,
        columns, pipeline, checksum."""
        from nps_id.spectra.technique import technique_counts

        out: dict[str, Any] = {
            "path": self.path,
            "format_version": FORMAT_VERSION,
            "n_spectra": len(self),
            "n_peaks": int(self.mz.size),
            "with_precursor": int(np.isfinite(self.precursor_mz).sum()),
            "kinds": _counts(self.kinds),
            "techniques": technique_counts(self),
        }
        if "ionization" in self._columns:
            out["ionization"] = _counts(self.column("ionization"))
        if "smiles" in self._columns:
            out["with_smiles"] = int((self.column("smiles") != "").sum())
        out["columns"] = self.columns
        out["pipeline"] = self.pipeline
        out["checksum"] = self.checksum
        return out

    def __repr__(self) -> str:
        where = f", path={self.path!r}" if self.path else ""
        return f"SpectralLibrary(n_spectra={len(self)}, n_peaks={self.mz.size}{where})"

    def _compute_checksum(self) -> str:
        h = hashlib.sha256()
        for arr in (self.offsets, self.mz, self.intensity, self.precursor_mz):
            h.update(np.ascontiguousarray(arr).tobytes())
        h.update(_encode_text(list(self.kinds), "kind").tobytes())
        for name in sorted(self._base_columns):
            h.update(name.encode())
            values = self.column(name)
            h.update(_encode_text(list(values), name).tobytes() if values.dtype == object else values.tobytes())
        return h.hexdigest()


def _write_column(fh: Any, name: str, values: np.ndarray, kind: str) -> None:
    if "/" in name:
        raise LibraryError(f"column name {name!r} may not contain '/'")
    data = _encode_text(list(values), name) if kind == "text" else values
    ds = fh["columns"].create_dataset(name, data=data)
    ds.attrs["kind"] = kind


def _memmap(path: Path, ds: Any) -> np.ndarray:
    """Memory-map a contiguous, uncompressed dataset; read it whole otherwise."""
    offset = ds.id.get_offset()
    if offset is None or ds.chunks is not None or ds.size == 0:
        return ds[()]
    arr = np.memmap(path, dtype=ds.dtype, mode="r", offset=offset, shape=ds.shape)
    return arr


def _counts(values: np.ndarray) -> dict[str, int]:
    keys, counts = np.unique(np.asarray(values, dtype=str), return_counts=True)
    return {str(k) or "(none)": int(c) for k, c in sorted(zip(keys, counts), key=lambda kv: -kv[1])}


def _as_pipeline(pipeline: Any) -> Any:
    from nps_id.spectra.processing import Pipeline

    if isinstance(pipeline, Pipeline):
        return pipeline
    text = str(pipeline)
    from nps_id.spectra.processing import PRESETS

    if text in PRESETS:
        return PRESETS[text] if isinstance(PRESETS[text], Pipeline) else Pipeline.from_string(PRESETS[text])
    if "\n" not in text and Path(text).is_file():
        return Pipeline.load(text)
    return Pipeline.from_string(text)


def _progress(show: bool | None) -> Any:
    import sys

    if show is None:
        show = sys.stderr.isatty()
    if not show:
        return None
    from tqdm import tqdm

    return tqdm(desc="reading spectra", unit=" spectra", unit_scale=True)
