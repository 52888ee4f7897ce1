"""The search index: built once from a library, stored beside it, and the two-stage search.

Stage 1 (coarse, :mod:`~nps_id.spectra.search.binned`): dense 1-Da-bin rows, chunked matrix products in torch
(bf16 or fp32; CPU or CUDA through the same code), running top-``n_candidates`` per query.
Stage 2 (exact, :mod:`~nps_id.spectra.search.exact`): the chosen metric recomputed from the peaks for those
candidates only, vectorised over all (query, candidate) pairs; the top ``k`` by exact score are returned.
Identity search (MS/MS) skips stage 1: every library spectrum within the precursor window is scored exactly.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from nps_id.errors import LibraryError
from nps_id.spectra.search._peaks import PeakTable, as_peak_table, resolve_device
from nps_id.spectra.search._exact_stage import bounded_exact, exact_scores
from nps_id.spectra.search._pairs import _in_pieces, _top_k_per_query
from nps_id.spectra.search._queries import _batch_bounds, _empty_table, _pipeline
from nps_id.spectra.search._store import (
    INDEX_VERSION,
    _bin_mass,
    _bins,
    _spec_key,
    _to_storage,
    index_path,
    load_stored,
    write_stored,
)
from nps_id.spectra.search.binned import SPARSE_QUERIES, bin_rows, coarse_topk, fold_columns, torch_dtype
from nps_id.spectra.search.clean import clean_for_entropy, entropy_weights
from nps_id.spectra.search.exact import MetricParams, is_unit_mass, unit_rows
from nps_id.spectra.search.nominal import to_nominal
from nps_id.spectra.search.result import SearchResult

__all__ = ["SearchIndex", "SearchResult", "MODES", "INDEX_VERSION", "index_path"]

logger = logging.getLogger(__name__)

MODES = ("similarity", "reverse", "identity", "hybrid")
#: stage-1 candidates per query by default (see ``SearchIndex``), and in hybrid mode
DEFAULT_CANDIDATES = 200
HYBRID_CANDIDATES = 50
#: stage-1 weights of the NIST composite (exact weights mz**3 * intensity**0.6): its shared-peak term rewards many
#: matched peaks, which flatter weights rank better; on a generated 100k library the exact top-1 was among the 50
#: candidates for 96.5 % of 1,000 queries with the exact weights, 99.9 % with these (100 % with 100 candidates)
NIST_STAGE1_POWERS = (2.0, 0.4)
#: candidates per query of the NIST composite, as a multiple of the index's ``n_candidates`` (generated 1M library,
#: 400 queries: the exhaustive top-1 among 200 candidates for 99.5 %, among 400 for all)
NIST_CANDIDATES = 2


class SearchIndex:
    """Search index of one spectral library (see the module docstring).

    Parameters
    ----------
    library : SpectralLibrary or sequence of Spectrum
        The reference spectra; hits are row indices into it.
    coarse_dtype : {"bf16", "fp32"}, default "bf16"
        Precision of the stage-1 matrices.
    chunk : int, optional
        Library spectra per matrix product in stage 1 (default: sized to the query batch).
    n_candidates : int, optional
        Candidates per query passed from stage 1 to exact scoring. Default: 200 (bf16 stage-1 scores are rounded
        to about 0.4 %: on a generated library of 1M distinct spectra 50 candidates missed the exhaustive cosine
        top-1 of 2 of 200 queries, by up to 0.003, 200 none), 50 in hybrid mode; twice that for ``nist``.
    coarse_columns : int or None, default 256
        For unit-mass libraries without precursors (GC-EI), the 1-Da bins of the library's m/z range (about 680
        for SWGDRUG) are folded into this many stage-1 columns, the most intense bins (summed squared intensity
        over the library) sharing a column with the least intense ones
        (:func:`~nps_id.spectra.search.binned.fold_columns`). Fewer columns mean less matrix-product work; no
        peak is dropped, a folded stage-1 score is never below the unfolded one, and the exact stage re-scores
        from the peaks. None: one column per bin.
    nominal : bool, optional
        Search on nominal mass (:mod:`~nps_id.spectra.search.nominal`): queries, and with ``True`` the library's
        spectra too, are rounded to integer m/z with the peaks of one integer bin summed. Default (None): when the
        library is unit mass. GC-EI searches pass ``True`` (:mod:`~nps_id.spectra.search.routed`).

    Query processing belongs to the index (:meth:`prepare`): the library's stored processing pipeline is applied to
    query spectra, then nominal mass where the index is nominal, so that every entry point (``search``,
    ``classify``, evaluation) scores queries exactly as the library's spectra were prepared.

    Examples
    --------
    >>> index = SearchIndex.open(library)  # doctest: +SKIP
    >>> hits = index.search(queries, k=5, metric="nist")  # doctest: +SKIP
    >>> hits.indices[0], hits.scores[0]  # doctest: +SKIP
    """

    def __init__(self, library: Any, *, coarse_dtype: str = "bf16", chunk: int | None = None, n_candidates: int | None = None,
                 coarse_columns: int | None = 256, nominal: bool | None = None) -> None:
        torch_dtype(coarse_dtype)
        self.library = library
        table = as_peak_table(library)
        if nominal is None:
            nominal = is_unit_mass(table, 0.02)
        self.nominal = bool(nominal)
        self.table: PeakTable = to_nominal(table) if self.nominal else table
        self.pipeline: str | None = getattr(library, "pipeline", None) or None
        self.coarse_dtype = coarse_dtype
        self.chunk = None if chunk is None else int(chunk)
        self.n_candidates = None if n_candidates is None else int(n_candidates)
        self.checksum = getattr(library, "checksum", None)
        mz = self.table.mz
        self.lo = max(0, int(np.floor(mz.min())) if mz.size else 0)
        hi = int(np.ceil(mz.max())) if mz.size else 1
        prec = self.table.precursor_mz[np.isfinite(self.table.precursor_mz)]
        hi = max(hi, int(np.ceil(prec.max())) if prec.size else 0)
        self.width = -(-(hi - self.lo + 1) // 16) * 16
        self.unit_mass = self.nominal or is_unit_mass(self.table, 0.02)
        self.colmap: np.ndarray | None = None  # bin -> stage-1 column, where bins are folded
        if coarse_columns and self.width > coarse_columns and self.unit_mass and (self.nominal or not prec.size):
            self.colmap = fold_columns(_bin_mass(self.table, self.lo, self.width), int(coarse_columns))
        self.columns = self.width if self.colmap is None else int(self.colmap.max()) + 1
        self._matrices: dict[str, np.ndarray] = {}
        self._on_device: dict[tuple[str, str], Any] = {}
        self._entropy_table: PeakTable | None = None
        self._prec_order: np.ndarray | None = None
        self.build_seconds = 0.0

    # ------------------------------------------------------------------ building and storing
    @classmethod
    def build(cls, library: Any, metrics: tuple[str, ...] = ("cosine",), **options: Any) -> "SearchIndex":
        """Build the index (the stage-1 matrices of `metrics`) now rather than on first use."""
        index = cls(library, **options)
        for m in metrics:
            index._matrix(index._coarse_spec(MetricParams(m)))
        return index

    @classmethod
    def open(cls, library: Any, path: str | os.PathLike | None = None, *, build: bool = True, **options: Any) -> "SearchIndex":
        """Load the stored index of `library` (``LIB.search/`` beside its file, or `path`), checking that it
        belongs to this library (checksum); a stale or missing index is rebuilt (``build=True``) or refused.

        Raises
        ------
        LibraryError
            If the stored index is stale or missing and ``build=False``.
        """
        index = cls(library, **options)
        if path is None and getattr(library, "path", None):
            path = index_path(library.path)
        if path is None:
            if not build:
                raise LibraryError("the library has no file, so no stored index; build one with SearchIndex.build")
            return index
        load_stored(index, Path(path), build)
        return index

    def save(self, path: str | os.PathLike | None = None) -> Path:
        """Write the built matrices and a ``meta.json`` (library checksum, parameters, each matrix's sha256) to
        `path` (a folder; default: where the index was opened from, or beside the library's file)."""
        if path is None:
            path = getattr(self, "_path", None)
            if path is None and getattr(self.library, "path", None):
                path = index_path(self.library.path)
        if path is None:
            raise LibraryError("give a path: the library has no file to store the index beside")
        self._path = write_stored(self, Path(path))
        return self._path

    def persist(self) -> bool:
        """Store the matrices built since :meth:`open` in the index folder it was opened from, if any.

        Processes that search the same library (``classify -j``) then reuse one stored, memory-mapped index.
        A folder that cannot be written (a read-only shared library) is logged and left alone.

        Returns
        -------
        bool
            Whether anything was written.
        """
        path = getattr(self, "_path", None)
        if path is None or all(isinstance(a, np.memmap) for a in self._matrices.values()):
            return False
        try:
            self.save(path)
        except OSError as exc:
            logger.info("search index not stored at %s (%s); it is built in memory each time", path, exc)
            return False
        return True

    # ------------------------------------------------------------------ stage-1 matrices
    def _coarse_spec(self, params: MetricParams, neutral_loss: bool = False) -> tuple:
        kind = "nl" if neutral_loss else "frag"
        # reverse search divides by the query's norm on the library spectrum's bins: it needs them unfolded
        folded = self.colmap is not None and not params.reverse
        if params.metric == "entropy":
            return (kind, 0.0, 0.5, "entropy", folded)
        mp, ip = NIST_STAGE1_POWERS if params.metric == "nist" and params.powers == (3.0, 0.6) else params.powers
        return (kind, float(mp), float(ip), "raw", folded)

    def entropy_table(self) -> PeakTable:
        """The library cleaned and entropy-weighted as FlashEntropySearch does (computed once)."""
        if self._entropy_table is None:
            self._entropy_table = entropy_weights(clean_for_entropy(self.table, min_diff=0.05, precursor_removal=1.6))
        return self._entropy_table

    def _matrix(self, spec: tuple) -> np.ndarray:
        key = _spec_key(spec)
        if key not in self._matrices:
            t0 = time.perf_counter()
            kind, mp, ip, source, folded = spec
            table = self.entropy_table() if source == "entropy" else self.table
            n = len(table)
            colmap = self.colmap if folded else None
            cols = self.width if colmap is None else self.columns
            out = np.empty((cols, n), dtype=np.uint16 if self.coarse_dtype == "bf16" else np.float32)
            step = max(1, (1 << 24) // self.width)
            for s in range(0, n, step):
                rows = bin_rows(table, self.lo, self.width, mp, ip, kind == "nl", slice(s, min(n, s + step)), colmap)
                out[:, s : s + rows.shape[0]] = _to_storage(rows, self.coarse_dtype).T
            self._matrices[key] = out
            self.build_seconds += time.perf_counter() - t0
            logger.info("built stage-1 matrix %s (%d x %d) in %.1f s", key, n, cols, time.perf_counter() - t0)
        return self._matrices[key]

    def _device_matrix(self, spec: tuple, device: str):
        import torch

        key = (_spec_key(spec), device)
        if key not in self._on_device:
            arr = self._matrix(spec)
            with warnings.catch_warnings():  # a memory-mapped, read-only index: torch only reads it
                warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
                t = torch.from_numpy(np.ascontiguousarray(arr))
            if self.coarse_dtype == "bf16":
                t = t.view(torch.bfloat16)
            self._on_device[key] = t.to(device)
        return self._on_device[key]

    def _lib_weights(self, params: MetricParams) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """Per-peak library weights of the metric, per-spectrum norms (cosine/nist) and per-peak 1-Da bins,
        computed once."""
        from nps_id.spectra.search.exact import _seg_norms, _weights

        key = ("entropy",) if params.metric == "entropy" else params.powers
        cache = self.__dict__.setdefault("_weight_cache", {})
        if key not in cache:
            if params.metric == "entropy":
                table = self.entropy_table()
                cache[key] = (np.asarray(table.intensity, dtype=np.float32), None, _bins(table))
            else:
                w = _weights(self.table, *params.powers)
                cache[key] = (w, _seg_norms(w, self.table.offsets), _bins(self.table))
        return cache[key]

    # ------------------------------------------------------------------ queries
    def prepare(self, queries: Any) -> tuple[PeakTable, np.ndarray]:
        """Process query spectra as this library's spectra were: the library's pipeline, then nominal mass.

        Parameters
        ----------
        queries : Spectrum, sequence of Spectrum, SpectralLibrary or PeakTable
            Spectrum objects go through the library's stored pipeline (a spectrum it empties is dropped); a
            library or peak table is taken as already processed. Nominal indexes put every query on nominal mass.

        Returns
        -------
        table : PeakTable
            The kept queries, ready to score.
        kept : ndarray of int64
            Position of each row of `table` among the queries.
        """
        from nps_id.spectra.spectrum import Spectrum

        if isinstance(queries, Spectrum):
            queries = [queries]
        if self.pipeline and isinstance(queries, (list, tuple)) and all(isinstance(q, Spectrum) for q in queries):
            pipe = _pipeline(self.pipeline)
            processed = [pipe(q) for q in queries]
            kept = np.array([i for i, q in enumerate(processed) if q is not None], dtype=np.int64)
            if kept.size < len(queries):
                logger.info("%d of %d queries were emptied by the library's processing pipeline",
                            len(queries) - kept.size, len(queries))
            qt = as_peak_table([processed[i] for i in kept]) if kept.size else _empty_table()
        else:
            qt = as_peak_table(queries)
            kept = np.arange(len(qt), dtype=np.int64)
        return (to_nominal(qt) if self.nominal else qt), kept

    # ------------------------------------------------------------------ search
    def search(self, queries: Any, k: int = 10, **options: Any) -> SearchResult:
        """Score queries against the library and return the top `k` hits per query.

        Queries are first processed by :meth:`prepare` (the library's pipeline; nominal mass); a query the pipeline
        empties gets no hits (index -1, score NaN) and is flagged in :attr:`SearchResult.dropped`. The options
        are those of :meth:`search_prepared`.
        """
        qt, kept = self.prepare(queries)
        n = len(as_peak_table(queries)) if not isinstance(queries, (list, tuple)) else len(queries)
        if kept.size == n:
            return self.search_prepared(qt, k, **options)
        res = self.search_prepared(qt, k, **options) if kept.size else None
        k = int(k)
        idx = np.full((n, k), -1, dtype=np.int64)
        sc = np.full((n, k), np.nan)
        dropped = np.ones(n, dtype=bool)
        dropped[kept] = False
        metric, mode = options.get("metric", "cosine"), options.get("mode", "similarity")
        shifts = np.full((n, k), np.nan) if mode == "hybrid" else None
        if res is not None:
            idx[kept], sc[kept] = res.indices, res.scores
            if shifts is not None and res.shifts is not None:
                shifts[kept] = res.shifts
        return SearchResult(idx, sc, metric, mode, res.timings if res is not None else {}, dropped, shifts)

    def search_prepared(
        self,
        queries: Any,
        k: int = 10,
        *,
        metric: str = "cosine",
        mode: str = "similarity",
        tolerance: float | None = None,
        ppm: bool = False,
        mz_power: float | None = None,
        intensity_power: float | None = None,
        precursor_tolerance: float = 0.01,
        n_candidates: int | None = None,
        batch_size: int | None = None,
        device: str = "cpu",
        progress: bool = False,
    ) -> SearchResult:
        """Score queries already processed by :meth:`prepare` and return the top `k` hits per query.

        Parameters
        ----------
        queries : PeakTable, SpectralLibrary, or sequence of Spectrum
            The query spectra, processed the same way as the library (:meth:`prepare`).
        k : int, default 10
            Hits per query.
        metric : {"cosine", "entropy", "nist"}, default "cosine"
            Exact score (see :mod:`nps_id.spectra.search.exact`).
        mode : {"similarity", "reverse", "identity", "hybrid"}, default "similarity"
            ``similarity``: open search over the whole library; ``reverse``: only query peaks present in the
            library spectrum count (mixtures; cosine/nist); ``identity``: library spectra whose precursor m/z is
            within `precursor_tolerance` Da of the query's, all scored exactly (MS/MS); ``hybrid``: fragment
            matches plus matches shifted by a mass difference (analogue search): the precursor difference where
            both spectra have a precursor (MS/MS), else the best of the shifts between their high-mass peaks
            (GC-EI); the score weighs how much of both spectra the matches explain and the shift of each hit is
            in :attr:`SearchResult.shifts` (:mod:`~nps_id.spectra.search.hybrid`).
        tolerance, ppm : float, bool
            Peak matching tolerance (Da, or ppm with ``ppm=True``); metric default if None.
        mz_power, intensity_power : float, optional
            Peak weighting of cosine/nist (metric defaults if None).
        precursor_tolerance : float, default 0.01
            Precursor window (Da) for identity mode.
        n_candidates : int, optional
            Stage-1 candidates per query (default: :meth:`default_candidates`; twice the index's for ``nist``,
            whose shared-peak term stage 1 only approximates); ``len(library)`` makes it exhaustive.
        batch_size : int, optional
            Queries per batch (default 1024 on the CPU, 8192 on a GPU).
        device : {"cpu", "cuda"}, default "cpu"
            Where the search runs. On a GPU, unit-mass searches (GC-EI; modes ``similarity`` and ``reverse``)
            run both stages and the final top-k there (:mod:`~nps_id.spectra.search.device`); other searches
            run stage 1 there and the exact stage on the CPU.
        progress : bool, default False
            Show a progress bar (tqdm) over query batches.

        Returns
        -------
        SearchResult

        Raises
        ------
        DeviceError
            If ``device="cuda"`` and no CUDA device is available.
        ValueError
            For an unknown metric or mode, or identity mode on queries without precursor m/z.
        """
        device = resolve_device(device)
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; choose one of {MODES}")
        params = MetricParams(metric, tolerance, ppm, mz_power, intensity_power, reverse=(mode == "reverse"))
        qt = as_peak_table(queries)
        if self.nominal:  # as prepare does (no copy when already nominal): no query can leave the unit-mass path
            qt = to_nominal(qt)
        if mode == "identity":  # hybrid: without precursors, the shifts come from the high-mass peaks
            if not np.isfinite(qt.precursor_mz).all():
                raise ValueError(f"mode={mode!r} needs the precursor m/z of every query; some queries have none")
        k = int(k)
        if k < 1:
            raise ValueError("k must be >= 1")
        n_cand = max(k, int(n_candidates or self.default_candidates(metric, mode)))
        Q = len(qt)
        timings = {"coarse": 0.0, "exact": 0.0}
        lib_exact = self.entropy_table() if metric == "entropy" else self.table
        q_exact = (
            entropy_weights(clean_for_entropy(qt, min_diff=0.05, precursor_removal=1.6)) if metric == "entropy" else qt
        )
        unit_lib = self.unit_mass and not ppm and params.tol < 0.5
        if device != "cpu" and unit_lib and mode in ("similarity", "reverse"):
            from nps_id.spectra.search import device as dv

            qd = dv.query_table(q_exact, params, device)
            if dv.is_unit_mass(qd, params.tol):
                return self._device_search(qd, k, params, n_cand, batch_size or 8192, device, progress)
        # per query, so that no query moves its batch off the unit-mass path (nominal indexes: every query)
        unit = unit_rows(q_exact, params.tol) if unit_lib else np.zeros(Q, dtype=bool)
        # stage 1 bounds the exact score from above (cosine, entropy on 1-Da bins): see _exact_stage.bounded_exact
        bounded = mode == "similarity" and metric in ("cosine", "entropy") and unit_lib and bool(unit.any())
        lw = partial(self._lib_weights, params)  # computed once per index, when first needed
        batch_size = batch_size or 1024
        idx_out = np.full((Q, k), -1, dtype=np.int64)
        sc_out = np.full((Q, k), np.nan)
        sh_out = np.full((Q, k), np.nan) if mode == "hybrid" else None
        if mode == "hybrid":
            from nps_id.spectra.search.hybrid import HybridParams, hit_values, hybrid_scores, union_pairs

            hp = getattr(self, "hybrid_params", None) or HybridParams()  # settable on the index (benchmarks)
            q_high, l_high = self._high_mass(q_exact, hp), self._high_mass(lib_exact, hp)
            unit_h = self.nominal and not ppm and params.tol < 0.5  # nominal queries and library: 1-Da bins
        for s, e in _batch_bounds(qt.n_peaks, batch_size, progress):  # bounded by queries and by peaks
            t0 = time.perf_counter()
            s1 = None
            if mode == "identity":
                pq, pl = self._identity_pairs(qt, s, e, precursor_tolerance)
            elif bounded and (e - s > SPARSE_QUERIES or device != "cpu"):  # dense stage-1 sums: bounded rounding
                pq, pl, s1 = self._coarse_pairs(qt, s, e, params, n_cand, device, values=True)
            else:
                nl = mode == "hybrid" and np.isfinite(self.table.precursor_mz).any()  # neutral losses need precursors
                pq, pl = self._coarse_pairs(qt, s, e, params, n_cand, device, hybrid=nl)
                if mode == "hybrid" and not nl:  # GC-EI analogues differ at high mass: candidates by low mass too
                    more = self._coarse_pairs(qt, s, e, hp.coarse_params(params), n_cand, device)
                    pq, pl = union_pairs(pq, pl, *more)
            t1 = time.perf_counter()
            if mode == "hybrid":
                hy = _in_pieces(lambda a, b: hybrid_scores(q_exact, lib_exact, a, b, params, q_high=q_high,
                                                           l_high=l_high, unit=unit_h, hybrid=hp), pq, pl, piece=2048)
                sc = hy[:, 0]
            elif s1 is not None:
                sc = bounded_exact(q_exact, lib_exact, pq, pl, s1, params, unit, k, lw, self.coarse_dtype)
            else:
                sc = exact_scores(q_exact, lib_exact, pq, pl, params, unit, lw)
            _top_k_per_query(pq - s, pl, sc, e - s, k, idx_out[s:e], sc_out[s:e])
            if mode == "hybrid":  # the shift of each kept hit
                sh_out[s:e] = hit_values(pq - s, pl, hy[:, 1], idx_out[s:e])
            timings["coarse"] += t1 - t0
            timings["exact"] += time.perf_counter() - t1
        return SearchResult(idx_out, sc_out, metric, mode, timings, shifts=sh_out)

    def _high_mass(self, table: PeakTable, h: Any) -> np.ndarray:
        """High-mass peaks of `table` for hybrid shifts (HybridParams `h`); the library's computed once."""
        from nps_id.spectra.search.hybrid import high_mass_peaks

        if table is not self.table and table is not self._entropy_table:
            return high_mass_peaks(table, h.n_peaks, h.min_relative)
        cache = self.__dict__.setdefault("_high_cache", {})
        key = ("entropy" if table is self._entropy_table else "plain", h.n_peaks, h.min_relative)
        if key not in cache:
            cache[key] = high_mass_peaks(table, h.n_peaks, h.min_relative)
        return cache[key]

    def default_candidates(self, metric: str = "cosine", mode: str = "similarity") -> int:
        """Stage-1 candidates per query when the search is not given `n_candidates`: the index's (default 200,
        50 in hybrid mode), times :data:`NIST_CANDIDATES` for ``nist``."""
        base = self.n_candidates or (HYBRID_CANDIDATES if mode == "hybrid" else DEFAULT_CANDIDATES)
        return base * (NIST_CANDIDATES if metric == "nist" else 1)

    def _device_search(self, qd: Any, k: int, params: MetricParams, n_cand: int, batch_size: int, device: str,
                       progress: bool = False) -> SearchResult:
        """Both stages and the top-k on `device` (:func:`~nps_id.spectra.search.device.search_unit`) for the
        unit-mass queries `qd` (a :func:`~nps_id.spectra.search.device.query_table`); any torch device, so tests
        run it on the CPU."""
        from nps_id.spectra.search.device import search_unit

        idx_out, sc_out, timings = search_unit(self, qd, k, params, n_cand, batch_size, device, progress)
        return SearchResult(idx_out, sc_out, params.metric, "reverse" if params.reverse else "similarity", timings)

    def _query_rows(self, qt: PeakTable, s: int, e: int, spec: tuple, device: str):
        import torch

        kind, mp, ip, source, folded = spec
        colmap = self.colmap if folded else None
        table = qt
        if source == "entropy":
            table = entropy_weights(clean_for_entropy(qt.take(np.arange(s, e)), min_diff=0.05, precursor_removal=1.6))
            rows = bin_rows(table, self.lo, self.width, mp, ip, kind == "nl", colmap=colmap)
        else:
            rows = bin_rows(table, self.lo, self.width, mp, ip, kind == "nl", slice(s, e), colmap)
        return torch.from_numpy(rows).to(device=device, dtype=torch_dtype(self.coarse_dtype))

    def _coarse_pairs(self, qt, s, e, params, n_cand, device, hybrid=False, values=False):
        """Stage-1 candidate pairs (query, library row) of queries ``s:e``; with `values` (not hybrid) also the
        [queries x candidates] stage-1 scores, descending per query, the pairs in the same order."""
        import torch

        specs = [self._coarse_spec(params)]
        if hybrid:
            specs.append(self._coarse_spec(params, neutral_loss=True))
        found = []
        with torch.inference_mode():
            for spec in specs:
                L = self._device_matrix(spec, device)
                qrows = self._query_rows(qt, s, e, spec, device)
                v, idx = coarse_topk(qrows, L, n_cand, self.chunk, reverse=params.reverse)
                found.append(idx.cpu().numpy())
        idx = np.concatenate(found, axis=1) if len(found) > 1 else found[0]
        pq = np.repeat(np.arange(s, e, dtype=np.int64), idx.shape[1])
        pl = idx.reshape(-1)
        if hybrid:  # drop duplicate candidates
            key = np.unique(pq * (len(self.table) + 1) + pl)
            pq, pl = key // (len(self.table) + 1), key % (len(self.table) + 1)
        if values and not hybrid:
            return pq, pl, v.cpu().numpy()
        return pq, pl

    def _identity_pairs(self, qt, s, e, tol):
        if self._prec_order is None:
            p = self.table.precursor_mz.astype(np.float32).astype(np.float64)
            order = np.argsort(np.where(np.isfinite(p), p, np.inf), kind="stable")
            self._prec_order = order
            self._prec_sorted = p[order]
        qp = qt.precursor_mz[s:e]
        a = np.searchsorted(self._prec_sorted, qp - tol, side="left")
        b = np.searchsorted(self._prec_sorted, qp + tol, side="right")
        cnt = b - a
        pq = np.repeat(np.arange(s, e, dtype=np.int64), cnt)
        first = np.repeat(np.cumsum(cnt) - cnt, cnt)
        pl = self._prec_order[np.repeat(a, cnt) + np.arange(pq.size) - first]
        return pq, pl
