"""A whole reference library in one HDF5 file.

Layout of the file (``format_version`` 2)::

    /                      attrs: format_version, nps_id_version, n_spectra, checksum, column_sha256, pipeline,
                           created, base_columns
    /peaks/mz              float64, all peaks of all spectra, concatenated
    /peaks/intensity       float32, the same length
    /peaks/offsets         int64, n_spectra + 1: spectrum i is peaks[offsets[i]:offsets[i + 1]]
    /spectra/precursor_mz  float64, NaN where a spectrum has none
    /spectra/kind          text column ("ms", "ir", "raman")
    /columns/<name>        text column: UTF-8 values joined by NUL bytes (uint8); attrs: kind="text"
                           or a numeric/bool array; attrs: kind="numeric"
    /present/<name>        bool, only where a present value is the empty string (so "" and missing differ)

The root attribute ``column_sha256`` is a JSON object: column name (and ``present/<name>``) -> sha256 of its data.

Text columns hold the metadata exactly as read (values are text), so ``library -> spectra`` gives back what
went in. Columns added later (class labels from :mod:`nps_id.chem`) are stored the same way.

Integrity. Every dataset is chunked with HDF5's fletcher32 filter, so a changed byte in any chunk (peaks, names,
labels, ...) is found by HDF5 itself whenever that chunk is read, and reported as a :class:`LibraryError`; the
file's metadata (object headers, attributes) carry HDF5's own checksums (file format of HDF5 1.10 and later).
Two sha256 checksums are stored as well:

- ``checksum`` covers the peaks, precursors, kinds and the metadata columns present when the library was built.
  It is the library's identity: models and search indexes name the library they belong to by it, so columns added
  later (derived data such as class labels) do not change it.
- ``column_sha256`` holds the sha256 of every stored column (label columns included) and of the peak and
  spectrum arrays (``peaks/*``, ``spectra/*``), and is updated by :meth:`SpectralLibrary.set_column`; the arrays
  are checked against it on every open and a column each time it is loaded, so values edited with an HDF5 tool
  (which rewrites the chunk checksums) or a deleted label column are an error, not silently different hits or
  classes. The peaks are also held to the readers' bounds (:func:`~nps_id.spectra.spectrum.bad_peaks`).

:meth:`SpectralLibrary.verify` recomputes both. Libraries of format version 1 (no per-chunk or per-column
checksums) are still read, with a warning saying to rebuild them.

Writing. :meth:`SpectralLibrary.save` writes a temporary file unique to the process in the target folder and
renames it over the target, holding an advisory lock (``LIB.h5.lock``, POSIX ``flock``) meanwhile: two builds of
one library never mix their data (the last one wins, whole), and a temporary file left by a killed build is
removed by the next save.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nps_id import __version__
from nps_id.errors import LibraryError
from nps_id.spectra.spectrum import MZ_MAX, Spectrum, bad_peaks, pack_peaks

__all__ = ["SpectralLibrary", "FORMAT_VERSION"]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 2
#: format versions this nps_id opens (version 1: no per-chunk or per-column checksums; read with a warning)
READABLE_VERSIONS = (1, 2)
_SEP = "\x00"
#: peaks per HDF5 chunk (each chunk carries its own fletcher32 checksum)
_CHUNK = 1 << 18
_KINDS = frozenset({"ms", "ir", "raman"})
#: the stored arrays of every library whose sha256 is kept in ``column_sha256`` (checked on every open)
_CORE = ("peaks/mz", "peaks/intensity", "peaks/offsets", "spectra/precursor_mz", "spectra/kind")
_REBUILD = "rebuild it with `python -m nps_id library build` (or get a fresh copy)"


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
        raise LibraryError(f"damaged text column: {len(values)} values for {n} spectra; {_REBUILD}")
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
        self._digests: dict[str, str] | None = None  # sha256 of each stored column (file of format version >= 2)
        self.format_version = FORMAT_VERSION
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
        """Open a library written by :meth:`save`: no text is parsed; metadata columns are loaded on first use.

        The peak arrays are read (and their per-chunk checksums verified) here; each metadata column is read and
        checked against its stored sha256 when first used.

        Raises
        ------
        FileNotFoundError
            If there is no such file.
        LibraryError
            If the file is not an nps_id library, is of a format version this nps_id cannot read, or is damaged
            (a chunk checksum fails, a part is missing, the peaks hold non-finite values, ...).
        """
        import h5py

        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"No such library file: {path}; build one with `python -m nps_id library build`")
        try:
            fh = h5py.File(path, "r")
        except OSError as exc:
            raise LibraryError(_open_failure(path, exc)) from None
        try:
            with fh:
                version = fh.attrs.get("format_version")
                if version is None or "peaks" not in fh:
                    raise LibraryError(
                        f"{path} is not an nps_id spectral library; build one with `python -m nps_id library build`"
                    )
                try:
                    version = int(version)
                except (TypeError, ValueError):
                    raise LibraryError(f"{path} has an invalid library format version {version!r}; {_REBUILD}") from None
                if version not in READABLE_VERSIONS:
                    raise LibraryError(
                        f"{path} has library format version {version}; this nps_id reads versions "
                        f"{', '.join(map(str, READABLE_VERSIONS))}: rebuild it with `python -m nps_id library build`"
                    )
                if version < FORMAT_VERSION:
                    logger.warning(
                        "%s has library format version %d (no per-chunk checksums: damage would go unnoticed); "
                        "rebuild it with `python -m nps_id library build` to have it checked on every read",
                        path, version,
                    )
                n = int(_attr(fh, "n_spectra"))
                offsets = _read(fh, "peaks/offsets")
                if offsets.ndim != 1 or offsets.size != n + 1:
                    raise LibraryError(f"{path} is damaged: {offsets.size} offsets for {n} spectra; {_REBUILD}")
                mz = _read(fh, "peaks/mz", path)
                intensity = _read(fh, "peaks/intensity", path)
                precursor = _read(fh, "spectra/precursor_mz")
                kinds_raw = _read(fh, "spectra/kind")
                kinds = _decode_text(kinds_raw, n)
                pipeline = _text(fh.attrs.get("pipeline", "")) or None
                checksum = _text(_attr(fh, "checksum"))
                base = [_text(c) for c in fh.attrs.get("base_columns", [])]
                present = {k: _read(fh, f"present/{k}") for k in fh.get("present", {})}
                names = list(fh["columns"]) if "columns" in fh else []
                col_kinds = {k: _text(fh["columns"][k].attrs.get("kind", "text")) for k in names}
                digests = None
                if version >= 2:
                    digests = json.loads(_text(_attr(fh, "column_sha256")))
                    if not isinstance(digests, dict):
                        raise LibraryError(f"{path} is damaged: its column checksums cannot be read; {_REBUILD}")
                    # the arrays' own sha256 are written since nps_id 0.1 of 2026-12 (older files: columns only)
                    stored = set(names) | {f"present/{k}" for k in present} | {k for k in _CORE if k in digests}
                    if set(digests) != stored:
                        missing = sorted(set(digests) - stored)
                        raise LibraryError(
                            f"{path} is damaged: its columns ({', '.join(names) or 'none'}) are not those its checksums "
                            f"list{' (missing: ' + ', '.join(missing) + ')' if missing else ''}; {_REBUILD}"
                        )
                    for k, mask in present.items():
                        if _sha256(mask) != digests[f"present/{k}"]:
                            raise LibraryError(f"{path} is damaged: present/{k} does not match its checksum; {_REBUILD}")
                    core = {"peaks/mz": mz, "peaks/intensity": intensity, "peaks/offsets": offsets,
                            "spectra/precursor_mz": precursor, "spectra/kind": kinds_raw}
                    for k in _CORE:
                        if k in digests and _sha256(core[k]) != digests[k]:
                            raise LibraryError(
                                f"{path} is damaged: {k} was changed after it was written (its sha256 does not match "
                                f"the stored one); {_REBUILD}"
                            )
        except LibraryError:
            raise
        except KeyError as exc:
            raise LibraryError(f"{path} is damaged or incomplete: {_key_name(exc)} is missing; {_REBUILD}") from None
        except json.JSONDecodeError:
            raise LibraryError(f"{path} is damaged: its column checksums cannot be read; {_REBUILD}") from None
        except (OSError, ValueError, TypeError, RuntimeError) as exc:
            raise LibraryError(f"{path} is damaged ({_short(exc)}); {_REBUILD}") from None
        if not (np.isfinite(mz).all() and np.isfinite(intensity).all()):
            raise LibraryError(f"{path} is damaged: its peaks hold non-finite m/z or intensity values; {_REBUILD}")
        ms = np.repeat((kinds == "ms"), np.diff(offsets)) if offsets.size == n + 1 else None
        if ms is not None and ms.size == mz.size:
            out_of_bounds = bad_peaks(mz[ms], intensity[ms], "ms").any() or bad_peaks(mz[~ms], intensity[~ms], "ir").any()
            if out_of_bounds:
                raise LibraryError(
                    f"{path} is damaged: its peaks hold values no reader accepts (m/z <= 0 or > {MZ_MAX:g}, negative "
                    f"intensities); {_REBUILD}"
                )
        if np.isinf(precursor).any() or (precursor <= 0).any():
            raise LibraryError(f"{path} is damaged: it holds an infinite, zero or negative precursor m/z; {_REBUILD}")
        bad_kinds = set(kinds.tolist()) - _KINDS
        if bad_kinds:
            raise LibraryError(f"{path} is damaged: unknown spectrum kinds {sorted(bad_kinds)}; {_REBUILD}")
        if any(k not in ("text", "numeric") for k in col_kinds.values()):
            raise LibraryError(f"{path} is damaged: a column has an unknown kind; {_REBUILD}")
        try:
            lib = cls(mz, intensity, offsets, precursor, kinds, None, pipeline, present=present, checksum=checksum, path=path)
        except LibraryError as exc:
            raise LibraryError(f"{path} is damaged: {exc}; {_REBUILD}") from None
        for k, mask in present.items():
            if mask.shape != (n,):
                raise LibraryError(f"{path} is damaged: present/{k} has {mask.size} values for {n} spectra; {_REBUILD}")
        order = [c for c in base if c in col_kinds] + [c for c in names if c not in base]
        for k in order:  # loaded on first use
            lib._columns[k] = None
            lib._column_kinds[k] = col_kinds[k]
        lib._base_columns = [c for c in base if c in col_kinds]
        lib._digests = digests
        lib.format_version = version
        return lib

    # ------------------------------------------------------------------ saving
    def save(self, path: str | os.PathLike, *, fletcher32: bool = True) -> None:
        """Write the library to an HDF5 file (replacing it), then point the library at that file.

        The file is written under a name unique to this process in the target folder and renamed over `path`,
        while an advisory lock (``path + ".lock"``) is held: concurrent saves to one path wait for each other and
        each leaves a whole library; temporary files of killed saves are removed.

        Parameters
        ----------
        path : path
        fletcher32 : bool, default True
            Per-chunk checksums, verified on every read. False only to measure what they cost
            (``benchmarks/bench_library.py``): such a file is read without that check.
        """
        import h5py

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        columns = {k: self.column(k) for k in self._columns}
        with _lock(path.with_name(path.name + ".lock")):
            _remove_stale_partials(path)
            tmp = path.with_name(f"{path.name}.{os.getpid()}-{secrets.token_hex(4)}.partial")
            try:
                with h5py.File(tmp, "w", libver=("v110", "latest")) as fh:
                    fh.attrs["format_version"] = FORMAT_VERSION
                    # text as fixed-length UTF-8: kept in the object header, which HDF5 checksums (variable-length
                    # strings would sit in the global heap, which it does not)
                    fh.attrs["nps_id_version"] = _fixed(__version__)
                    fh.attrs["n_spectra"] = len(self)
                    fh.attrs["checksum"] = _fixed(self.checksum)
                    fh.attrs["pipeline"] = _fixed(self.pipeline or "")
                    fh.attrs["created"] = _fixed(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
                    fh.attrs["base_columns"] = np.array(
                        [c.encode("utf-8", "surrogateescape") for c in self._base_columns] or [b""], dtype=np.bytes_
                    )[: len(self._base_columns)]
                    _dataset(fh, "peaks/mz", np.ascontiguousarray(self.mz), fletcher32)
                    _dataset(fh, "peaks/intensity", np.ascontiguousarray(self.intensity), fletcher32)
                    _dataset(fh, "peaks/offsets", self.offsets, fletcher32)
                    _dataset(fh, "spectra/precursor_mz", self.precursor_mz, fletcher32)
                    kinds = _encode_text(list(self.kinds), "kind")
                    _dataset(fh, "spectra/kind", kinds, fletcher32)
                    fh.create_group("columns")
                    core = dict(zip(_CORE, (self.mz, self.intensity, self.offsets, self.precursor_mz, kinds)))
                    digests = {k: _sha256(fh[k][()]) for k in core}
                    for name, values in columns.items():
                        digests[name] = _write_column(fh, name, values, self._column_kinds[name], fletcher32)
                    for name, mask in self._present.items():
                        mask = np.asarray(mask, dtype=bool)
                        _dataset(fh, f"present/{name}", mask, fletcher32)
                        digests[f"present/{name}"] = _sha256(mask)
                    fh.attrs["column_sha256"] = _fixed(json.dumps(digests, sort_keys=True))
                with open(tmp, "rb+") as f:
                    os.fsync(f.fileno())
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    tmp.unlink()
                raise
        self.path = str(path)
        self._raw_text.clear()
        self._digests = digests
        self.format_version = FORMAT_VERSION
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
            blob = self._read_column(name)
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
            raw = self._read_column(name)
            try:
                values = _decode_text(raw, len(self)) if self._column_kinds[name] == "text" else raw
            except LibraryError as exc:
                raise LibraryError(f"{self.path}: column {name!r} is damaged ({exc}); {_REBUILD}") from None
            if values.shape != (len(self),):
                raise LibraryError(f"{self.path}: column {name!r} is damaged (shape {values.shape}); {_REBUILD}")
            values.flags.writeable = False
            self._columns[name] = values
        return values

    def _read_column(self, name: str) -> np.ndarray:
        """The stored data of column `name`, its chunk checksums and (format version >= 2) its sha256 checked."""
        import h5py

        try:
            with h5py.File(self.path, "r") as fh:
                raw = _read(fh, f"columns/{name}")
        except KeyError:
            raise LibraryError(f"{self.path}: column {name!r} is missing from the file; {_REBUILD}") from None
        except (OSError, ValueError, TypeError, RuntimeError) as exc:
            raise LibraryError(f"{self.path}: column {name!r} is damaged ({_short(exc)}); {_REBUILD}") from None
        if self._digests is not None and _sha256(raw) != self._digests.get(name):
            raise LibraryError(
                f"{self.path}: column {name!r} was changed after it was written (its sha256 does not match the "
                f"library's); do not trust this library: {_REBUILD}"
            )
        return raw

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

            path = Path(self.path)
            with _lock(path.with_name(path.name + ".lock")), h5py.File(path, "r+") as fh:
                if name in fh["columns"]:
                    del fh["columns"][name]
                digest = _write_column(fh, name, self._columns[name], self._column_kinds[name], True)
                if "column_sha256" in fh.attrs:  # format version >= 2: the stored checksums cover the new column
                    digests = json.loads(_text(fh.attrs["column_sha256"]))
                    digests[name] = digest
                    fh.attrs["column_sha256"] = _fixed(json.dumps(digests, sort_keys=True))
                    self._digests = digests

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
        """Recompute the checksums and compare them with the stored ones.

        Checks the library's ``checksum`` (peaks, precursors, kinds, the metadata it was built with) and, for a
        library file of format version 2 or later, the sha256 of every stored column (label columns included).
        False (with the reason logged) if anything differs or cannot be read.
        """
        try:
            if self._compute_checksum() != self.checksum:
                logger.warning("%s: the peaks or metadata differ from the library's checksum", self.path or "library")
                return False
            if self._digests is not None:
                for name in self._columns:
                    self._read_column(name)
        except LibraryError as exc:
            logger.warning("%s", exc)
            return False
        return True

    def info(self) -> dict[str, Any]:
        """Summary: size, peaks, kinds, techniques (:mod:`nps_id.spectra.technique`), ionisation types, structures,
        columns, pipeline, checksum."""
        from nps_id.spectra.technique import technique_counts

        out: dict[str, Any] = {
            "path": self.path,
            "format_version": self.format_version,
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


def _write_column(fh: Any, name: str, values: np.ndarray, kind: str, fletcher32: bool = True) -> str:
    """Write one column; return the sha256 of its stored data."""
    if "/" in name:
        raise LibraryError(f"column name {name!r} may not contain '/'")
    data = _encode_text(list(values), name) if kind == "text" else np.asarray(values)
    ds = _dataset(fh["columns"], name, data, fletcher32)
    ds.attrs["kind"] = _fixed(kind)
    return _sha256(data)


def _dataset(group: Any, name: str, data: np.ndarray, fletcher32: bool = True) -> Any:
    """A 1-D dataset; chunked with per-chunk fletcher32 checksums unless `fletcher32` is False."""
    if not fletcher32:
        return group.create_dataset(name, data=data)
    n_chunks = max(1, -(-int(data.size) // _CHUNK))
    chunk = max(1, -(-int(data.size) // n_chunks))  # equal chunks: HDF5 stores the last one whole
    maxshape = (None,) if data.size == 0 else None
    return group.create_dataset(name, data=data, chunks=(chunk,), maxshape=maxshape, fletcher32=True)


def _read(fh: Any, name: str, path: Path | None = None) -> np.ndarray:
    """Read a dataset whole (chunk checksums verified by HDF5); memory-map it if `path` is given and it is stored
    contiguous without filters (format version 1)."""
    if name not in fh:
        raise KeyError(name)
    ds = fh[name]
    if path is not None and ds.chunks is None and ds.size:
        offset = ds.id.get_offset()
        if offset is not None:
            return np.memmap(path, dtype=ds.dtype, mode="r", offset=offset, shape=ds.shape)
    return np.asarray(ds[()])


def _fixed(text: str) -> np.bytes_:
    """Text as a fixed-length UTF-8 attribute value (stored in the checksummed object header)."""
    return np.bytes_(text.encode("utf-8", "surrogateescape") or b"\x00")


def _text(value: Any) -> str:
    """An attribute's text: fixed-length UTF-8 bytes (format version 2) or a str (version 1)."""
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).rstrip(b"\x00").decode("utf-8", "surrogateescape")
    return str(value)


