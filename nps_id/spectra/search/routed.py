"""Search a mixed library by technique: each query only against references of its own technique.

A library may hold GC-EI, MS/MS and full-scan spectra side by side (the default library does). The technique router
(:mod:`nps_id.spectra.technique`) gives every reference and every query its technique; :class:`RoutedIndex` keeps one
:class:`~nps_id.spectra.search.SearchIndex` per searchable technique, over that technique's rows only, and sends
each query to the index of its technique. So a GC-EI query can never get an ESI hit, whatever the library holds.

Search settings per technique (:data:`TECHNIQUE_SEARCH`): GC-EI at nominal mass (library and queries) with the NIST
composite match factor; MS/MS with spectral entropy similarity (open search). ``classify``, ``search``, the identity
calibration and the evaluation all use this one class.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nps_id.spectra.technique import route_columns, technique_of

__all__ = ["TECHNIQUE_SEARCH", "RoutedIndex", "RoutedResult", "unsearchable_reason"]

logger = logging.getLogger(__name__)

#: search settings of each searchable technique
TECHNIQUE_SEARCH: dict[str, dict[str, Any]] = {
    "gc_ei": {"metric": "nist", "nominal": True},
    "msms": {"metric": "entropy", "nominal": False},
}

_NAMES = {"gc_ei": "GC-EI", "msms": "MS/MS", "full_scan": "full-scan", "ir": "IR", "raman": "Raman"}


def unsearchable_reason(technique: str, library_has: bool = False) -> str | None:
    """Why a query of `technique` gets no search (None when it is searched)."""
    if technique in TECHNIQUE_SEARCH:
        if library_has:
            return None
        return f"the library holds no {_NAMES[technique]} spectra to compare with; use a library of that kind (-l)"
    if technique == "full_scan":
        return ("full-scan (MS1) spectrum of a soft ionisation (ESI/APCI/...): it is neither searched against GC-EI "
                "references nor classified; give its MS/MS spectrum, or EI metadata if it is a GC-EI spectrum")
    return (f"{_NAMES.get(technique, technique)} spectra are read, but library search and classification cover mass "
            "spectra (GC-EI, MS/MS) only in this version")


@dataclass
class RoutedResult:
    """Top-k hits per query from :meth:`RoutedIndex.search`.

    Attributes
    ----------
    indices : ndarray of int64 [n_queries, k]
        Rows of the *whole* library, best first; -1 where none.
    scores : ndarray of float64 [n_queries, k]
        Scores (0-1) of the technique's metric; NaN where no hit.
    techniques : list of Technique
        Each query's technique.
    notes : list of (str or None)
        Why a query was not searched (or was emptied by the library's processing); None where it was searched.
    groups : dict
        technique -> (query positions, prepared query table, SearchIndex, library rows of that index), for
        scoring further pairs (:meth:`RoutedIndex.reverse_scores`).
    shifts : ndarray of float64 [n_queries, k] or None
        Hybrid mode: each hit's mass shift (Da, query minus reference; 0: matched directly; NaN: no hit).
    """

    indices: np.ndarray
    scores: np.ndarray
    techniques: list[Any]
    notes: list[str | None]
    groups: dict[str, tuple[np.ndarray, Any, Any, np.ndarray]] = field(default_factory=dict)
    shifts: np.ndarray | None = None


class RoutedIndex:
    """One search index per technique of a library (see the module docstring).

    Parameters
    ----------
    library : SpectralLibrary
    store : bool, default True
        For a library file, keep each technique's index beside it (``LIB.search/<technique>/``) and reuse it
        while the library is unchanged.
    """

    def __init__(self, library: Any, *, store: bool = True) -> None:
        from nps_id.spectra.search.index import SearchIndex, index_path

        self.library = library
        self.techniques, self.inferred = route_columns(library)
        base = getattr(library, "path", None) if store else None
        self.indexes: dict[str, tuple[np.ndarray, Any]] = {}
        for t, settings in TECHNIQUE_SEARCH.items():
            rows = np.flatnonzero(self.techniques == t)
            if not rows.size:
                continue
            sub = library if rows.size == len(library) else library.select(rows)
            if base:
                si = SearchIndex.open(sub, index_path(base) / t, nominal=settings["nominal"])
            else:
                si = SearchIndex(sub, nominal=settings["nominal"])
            self.indexes[t] = (rows, si)

    def counts(self) -> dict[str, int]:
        """Reference spectra per technique."""
        names, n = np.unique(self.techniques, return_counts=True)
        return {str(a): int(b) for a, b in zip(names, n)}

    def search(self, spectra: list[Any], k: int = 10, *, metric: str | None = None, persist: bool = True,
               **options: Any) -> RoutedResult:
        """Search each query against the references of its own technique.

        Parameters
        ----------
        spectra : list of Spectrum
        k : int
            Hits per query.
        metric : str, optional
            Override the technique's metric (:data:`TECHNIQUE_SEARCH`).
        persist : bool, default True
            Store newly built stage-1 matrices beside the library file.
        **options
            Passed to :meth:`SearchIndex.search_prepared` (mode, n_candidates, device, ...).
        """
        q = len(spectra)
        idx = np.full((q, k), -1, dtype=np.int64)
        sc = np.full((q, k), np.nan)
        shifts = np.full((q, k), np.nan) if options.get("mode") == "hybrid" else None
        techs = [technique_of(s) for s in spectra]
        notes: list[str | None] = [None] * q
        members: dict[str, list[int]] = {}
        for j, t in enumerate(techs):
            members.setdefault(t.name, []).append(j)
        groups = {}
        for t, js in members.items():
            reason = unsearchable_reason(t, t in self.indexes)
            if reason is not None:
                for j in js:
                    notes[j] = reason
                continue
            rows, si = self.indexes[t]
            table, kept = si.prepare([spectra[j] for j in js])
            pos = np.asarray(js, dtype=np.int64)
            for j in np.setdiff1d(pos, pos[kept]):
                notes[int(j)] = "the library's processing pipeline left no peaks of this spectrum"
            pos = pos[kept]
            if pos.size:
                res = si.search_prepared(table, k, metric=metric or TECHNIQUE_SEARCH[t]["metric"], **options)
                found = res.indices >= 0
                idx[pos] = np.where(found, rows[np.maximum(res.indices, 0)], -1)
                sc[pos] = np.where(found, np.clip(res.scores, 0.0, 1.0), np.nan)
                if shifts is not None and res.shifts is not None:
                    shifts[pos] = np.where(found, res.shifts, np.nan)
                if persist:
                    si.persist()
            groups[t] = (pos, table, si, rows)
        return RoutedResult(idx, sc, techs, notes, groups, shifts)

    def reverse_scores(self, result: RoutedResult, rank: int = 0) -> np.ndarray:
        """Reverse match factor (0-1; only query peaks present in the reference count) of each query's hit at
        `rank`, for GC-EI queries (NaN elsewhere and where there is no hit)."""
        from nps_id.spectra.search.exact import MetricParams, score_pairs

        out = np.full(len(result.notes), np.nan)
        group = result.groups.get("gc_ei")
        if group is None:
            return out
        pos, table, si, rows = group
        lib_rows = result.indices[pos, rank]
        ok = lib_rows >= 0
        if not ok.any():
            return out
        local = np.searchsorted(rows, lib_rows[ok])  # rows are sorted: whole-library row -> index row
        pq = np.flatnonzero(ok).astype(np.int64)
        out[pos[ok]] = score_pairs(table, si.table, pq, local, MetricParams("nist", reverse=True))
        return out
