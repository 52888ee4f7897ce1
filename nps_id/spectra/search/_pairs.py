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
    """Hybrid score: direct fragment matches, plus matches shifted by the precursor difference for peaks that
    found no direct partner (each peak used once); scored with the metric's formula (for ``nist`` the composite
    match factor, its ratio term taken over the matches in the query's m/z order)."""
    from nps_id.spectra.search.exact import (
        _cosine_or_composite,
        _entropy_terms,
        _seg_norms,
        _weights,
        greedy_matches,
        match_peaks,
    )

    P = pq.size
    if P == 0:
        return np.zeros(0)
    d_pair, d_q, d_l = match_peaks(q, lib, pq, pl, params.tol, params.ppm)
    shift = q.precursor_mz[pq] - lib.precursor_mz[pl]
    shift = np.where(np.isfinite(shift), shift, 1e9)
    s_pair, s_q, s_l = match_peaks(q, lib, pq, pl, params.tol, params.ppm, shift=shift)
    pair = np.concatenate([d_pair, s_pair])
    qp = np.concatenate([d_q, s_q])
    lp = np.concatenate([d_l, s_l])
    if params.metric == "entropy":
        w = _entropy_terms(q.intensity[qp], lib.intensity[lp])
    else:
        mp, ip = params.powers
        wq, wl = _weights(q, mp, ip), _weights(lib, mp, ip)
        w = wq[qp] * wl[lp]
    # direct matches first: rank them above every shifted one, then greedy one-to-one
    prio = np.concatenate([np.ones(d_pair.size), np.zeros(s_pair.size)])
    keep = greedy_matches(pair, qp, lp, prio * (np.abs(w).max() + 1) + w)
    pair, qp, lp, w = pair[keep], qp[keep], lp[keep], w[keep]
    if params.metric == "entropy":
        return np.bincount(pair, weights=w, minlength=P)
    # cosine, or the composite (its ratio term over the matches in the query's m/z order)
    nl = _seg_norms(wl, lib.offsets)[pl]
    return _cosine_or_composite(pair, wq[qp], wl[lp], q.mz[qp], q, wq, pq, nl, params)
