"""Hybrid (analogue) search scores: peaks match directly or shifted by a mass difference.

The idea of NIST's hybrid search (Moorthy et al., Anal. Chem. 2017): a reference that differs from the unknown by one
substituent still explains the unknown's spectrum if the fragments that keep the substituent are allowed to match
shifted by the mass difference between the two compounds. Where does the shift come from?

- MS/MS (both spectra have a precursor m/z): the precursor difference, one shift per pair.
- GC-EI (neither has a precursor): candidate shifts implied by the high-mass peaks, the differences between the
  `n_peaks` highest-m/z peaks of at least `min_relative` of the base peak of the query and of the reference (the
  molecular ions and the first losses from them); every candidate is scored and the best kept. The search takes
  stage-1 candidates twice for these (:meth:`HybridParams.coarse_params`): by the metric's bins, and by bins without
  m/z weighting, since a substituent moves exactly the high-mass peaks that the NIST weights (m/z to a power) favour.
- One spectrum with a precursor, one without (an MS/MS query against a GC-EI reference): no shift, direct matches
  only (the precursor of one says nothing about the other's high-mass peaks, which MS/MS cleaning removes anyway).

How a shift is scored (:func:`shifted_scores`), vectorised over all (pair, shift) rows at once:

1. direct matches, then shifted matches for peaks that found no direct partner (each peak used once; peaks within
   1.6 Da below a precursor never match shifted: the precursor difference is the shift itself, no evidence);
2. a shift counts only with at least `min_shifted` shifted matches, an ion and its isotopes counted once (one
   shifted peak is a coincidence that any pair of spectra offers);
3. its score is the metric over direct + shifted matches times ``(E_q * E_r) ** explained_power`` (default 0.5),
   where ``E_q`` and ``E_r`` are the fractions of the query's and the reference's square-root intensity (entropy: of
   the cleaned, entropy-weighted intensity) that the matches explain: a shift that explains one fragment of two
   otherwise different spectra scores low even where that fragment dominates the metric;
4. the hybrid score of a pair is the larger of its plain (direct) score and its best shift's score, so a hybrid
   search never ranks the same compound below an analogue for want of a shift, and the shift reported is 0 when no
   shift beat the direct score.

The pure pieces (:func:`high_mass_peaks`, :func:`candidate_shifts`, :func:`shifted_scores`, :func:`best_shift`) are
tested on their own (``tests/spectra/test_search_hybrid.py``). Nominal-mass spectra (GC-EI) are matched on 1-Da bins
(:mod:`~nps_id.spectra.search._hybrid_unit`), where the candidate shifts of a pair are first ranked by a quick score
and only the best is scored exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nps_id.spectra.search._peaks import PeakTable, segment_ids
from nps_id.spectra.search.exact import MetricParams

__all__ = ["HybridParams", "high_mass_peaks", "candidate_shifts", "shifted_scores", "best_shift", "hybrid_scores",
           "hybrid_matches", "hit_values", "union_pairs"]

#: peaks this close below a precursor (Da) are the precursor and its isotopes: never matched shifted
PRECURSOR_WINDOW = 1.6
#: shifted matches closer than this (Da) count as one (an ion and its isotopes move together)
ISOTOPE_GAP = 2.5


@dataclass(frozen=True)
class HybridParams:
    """Settings of the hybrid score (see the module docstring).

    Attributes
    ----------
    n_peaks : int
        High-mass peaks per spectrum whose differences are the candidate shifts (GC-EI).
    min_relative : float
        A high-mass peak has at least this fraction of the spectrum's base peak.
    max_shift : float
        Largest candidate shift (Da), either sign.
    min_shifted : int
        Fewest shifted matches for a shift to count.
    explained_power : float
        Exponent of ``E_q * E_r`` in the score (0.5: their geometric mean; 0: no weighing, for comparison).
    coarse_intensity_power : float or None
        Spectra without precursor (GC-EI) take stage-1 candidates twice: by the metric's own bins, and by bins
        weighted ``intensity ** coarse_intensity_power`` without m/z weighting (the low-mass fragments that
        analogues share; the m/z-weighted NIST bins rank by the high-mass peaks that a substituent moves).
        None: the metric's candidates only.
    """

    n_peaks: int = 4
    min_relative: float = 0.02
    max_shift: float = 150.0
    min_shifted: int = 2
    explained_power: float = 0.5
    coarse_intensity_power: float | None = 0.5

    def coarse_params(self, params: MetricParams) -> MetricParams:
        """The second stage-1 weighting (see `coarse_intensity_power`); `params` itself where there is none."""
        if self.coarse_intensity_power is None:
            return params
        return MetricParams("cosine", params.tolerance, params.ppm, 0.0, self.coarse_intensity_power)


def high_mass_peaks(table: PeakTable, n: int = 4, min_relative: float = 0.02) -> np.ndarray:
    """The `n` highest m/z of each spectrum among its peaks of at least `min_relative` of its base peak.

    Returns
    -------
    ndarray of float64 [n_spectra, n]
        Highest first; NaN where a spectrum has fewer such peaks.
    """
    N = len(table)
    out = np.full((N, n), np.nan)
    if table.mz.size == 0 or n < 1:
        return out
    seg = segment_ids(table.offsets)
    inten = np.asarray(table.intensity, dtype=np.float64)
    base = np.zeros(N)
    np.maximum.at(base, seg, inten)
    keep = inten >= min_relative * base[seg]
    kc = np.concatenate([np.cumsum(keep[::-1])[::-1], [0]])  # kept peaks from each position to the end
    rank = kc[:-1] - kc[table.offsets[1:][seg]] - 1  # 0 for a spectrum's last kept peak
    sel = keep & (rank < n)
    out[seg[sel], rank[sel]] = table.mz[sel]
    return out


def candidate_shifts(q_high: np.ndarray, l_high: np.ndarray, pq: np.ndarray, pl: np.ndarray,
                     max_shift: float = 150.0, min_shift: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Distinct shifts ``query peak - reference peak`` between the high-mass peaks of each pair.

    Parameters
    ----------
    q_high, l_high : ndarray [n_spectra, n]
        :func:`high_mass_peaks` of the queries and of the library.
    pq, pl : ndarray of int
        The pairs (query row, library row).
    max_shift, min_shift : float
        Shifts kept: ``min_shift <= |shift| <= max_shift`` (Da).

    Returns
    -------
    pair, shift : ndarray
        One row per (pair, candidate shift), sorted by pair, shifts of one pair distinct (to 0.01 Da).
    """
    P = np.asarray(pq).size
    if P == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    d = (q_high[pq][:, :, None] - l_high[pl][:, None, :]).reshape(P, -1)
    d = np.round(d, 2)
    bad = ~np.isfinite(d) | (np.abs(d) < min_shift) | (np.abs(d) > max_shift)
    d[bad] = np.nan
    d.sort(axis=1)  # NaN last
    dup = np.zeros(d.shape, dtype=bool)
    dup[:, 1:] = d[:, 1:] == d[:, :-1]
    ok = np.isfinite(d) & ~dup
    pair = np.nonzero(ok)[0].astype(np.int64)
    return pair, d[ok]


