"""Exact similarity scores for many (query, library) pairs at once, and for one pair.

Metrics
-------
``"cosine"``
    Cosine of peak vectors weighted ``mz ** mz_power * intensity ** intensity_power``, peaks matched greedily
    within a tolerance (highest product first, each peak used once): the definition of matchms'
    ``CosineGreedy`` (defaults: tolerance 0.1 Da, ``mz_power=0``, ``intensity_power=1``).
``"entropy"``
    Spectral entropy similarity (Li et al. 2021) as ms_entropy computes it with its defaults: spectra cleaned
    (:func:`nps_id.spectra.search.clean.clean_for_entropy`: 1 % noise, precursor removal 1.6 Da, centroid
    0.05 Da, sum to 1), entropy-weighted intensities; every pair of peaks within the tolerance (0.02 Da; the
    window computed in float32, as FlashEntropySearch does) adds ``f(a + b) - f(a) - f(b)`` with
    ``f(x) = x log2 x`` and ``a, b`` half the intensities.
``"nist"``
    NIST-style composite match factor (Stein & Scott 1994), on a 0-1 scale (x 999 gives NIST's scale):
    ``(n_q F_D + n_c F_R) / (n_q + n_c)`` where ``F_D`` is the squared cosine of peaks weighted
    ``mz ** 3 * intensity ** 0.6`` (configurable), ``n_q`` the query's peak count, ``n_c`` the count of shared
    peaks and ``F_R`` the mean over consecutive shared peaks (in m/z order) of the ratio
    ``(L_i / L_{i-1}) / (Q_i / Q_{i-1})`` of weighted intensities, inverted where above 1 (the ``n_c - 1``
    ratios averaged, so that identical spectra score 1; Stein & Scott divide by ``n_c``).

``reverse=True`` (cosine, nist) scores only the query peaks that match a peak of the library spectrum
(reverse search, for mixtures).

Two engines compute them: :func:`score_pairs` matches peaks within a tolerance (Da or ppm) for any data;
:func:`score_pairs_unit` works on 1-Da bins and is exact when every m/z is within ``tolerance / 2`` of an
integer and no spectrum has two peaks in one bin (checked by :func:`is_unit_mass`; per spectrum by
:func:`unit_rows`, with which the search picks the engine for each query).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nps_id.spectra.search._peaks import PeakTable, as_peak_table

__all__ = [
    "METRICS",
    "MetricParams",
    "is_unit_mass",
    "match_peaks",
    "greedy_matches",
    "score_pairs",
    "score_pairs_unit",
    "unit_rows",
    "cosine_greedy",
    "entropy_similarity",
    "nist_match_factor",
]

METRICS = ("cosine", "entropy", "nist")


@dataclass(frozen=True)
class MetricParams:
    """Settings of a metric; the defaults follow matchms (cosine), ms_entropy (entropy) and NIST (nist)."""

    metric: str = "cosine"
    tolerance: float | None = None  #: Da (or ppm when ``ppm``); default 0.1 cosine/nist, 0.02 entropy
    ppm: bool = False
    mz_power: float | None = None  #: default 0 (cosine), 3 (nist)
    intensity_power: float | None = None  #: default 1 (cosine), 0.6 (nist)
    reverse: bool = False

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"unknown metric {self.metric!r}; choose one of {METRICS}")
        if self.reverse and self.metric == "entropy":
            raise ValueError("reverse search is defined for metric='cosine' or 'nist', not 'entropy'")

    @property
    def tol(self) -> float:
        if self.tolerance is not None:
            return float(self.tolerance)
        return 0.02 if self.metric == "entropy" else 0.1

    @property
    def powers(self) -> tuple[float, float]:
        """(mz_power, intensity_power) of the peak weights."""
        if self.metric == "nist":
            return (3.0 if self.mz_power is None else self.mz_power, 0.6 if self.intensity_power is None else self.intensity_power)
        return (0.0 if self.mz_power is None else self.mz_power, 1.0 if self.intensity_power is None else self.intensity_power)


def is_unit_mass(table: PeakTable, tolerance: float = 0.1) -> bool:
    """True if every m/z is within ``tolerance / 2`` of an integer and no spectrum has two peaks in one 1-Da bin."""
    if table.mz.size == 0:
        return True
    r = np.rint(table.mz)
    if np.abs(table.mz - r).max() > tolerance / 2:
        return False
    same = np.diff(r) == 0
    starts = table.offsets[1:-1]
    same[starts[(starts > 0) & (starts < table.mz.size)] - 1] = False  # spectrum boundaries
    return not same.any()


def unit_rows(table: PeakTable, tolerance: float = 0.1) -> np.ndarray:
    """Per spectrum, whether :func:`is_unit_mass` holds for it alone (bool array, vectorised).

    The search decides the exact engine per query with it, so that one query with decimal m/z or two peaks in
    one 1-Da bin does not move the other queries of its batch off the unit-mass engine.
    """
    n = len(table)
    if table.mz.size == 0:
        return np.ones(n, dtype=bool)
    r = np.rint(table.mz)
    bad = np.abs(table.mz - r) > tolerance / 2
    seg = np.repeat(np.arange(n), np.diff(table.offsets))
    bad[1:] |= (r[1:] == r[:-1]) & (seg[1:] == seg[:-1])  # two peaks in one bin of one spectrum
    return np.bincount(seg, weights=bad, minlength=n) == 0


def _weights(table: PeakTable, mz_power: float, intensity_power: float) -> np.ndarray:
    w = table.intensity.astype(np.float64)
    if intensity_power != 1:
        w = w**intensity_power
    if mz_power != 0:
        w = w * table.mz**mz_power
    return w


def _seg_search(values: np.ndarray, lo: np.ndarray, hi: np.ndarray, target: np.ndarray, right: bool) -> np.ndarray:
    """Vectorised binary search of `target[i]` in the sorted slice ``values[lo[i]:hi[i]]`` (global index)."""
    lo = lo.copy()
    hi = hi.copy()
    while True:
        active = lo < hi
        if not active.any():
            return lo
        mid = (lo + hi) >> 1
        v = values[np.minimum(mid, values.size - 1)]
        go_right = (v <= target) if right else (v < target)
        go_right &= active
        lo = np.where(go_right, mid + 1, lo)
        hi = np.where(active & ~go_right, mid, hi)


def match_peaks(
    q: PeakTable,
    lib: PeakTable,
    pq: np.ndarray,
    pl: np.ndarray,
    tolerance: float,
    ppm: bool = False,
    shift: np.ndarray | None = None,
    float32_window: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All peak pairs within `tolerance` for the spectrum pairs ``(pq[p], pl[p])``.

    A query peak at ``m`` matches library peaks with ``|m - (m_lib + shift[p])| <= tol`` (tol in Da, or
    ``m * tolerance * 1e-6`` with ``ppm``). With `float32_window` (Da only) the window is
    ``[f32(m - tol), f32(m + tol)]`` computed in float32, as FlashEntropySearch computes it: near its edges,
    where a float32 rounding decides, the same library peaks match as in Flash.

    Returns
    -------
    pair, qpeak, lpeak : ndarray of int64
        For every match: the pair index and the global peak indices in `q` and `lib`.
    """
    pq = np.asarray(pq, dtype=np.int64)
    pl = np.asarray(pl, dtype=np.int64)
    nq = np.diff(q.offsets)[pq]
    total = int(nq.sum())
    pair = np.repeat(np.arange(pq.size, dtype=np.int64), nq)
    start = np.repeat(q.offsets[pq] - (np.cumsum(nq) - nq), nq)
    qpeak = start + np.arange(total, dtype=np.int64)
    m = q.mz[qpeak]
    if shift is not None:
        m = m - np.asarray(shift, dtype=np.float64)[pair]
    tol = q.mz[qpeak] * (tolerance * 1e-6) if ppm else tolerance
    if float32_window and not ppm:
        m32, t32 = m.astype(np.float32), np.float32(tolerance)
        m_lo, m_hi = (m32 - t32).astype(np.float64), (m32 + t32).astype(np.float64)
    else:
        m_lo, m_hi = m - tol, m + tol
    lspec = pl[pair]
    lo, hi = lib.offsets[lspec], lib.offsets[lspec + 1]
    a = _seg_search(lib.mz, lo, hi, m_lo, right=False)
    b = _seg_search(lib.mz, a, hi, m_hi, right=True)
    cnt = b - a
    hit = cnt > 0
    pair, qpeak, a, cnt = pair[hit], qpeak[hit], a[hit], cnt[hit]
    if cnt.size and cnt.max() == 1:
        return pair, qpeak, a
    rep = np.repeat(np.arange(cnt.size), cnt)
    first = np.repeat(np.cumsum(cnt) - cnt, cnt)
    lpeak = a[rep] + (np.arange(rep.size) - first)
    return pair[rep], qpeak[rep], lpeak


