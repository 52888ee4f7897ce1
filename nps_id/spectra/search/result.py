"""The result of a library search: the top-k hits per query, as library row indices and scores."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["SearchResult"]


@dataclass
class SearchResult:
    """Top-k hits per query: library row indices (-1 where fewer hits) and scores (NaN there).

    Attributes
    ----------
    indices : ndarray of int64 [n_queries, k]
    scores : ndarray of float64 [n_queries, k]
    metric, mode : str
    timings : dict
        Seconds spent per stage.
    dropped : ndarray of bool [n_queries] or None
        Queries that the library's processing pipeline emptied (they have no hits); None when none was.
    shifts : ndarray of float64 [n_queries, k] or None
        Hybrid mode: the mass difference (Da, query minus reference) by which each hit's shifted peaks matched;
        0 where the direct score won, NaN where no hit; None in the other modes.
    """

    indices: np.ndarray
    scores: np.ndarray
    metric: str
    mode: str
    timings: dict[str, float] = field(default_factory=dict)
    dropped: np.ndarray | None = None
    shifts: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.indices.shape[0])

    def to_records(self, library: Any = None, columns: tuple[str, ...] = ("name", "inchikey")) -> list[dict[str, Any]]:
        """One dict per (query, rank) hit, with the library's `columns` where a library is given (and, in hybrid
        mode, ``shift``: query minus reference, Da)."""
        cols = {}
        if library is not None and hasattr(library, "column"):
            for c in columns:
                try:
                    cols[c] = library.column(c)
                except Exception:  # column absent in this library
                    pass
        out = []
        for qi in range(self.indices.shape[0]):
            for r in range(self.indices.shape[1]):
                li = int(self.indices[qi, r])
                if li < 0:
                    break
                rec = {"query": qi, "rank": r + 1, "library_index": li, "score": float(self.scores[qi, r])}
                if self.shifts is not None:
                    rec["shift"] = float(self.shifts[qi, r])
                for c, v in cols.items():
                    rec[c] = v[li]
                out.append(rec)
        return out