def _weights(table: PeakTable, params: MetricParams) -> np.ndarray:
    """The metric's peak weights (entropy: the table's intensities, already weighted)."""
    w = np.asarray(table.intensity, dtype=np.float64)
    if params.metric == "entropy":
        return w
    mp, ip = params.powers
    if ip != 1:
        w = w**ip
    if mp != 0:
        w = w * table.mz**mp
    return w


def _shifted_matches(q: PeakTable, lib: PeakTable, pq: np.ndarray, pl: np.ndarray, shift: np.ndarray,
                     params: MetricParams, unit: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Direct and shifted peak matches of rows ``(pq, pl, shift)``, one-to-one, direct first.

    Returns pair (row), query peak, library peak and whether each match is shifted. `unit`: nominal-mass tables,
    matched on 1-Da bins (:func:`~nps_id.spectra.search._hybrid_unit.unit_matches`, the same matches)."""
    from nps_id.spectra.search.exact import greedy_matches, match_peaks

    if unit:
        from nps_id.spectra.search._hybrid_unit import unit_matches

        return unit_matches(q, lib, pq, pl, shift, PRECURSOR_WINDOW)
    d_pair, d_q, d_l = match_peaks(q, lib, pq, pl, params.tol, params.ppm)
    s_pair, s_q, s_l = match_peaks(q, lib, pq, pl, params.tol, params.ppm, shift=shift)
    # the precursor region never matches shifted: it defines the shift
    pq_prec, pl_prec = q.precursor_mz[pq[s_pair]], lib.precursor_mz[pl[s_pair]]
    ok = ~(q.mz[s_q] >= pq_prec - PRECURSOR_WINDOW) & ~(lib.mz[s_l] >= pl_prec - PRECURSOR_WINDOW)
    s_pair, s_q, s_l = s_pair[ok], s_q[ok], s_l[ok]
    pair = np.concatenate([d_pair, s_pair])
    qp = np.concatenate([d_q, s_q])
    lp = np.concatenate([d_l, s_l])
    shifted = np.concatenate([np.zeros(d_pair.size, dtype=bool), np.ones(s_pair.size, dtype=bool)])
    if pair.size == 0:
        return pair, qp, lp, shifted
    w = _weights(q, params)[qp] * _weights(lib, params)[lp]
    keep = greedy_matches(pair, qp, lp, np.where(shifted, 0.0, np.abs(w).max() + 1) + w)
    return pair[keep], qp[keep], lp[keep], shifted[keep]


def _count_clusters(row: np.ndarray, mz: np.ndarray, n_rows: int, gap: float = ISOTOPE_GAP) -> np.ndarray:
    """Matches per row, counting peaks closer than `gap` Da to the previous one (isotopes) as one."""
    if row.size == 0:
        return np.zeros(n_rows, dtype=np.int64)
    order = np.lexsort((mz, row))
    r, m = row[order], mz[order]
    new = np.concatenate([[True], (r[1:] != r[:-1]) | (m[1:] - m[:-1] > gap)])
    return np.bincount(r[new], minlength=n_rows)


def shifted_scores(q: PeakTable, lib: PeakTable, pq: np.ndarray, pl: np.ndarray, shift: np.ndarray,
                   params: MetricParams, min_shifted: int = 2, explained_power: float = 0.5,
                   unit: bool = False) -> np.ndarray:
    """Score of every row ``(pq[r], pl[r], shift[r])``: the metric over direct and shifted matches times the square
    root of the explained fractions of both spectra; 0 where fewer than `min_shifted` peaks match shifted (an ion
    and its isotopes, closer than :data:`ISOTOPE_GAP`, count as one).

    For ``metric="entropy"`` the tables must already be cleaned and entropy-weighted, as for
    :func:`~nps_id.spectra.search.exact.score_pairs`.
    """
    from nps_id.spectra.search.exact import _cosine_or_composite, _entropy_terms, _seg_norms

    pq = np.asarray(pq, dtype=np.int64)
    pl = np.asarray(pl, dtype=np.int64)
    R = pq.size
    if R == 0:
        return np.zeros(0)
    pair, qp, lp, shifted = _shifted_matches(q, lib, pq, pl, np.asarray(shift, dtype=np.float64), params, unit)
    n_shifted = _count_clusters(pair[shifted], q.mz[qp[shifted]], R)
    # explained fractions of both spectra (square-root intensity: every peak counts, not only the base peak)
    eq, el = np.sqrt(np.asarray(q.intensity, dtype=np.float64)), np.sqrt(np.asarray(lib.intensity, dtype=np.float64))
    tot_q = np.add.reduceat(np.concatenate([eq, [0.0]]), q.offsets[:-1])[pq]
    tot_l = np.add.reduceat(np.concatenate([el, [0.0]]), lib.offsets[:-1])[pl]
    with np.errstate(divide="ignore", invalid="ignore"):
        f_q = np.where(tot_q > 0, np.bincount(pair, weights=eq[qp], minlength=R) / tot_q, 0.0)
        f_l = np.where(tot_l > 0, np.bincount(pair, weights=el[lp], minlength=R) / tot_l, 0.0)
    if params.metric == "entropy":
        score = np.bincount(pair, weights=_entropy_terms(q.intensity[qp], lib.intensity[lp]), minlength=R)
    else:
        wq, wl = _weights(q, params), _weights(lib, params)
        nl = _seg_norms(wl, lib.offsets)[pl]
        score = _cosine_or_composite(pair, wq[qp], wl[lp], q.mz[qp], q, wq, pq, nl, params)
    score = score * (np.clip(f_q, 0, 1) * np.clip(f_l, 0, 1)) ** explained_power
    return np.where(n_shifted >= min_shifted, score, 0.0)


def best_shift(pair: np.ndarray, shift: np.ndarray, score: np.ndarray,
               direct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pair: the larger of its direct score and its best shift's score, and that shift (0 where direct won).

    Parameters
    ----------
    pair, shift, score : ndarray [n_rows]
        Rows of (pair, candidate shift) and their :func:`shifted_scores`.
    direct : ndarray [n_pairs]
        Plain (direct-only) score of each pair.

    Returns
    -------
    score, shift : ndarray [n_pairs]
    """
    out = np.asarray(direct, dtype=np.float64).copy()
    sh = np.zeros(out.size)
    if pair.size == 0:
        return out, sh
    order = np.lexsort((-score, pair))
    pair_o = pair[order]
    first = order[np.concatenate([[True], pair_o[1:] != pair_o[:-1]])]
    p = pair[first]
    better = score[first] > out[p]
    out[p[better]] = score[first][better]
    sh[p[better]] = shift[first][better]
    return out, sh


def hybrid_scores(q: PeakTable, lib: PeakTable, pq: np.ndarray, pl: np.ndarray, params: MetricParams,
                  hybrid: HybridParams = HybridParams(), direct: np.ndarray | None = None,
                  q_high: np.ndarray | None = None, l_high: np.ndarray | None = None, unit: bool = False) -> np.ndarray:
    """Hybrid scores and shifts of the pairs ``(pq[p], pl[p])`` (see the module docstring).

    Pairs whose two spectra have a precursor m/z take the precursor difference as their one shift; pairs of two
    spectra without precursor take the :func:`candidate_shifts` of their high-mass peaks, all scored exactly, or,
    with `unit`, the one that :func:`~nps_id.spectra.search._hybrid_unit.unit_preselect` finds best on 1-Da bins
    (several times less work; the exact score may then miss a shift whose composite score beats the chosen one's);
    pairs where only one spectrum has a precursor get their direct score.

    Parameters
    ----------
    q, lib : PeakTable
        Queries and library, processed for the metric (entropy: cleaned and weighted).
    pq, pl : ndarray of int
    params : MetricParams
    hybrid : HybridParams
    direct : ndarray, optional
        Plain scores of the pairs (computed with :func:`~nps_id.spectra.search.exact.score_pairs` if None).
    q_high, l_high : ndarray, optional
        :func:`high_mass_peaks` of `q` and `lib` (computed if None; pass the library's to compute it once).
    unit : bool, default False
        Both tables are on nominal mass (integer m/z, one peak per bin, tolerance under 0.5 Da): the plain scores
        come from :func:`~nps_id.spectra.search.exact.score_pairs_unit`, the candidate shifts are preselected and
        peaks are matched on 1-Da bins.

    Returns
    -------
    ndarray of float64 [n_pairs, 2]
        Column 0 the hybrid score, column 1 the shift (Da; query minus reference; 0 where the direct score won).
    """
    from nps_id.spectra.search.exact import score_pairs, score_pairs_unit

    pq = np.asarray(pq, dtype=np.int64)
    pl = np.asarray(pl, dtype=np.int64)
    P = pq.size
    if P == 0:
        return np.zeros((0, 2))
    if direct is None:
        direct = (score_pairs_unit if unit else score_pairs)(q, lib, pq, pl, params)
    prec = q.precursor_mz[pq] - lib.precursor_mz[pl]
    has_prec = np.isfinite(prec)
    rows_p = np.flatnonzero(has_prec)
    rows_s = prec[has_prec]
    # neither has a precursor (GC-EI): shifts from the high-mass peaks; only one has: direct matches only
    rest = np.flatnonzero(np.isnan(q.precursor_mz[pq]) & np.isnan(lib.precursor_mz[pl]))
    if rest.size:
        if q_high is None:
            q_high = high_mass_peaks(q, hybrid.n_peaks, hybrid.min_relative)
        if l_high is None:
            l_high = high_mass_peaks(lib, hybrid.n_peaks, hybrid.min_relative)
        min_shift = max(0.5, 2 * params.tol) if not params.ppm else 0.5
        c_pair, c_shift = candidate_shifts(q_high, l_high, pq[rest], pl[rest], hybrid.max_shift, min_shift)
        c_pair = rest[c_pair]
        if unit:
            from nps_id.spectra.search._hybrid_unit import unit_preselect

            keep = unit_preselect(q, lib, pq, pl, c_pair, c_shift, params, hybrid.min_shifted, hybrid.explained_power)
            c_pair, c_shift = c_pair[keep], c_shift[keep]
        rows_p = np.concatenate([rows_p, c_pair])
        rows_s = np.concatenate([rows_s, c_shift])
    sc = shifted_scores(q, lib, pq[rows_p], pl[rows_p], rows_s, params, hybrid.min_shifted, hybrid.explained_power,
                        unit)
    score, shift = best_shift(rows_p, rows_s, sc, direct)
    return np.column_stack([score, shift])


def hybrid_matches(query: PeakTable, reference: PeakTable, shift: float, params: MetricParams) -> dict[str, np.ndarray]:
    """The direct and shifted peak matches of one query and one reference at `shift` (for mirror plots).

    Parameters
    ----------
    query, reference : PeakTable
        One spectrum each (processed as searched).
    shift : float
        Query minus reference, Da (0: direct matches only).
    params : MetricParams
        Metric whose tolerance and weights decide the matching.

    Returns
    -------
    dict
        ``"direct"`` and ``"shifted"``: int arrays [n, 2] of (query peak, reference peak) indices, in query
        m/z order.
    """
    pq = np.zeros(1, dtype=np.int64)
    s = np.array([float(shift) if shift else 1e9])
    _, qp, lp, shifted = _shifted_matches(query, reference, pq, pq, s, params)
    order = np.argsort(qp, kind="stable")
    qp, lp, shifted = qp[order], lp[order], shifted[order]
    return {"direct": np.column_stack([qp[~shifted], lp[~shifted]]),
            "shifted": np.column_stack([qp[shifted], lp[shifted]])}


def union_pairs(pq: np.ndarray, pl: np.ndarray, pq2: np.ndarray, pl2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (query, library) pairs of two candidate lists, sorted by query then library row."""
    a = np.concatenate([pq, pq2]).astype(np.int64)
    b = np.concatenate([pl, pl2]).astype(np.int64)
    if a.size == 0:
        return a, b
    width = int(b.max()) + 1
    key = np.unique(a * width + b)
    return key // width, key % width


def hit_values(pq: np.ndarray, pl: np.ndarray, values: np.ndarray, hits: np.ndarray) -> np.ndarray:
    """The value of pair ``(q, hits[q, r])`` for every kept hit, looked up among the scored pairs ``(pq, pl)``.

    Parameters
    ----------
    pq, pl : ndarray of int
        Scored pairs (query row from 0, library row).
    values : ndarray [n_pairs]
        One value per scored pair (the shift).
    hits : ndarray of int [n_queries, k]
        Library rows kept per query (-1: none).

    Returns
    -------
    ndarray of float64 [n_queries, k], NaN where no hit.
    """
    out = np.full(hits.shape, np.nan)
    ok = hits >= 0
    if not ok.any() or pq.size == 0:
        return out
    width = int(max(pl.max(), hits.max())) + 1
    key = pq.astype(np.int64) * width + pl
    order = np.argsort(key, kind="stable")
    qi = np.nonzero(ok)[0]
    want = qi.astype(np.int64) * width + hits[ok]
    pos = np.minimum(np.searchsorted(key[order], want), key.size - 1)
    found = key[order][pos] == want
    vals = np.full(want.size, np.nan)
    vals[found] = values[order][pos[found]]
    out[ok] = vals
    return out