def _attr(fh: Any, name: str) -> Any:
    if name not in fh.attrs:
        raise KeyError(f"attribute {name}")
    return fh.attrs[name]


def _sha256(arr: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) < 200 else text[:200] + "..."


def _key_name(exc: KeyError) -> str:
    text = str(exc.args[0]) if exc.args else "a part"
    return text if len(text) < 200 else text[:200] + "..."


def _open_failure(path: Path, exc: OSError) -> str:
    text = str(exc)
    if "already open for write" in text.lower():
        return (
            f"{path} is marked as open for writing: a process is writing it, or one was stopped while writing it "
            f"(HDF5 consistency flag). If none is running, clear the mark with `h5clear -s {path}` (HDF5 tools) or "
            "rebuild it with `python -m nps_id library build`"
        )
    if "lock" in text.lower():
        return (
            f"{path} is locked by another process that is writing it (HDF5 file lock): wait for that process to "
            "finish and try again"
        )
    if "signature" in text.lower() or "not an hdf5" in text.lower():
        return f"{path} is not an HDF5 file; build a library with `python -m nps_id library build`"
    return f"{path} is not an HDF5 file or is damaged ({_short(exc)}); {_REBUILD}"


def _lock(path: Path) -> Any:
    """The lock on `path` (``LIB.h5.lock``) held while the library ``LIB.h5`` is written."""
    from nps_id._filelock import file_lock

    return file_lock(path, f"writing {path.with_suffix('')}")


def _remove_stale_partials(path: Path) -> None:
    """Remove temporary files of earlier saves of `path` (called with the lock held: their writers are gone)."""
    import glob

    stale = [path.with_name(path.name + ".partial")]  # the name nps_id < format version 2 used
    stale += path.parent.glob(glob.escape(path.name) + ".*.partial")
    for f in stale:
        if f.is_file():
            logger.info("removing %s, left by an interrupted library build", f)
            with contextlib.suppress(OSError):
                f.unlink()


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
