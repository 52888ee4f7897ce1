"""The exact stage of a search: which engine scores which candidate pair, and which candidates need scoring.

Helpers of :meth:`~nps_id.spectra.search.index.SearchIndex.search_prepared`. The engine is chosen **per query**
(:func:`~nps_id.spectra.search.exact.unit_rows`), so that one query with decimal m/z or two peaks in one 1-Da bin
cannot move the other queries of its batch off the unit-mass engine (about 85x faster than tolerance matching).
For cosine and entropy the stage-1 score bounds the exact one from above, so only the candidates that can still
enter the top k are scored (:func:`bounded_exact`).
"""

from __future__ import annotations

import logging
from typing import Callable

import numpy as np

from nps_id.spectra.search._pairs import _in_pieces
from nps_id.spectra.search._peaks import PeakTable
from nps_id.spectra.search.exact import MetricParams, score_pairs, score_pairs_unit

__all__ = ["FIRST_EXACT", "bounded_exact", "exact_scores"]

logger = logging.getLogger(__name__)

#: candidates per query always scored exactly where stage 1 bounds the exact score (cosine, entropy)
FIRST_EXACT = 50


def exact_scores(q: PeakTable, lib: PeakTable, pq: np.ndarray, pl: np.ndarray, params: MetricParams,
                 unit: np.ndarray, lib_weights: Callable[[], tuple]) -> np.ndarray:
    """Exact scores of the pairs ``(pq, pl)``: pairs of unit-mass queries (`unit`, bool per query) on the
    1-Da-bin engine, the others (only where the index is not on nominal mass) with tolerance matching.

    `lib_weights` returns the library's per-peak weights, norms and bins for the unit-mass engine (called only
    when it is used).
    """
    fast = unit[pq]
    sc = np.empty(pq.size)
    if fast.any():
        lw = lib_weights()
        a, b = (pq, pl) if fast.all() else (pq[fast], pl[fast])
        sc[fast] = _in_pieces(lambda x, y: score_pairs_unit(q, lib, x, y, params, *lw), a, b)
    if not fast.all():
        slow = ~fast
        logger.debug("%d pairs of %d queries scored with tolerance matching", slow.sum(), np.unique(pq[slow]).size)
        sc[slow] = _in_pieces(lambda x, y: score_pairs(q, lib, x, y, params), pq[slow], pl[slow])
    return sc


def bounded_exact(q: PeakTable, lib: PeakTable, pq: np.ndarray, pl: np.ndarray, s1: np.ndarray,
                  params: MetricParams, unit: np.ndarray, k: int, lib_weights: Callable[[], tuple],
                  coarse_dtype: str = "bf16") -> np.ndarray:
    """Exact scores of the stage-1 candidates ``(pq, pl)`` (per query in descending stage-1 order, scores `s1`
    [queries x candidates]); the candidates that provably cannot enter their query's top `k` get -inf.

    For unit-mass queries and the cosine or entropy metric the stage-1 score bounds the exact score from above: on
    1-Da bins the exact cosine is the dot product of the L2-normalised bin vectors, and an entropy term
    ``(a + b) H(a / (a + b))`` of halved intensities is at most ``sqrt(a b)`` (Topsoe: ``H(p) <= 2 sqrt(p (1 - p))``),
    the product of stage 1's square-root rows; folding bins into shared columns only adds non-negative terms. So
    the first :data:`FIRST_EXACT` candidates are scored, and a later one only if its stage-1 score, widened by the
    rounding of the stage-1 dtype (bf16: 2**-6 relative, twice the bound of a dense product's rounding), reaches the k-th best exact score among the first: the
    result's top k is the exact top k of all the candidates. Queries that are not unit mass get every candidate
    scored. Only for stage-1 scores of dense products (not the sparse product of CPU batches of a few queries,
    whose bf16 sums are rounded as they go).
    """
    B, w = s1.shape
    first = max(k, FIRST_EXACT)
    if w <= first:
        return exact_scores(q, lib, pq, pl, params, unit, lib_weights)
    head = np.tile(np.arange(w) < first, B)
    sc = np.full(pq.size, -np.inf)
    sc[head] = exact_scores(q, lib, pq[head], pl[head], params, unit, lib_weights)
    kth = np.sort(sc[head].reshape(B, first), axis=1)[:, first - k]
    # bf16: inputs and output rounded to nearest (2**-9 each), float32 sums of non-negative terms: at most 3 x 2**-9
    rel = 2.0**-6 if coarse_dtype == "bf16" else 1e-5
    bound = s1.reshape(-1).astype(np.float64) * (1 + rel) + 1e-6
    rest = ~head & ((bound >= np.repeat(kth, w)) | ~unit[pq])
    if rest.any():
        sc[rest] = exact_scores(q, lib, pq[rest], pl[rest], params, unit, lib_weights)
    return sc