def greedy_matches(pair: np.ndarray, qpeak: np.ndarray, lpeak: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Greedy one-to-one matching per pair, highest weight first (as matchms' CosineGreedy), vectorised.

    Repeatedly keeps every match that is the best of both its query peak and its library peak among the
    remaining ones (such a match is exactly what the sequential greedy picks), then drops the matches that
    share a peak with a kept one. Returns the indices of the kept matches.
    """
    if pair.size == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((-weight,))  # descending weight, stable
    kq = (pair * (int(qpeak.max()) + 1) + qpeak)[order]
    kl = (pair * (int(lpeak.max()) + 1) + lpeak)[order]
    alive = np.ones(order.size, dtype=bool)
    kept = []
    while alive.any():
        idx = np.flatnonzero(alive)
        _, fq = np.unique(kq[idx], return_index=True)
        _, fl = np.unique(kl[idx], return_index=True)
        best_q = np.zeros(idx.size, dtype=bool)
        best_q[fq] = True
        best_l = np.zeros(idx.size, dtype=bool)
        best_l[fl] = True
        take = idx[best_q & best_l]
        kept.append(take)
        alive[take] = False
        used_q = np.isin(kq, kq[take])
        used_l = np.isin(kl, kl[take])
        alive &= ~(used_q | used_l)
    return order[np.concatenate(kept)]


def _ratio_term(
    pair: np.ndarray, lmz: np.ndarray | None, wq: np.ndarray, wl: np.ndarray, n_pairs: int
) -> tuple[np.ndarray, np.ndarray]:
    """Stein-Scott ratio term F_R and shared-peak count per pair from the kept matches.

    `lmz` (library m/z of each match) puts the matches in pair and m/z order; None when they already are.
    """
    if lmz is not None:
        order = np.lexsort((lmz, pair))
        pair, wq, wl = pair[order], wq[order], wl[order]
    n_c = np.bincount(pair, minlength=n_pairs).astype(np.float64)
    if pair.size < 2:
        return np.zeros(n_pairs), n_c
    same = pair[1:] == pair[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (wl[1:] / wl[:-1]) * (wq[:-1] / wq[1:])
        r = np.where(r > 1, 1 / r, r)
    r = np.where(same & np.isfinite(r), r, 0.0)
    s = np.bincount(pair[1:], weights=r, minlength=n_pairs)
    with np.errstate(divide="ignore", invalid="ignore"):
        f_r = np.where(n_c > 1, s / np.maximum(n_c - 1, 1), 0.0)
    return f_r, n_c


def _entropy_terms(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Entropy-similarity contribution ``f(a + b) - f(a) - f(b)``, ``f(x) = x log2 x``, of matched peaks with
    weighted intensities `a` and `b` (each spectrum summing to 1), halved as ms_entropy halves them; float32."""
    a = np.asarray(a, dtype=np.float32) / 2
    b = np.asarray(b, dtype=np.float32) / 2
    ab = a + b
    return ab * np.log2(ab) - a * np.log2(a) - b * np.log2(b)


def _composite(f_d: np.ndarray, f_r: np.ndarray, n_c: np.ndarray, n_q: np.ndarray) -> np.ndarray:
    return (n_q * f_d + n_c * f_r) / np.maximum(n_q + n_c, 1)


def score_pairs(
    q: PeakTable,
    lib: PeakTable,
    pq: np.ndarray,
    pl: np.ndarray,
    params: MetricParams,
    shift: np.ndarray | None = None,
) -> np.ndarray:
    """Exact scores of the pairs ``(pq[p], pl[p])`` with tolerance-aware peak matching.

    For ``metric="entropy"`` `q` and `lib` must already be cleaned and entropy-weighted
    (:mod:`nps_id.spectra.search.clean`). `shift` (per pair) moves library peaks by that many Da before
    matching (used by hybrid search).

    Returns
    -------
    ndarray of float64, one score per pair.
    """
    pq = np.asarray(pq, dtype=np.int64)
    pl = np.asarray(pl, dtype=np.int64)
    P = pq.size
    if P == 0:
        return np.zeros(0)
    entropy = params.metric == "entropy"
    pair, qp, lp = match_peaks(q, lib, pq, pl, params.tol, params.ppm, shift, float32_window=entropy)
    if entropy:
        return np.bincount(pair, weights=_entropy_terms(q.intensity[qp], lib.intensity[lp]), minlength=P)
    mp, ip = params.powers
    wq_all = _weights(q, mp, ip)
    wl_all = _weights(lib, mp, ip)
    keep = greedy_matches(pair, qp, lp, wq_all[qp] * wl_all[lp])
    pair, qp, lp = pair[keep], qp[keep], lp[keep]
    nl = _seg_norms(wl_all, lib.offsets)[pl]
    return _cosine_or_composite(pair, wq_all[qp], wl_all[lp], lib.mz[lp], q, wq_all, pq, nl, params)


def _cosine_or_composite(
    pair: np.ndarray,
    qv: np.ndarray,
    lv: np.ndarray,
    lmz: np.ndarray | None,
    q: PeakTable,
    vq: np.ndarray,
    pq: np.ndarray,
    nl: np.ndarray,
    params: MetricParams,
) -> np.ndarray:
    """Cosine (or, for ``nist``, the composite match factor) of every pair from its one-to-one matched peaks.

    `pair`, `qv`, `lv`: pair index and query / library weight of each matched peak; `lmz`: library m/z of each
    match, to put them in m/z order for the ratio term (None: already in that order); `vq`: weights of every
    peak of `q` (query norms); `pq`: query of each pair; `nl`: library norm of each pair.
    """
    P = pq.size
    dot = np.bincount(pair, weights=qv * lv, minlength=P)
    if params.reverse:
        nq = np.sqrt(np.bincount(pair, weights=qv * qv, minlength=P))
        n_q = np.bincount(pair, minlength=P).astype(np.float64)
    else:
        nq = _seg_norms(vq, q.offsets)[pq]
        n_q = np.diff(q.offsets)[pq].astype(np.float64)
    denom = nq * nl
    with np.errstate(divide="ignore", invalid="ignore"):
        cos = np.where(denom > 0, dot / denom, 0.0)
    if params.metric == "cosine":
        return cos
    f_r, n_c = _ratio_term(pair, lmz, qv, lv, P)
    return _composite(cos**2, f_r, n_c, n_q)


def _dense_rows(table: PeakTable, rows: np.ndarray, values: np.ndarray, lo: int, width: int) -> np.ndarray:
    """Scatter the peaks of spectra `rows` (values per peak of `table`) into a dense [len(rows), width] array."""
    counts = np.diff(table.offsets)[rows]
    tot = int(counts.sum())
    start = np.repeat(table.offsets[rows] - (np.cumsum(counts) - counts), counts)
    src = start + np.arange(tot, dtype=np.int64)
    r = np.repeat(np.arange(rows.size, dtype=np.int64), counts)
    col = np.rint(table.mz[src]).astype(np.int64) - lo
    ok = (col >= 0) & (col < width)
    out = np.zeros((rows.size, width), dtype=values.dtype)
    out[r[ok], col[ok]] = values[src[ok]]
    return out


def _seg_norms(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Euclidean norm of `values` per CSR segment (0 for empty ones)."""
    seg_sq = np.add.reduceat(np.concatenate([values * values, [0.0]]), offsets[:-1])
    return np.sqrt(np.where(np.diff(offsets) > 0, seg_sq, 0.0))


def score_pairs_unit(
    q: PeakTable,
    lib: PeakTable,
    pq: np.ndarray,
    pl: np.ndarray,
    params: MetricParams,
    lib_weights: np.ndarray | None = None,
    lib_norms: np.ndarray | None = None,
    lib_cols: np.ndarray | None = None,
) -> np.ndarray:
    """Exact scores on 1-Da bins (valid where :func:`is_unit_mass` holds for both tables), vectorised.

    The queries become dense bin rows; each candidate library spectrum's peaks are gathered from the CSR
    arrays and look up the query value in their bin, so the work is proportional to the library peaks of the
    candidates. Same inputs and result as :func:`score_pairs` (without `shift`). `lib_weights` (per library
    peak: the metric's weights), `lib_norms` (per library spectrum, cosine/nist) and `lib_cols` (per library
    peak: its 1-Da bin, int32, >= 0) may be passed to save recomputing them for the whole library on every call.
    """
    pq = np.asarray(pq, dtype=np.int64)
    pl = np.asarray(pl, dtype=np.int64)
    P = pq.size
    if P == 0:
        return np.zeros(0)
    entropy = params.metric == "entropy"
    if entropy:
        vq = np.asarray(q.intensity, dtype=np.float32)
        vl = np.asarray(lib.intensity, dtype=np.float32) if lib_weights is None else lib_weights
    else:
        mp, ip = params.powers
        vq = _weights(q, mp, ip)
        vl = _weights(lib, mp, ip) if lib_weights is None else lib_weights
    uq, inv = np.unique(pq, return_inverse=True)
    lo = 0
    width = int(np.rint(max(q.mz.max() if q.mz.size else 0, 0))) + 2
    Qd = _dense_rows(q, uq, vq, lo, width)
    # gather the candidates' library peaks; look each up in its query's dense row (flat index)
    counts = (lib.offsets[pl + 1] - lib.offsets[pl]).astype(np.int64)
    tot = int(counts.sum())
    src = np.repeat(lib.offsets[pl] - (np.cumsum(counts) - counts), counts) + np.arange(tot, dtype=np.int64)
    col = np.rint(lib.mz[src]).astype(np.int32) if lib_cols is None else lib_cols[src]
    np.minimum(col, width - 1, out=col)  # beyond the queries' range: the query value there is 0
    flat = np.repeat(inv.astype(np.int64) * width, counts) + col
    qv = Qd.ravel()[flat]
    hit = np.flatnonzero(qv > 0)
    pair = np.repeat(np.arange(P, dtype=np.int64), counts)[hit]
    qv, lv = qv[hit], vl[src[hit]]
    if entropy:
        return np.bincount(pair, weights=_entropy_terms(qv, lv), minlength=P)
    nl = (_seg_norms(vl, lib.offsets) if lib_norms is None else lib_norms)[pl]
    # shared peaks are already in m/z order within each pair
    return _cosine_or_composite(pair, qv, lv, None, q, vq, pq, nl, params)


# ---------------------------------------------------------------- one pair (convenience, tests)
def _one(spectrum) -> PeakTable:
    return as_peak_table([spectrum])


def cosine_greedy(a, b, tolerance: float = 0.1, mz_power: float = 0.0, intensity_power: float = 1.0) -> float:
    """Greedy cosine of two :class:`~nps_id.spectra.Spectrum` objects (matchms' CosineGreedy definition)."""
    p = MetricParams("cosine", tolerance=tolerance, mz_power=mz_power, intensity_power=intensity_power)
    return float(score_pairs(_one(a), _one(b), [0], [0], p)[0])


def nist_match_factor(a, b, tolerance: float = 0.1, reverse: bool = False) -> float:
    """NIST-style composite match factor (0-1) of query `a` against library spectrum `b`."""
    return float(score_pairs(_one(a), _one(b), [0], [0], MetricParams("nist", tolerance=tolerance, reverse=reverse))[0])


def entropy_similarity(
    a, b, tolerance: float = 0.02, precursor_removal: float | None = None, noise: float = 0.01, min_diff: float | None = None
) -> float:
    """Entropy similarity of two spectra as ms_entropy's ``calculate_entropy_similarity`` computes it.

    Its defaults: no precursor removal, 1 % noise removal, centroiding at ``2 * tolerance``; the search engine
    uses FlashEntropySearch's settings instead (precursor removal 1.6 Da, centroiding at 0.05 Da). Its peak
    matching differs from Flash's too, and is followed here: one walk along both m/z-sorted peak lists, where
    peaks match when ``|f32(mz_a - mz_b)| <= tolerance`` (float32) and each peak matches at most once, the
    lowest m/z first; the score is clipped to [0, 1].

    Parameters
    ----------
    a, b : Spectrum
        The two spectra (raw; cleaned here).
    tolerance : float, default 0.02
        Peak matching tolerance (Da).
    precursor_removal : float or None, default None
        Remove peaks at or above ``precursor_mz - precursor_removal`` (None: keep them, as ms_entropy does).
    noise : float, default 0.01
        Relative noise threshold.
    min_diff : float, optional
        Centroiding distance (Da); default ``2 * tolerance``.

    Returns
    -------
    float
    """
    from nps_id.spectra.search.clean import clean_for_entropy, entropy_weights

    md = 2 * tolerance if min_diff is None else min_diff
    ta = entropy_weights(clean_for_entropy(_one(a), noise=noise, min_diff=md, precursor_removal=precursor_removal))
    tb = entropy_weights(clean_for_entropy(_one(b), noise=noise, min_diff=md, precursor_removal=precursor_removal))
    # candidates in a slightly wider float64 window, then ms_entropy's float32 test
    pair, qp, lp = match_peaks(ta, tb, [0], [0], tolerance + 1e-3)
    ok = np.abs(ta.mz[qp].astype(np.float32) - tb.mz[lp].astype(np.float32)) <= np.float32(tolerance)
    pair, qp, lp = pair[ok], qp[ok], lp[ok]
    if np.unique(qp).size < qp.size or np.unique(lp).size < lp.size:  # a peak with two partners: first come
        keep = greedy_matches(pair, qp, lp, -(qp * (int(lp.max()) + 1) + lp).astype(np.float64))
        qp, lp = qp[keep], lp[keep]
    score = float(np.sum(_entropy_terms(ta.intensity[qp], tb.intensity[lp]), dtype=np.float64))
    return min(max(score, 0.0), 1.0)
