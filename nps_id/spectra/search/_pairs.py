"""Scoring candidate pairs of a search: pieces on a thread pool, top-k per query, hybrid scores.

Helpers of :class:`~nps_id.spectra.search.index.SearchIndex`: a (query, library spectrum) pair is two row indices
``pq``, ``pl`` into the query and library peak tables.
"""

from __future__ import annotations

import os

import numpy as np

from nps_id.spectra.search._peaks import PeakTable
from nps_id.spectra.search.exact import MetricParams


def _in_pieces(score, pq: np.ndarray, pl: np.ndarray, piece: int = 8192) -> np.ndarray:
    """``score(pq, pl)`` computed over pieces of `piece` pairs in a thread pool, concatenated in order.

    The pieces' arrays stay cache-sized, and numpy releases the GIL in the gathers and arithmetic that make
    up the exact scores, so the threads run on all cores (about 3x one big call on 2 cores).
    """
    if pq.size <= piece:
        return score(pq, pl)
    from concurrent.futures import ThreadPoolExecutor

    starts = range(0, pq.size, piece)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    with ThreadPoolExecutor(min(8, cores)) as pool:
        return np.concatenate(list(pool.map(lambda a: score(pq[a : a + piece], pl[a : a + piece]), starts)))


def _top_k_per_query(pq, pl, sc, nq, k, idx_out, sc_out) -> None:
    """Top-k (score descending, then library index) per query from scored pairs, vectorised."""
    if pq.size == 0:
        return
    order = np.lexsort((pl, -sc, pq))
    pq, pl, sc = pq[order], pl[order], sc[order]
    start = np.searchsorted(pq, np.arange(nq))
    rank = np.arange(pq.size) - start[pq]
    keep = rank < k
    idx_out[pq[keep], rank[keep]] = pl[keep]
    sc_out[pq[keep], rank[keep]] = sc[keep]


def _hybrid_scores(q: PeakTable, lib: PeakTable, pq, pl, params: MetricParams) -> np.ndarray:
    """Hybrid scores of the pairs ``(pq, pl)`` (:func:`nps_id.spectra.search.hybrid.hybrid_scores`; its shifts
    dropped): direct matches plus matches shifted by the precursor difference (MS/MS) or by the best shift between
    the high-mass peaks (no precursor), weighed by how much of both spectra the matches explain."""
    from nps_id.spectra.search.hybrid import hybrid_scores

    return hybrid_scores(q, lib, pq, pl, params)[:, 0]
