"""Hybrid matching on 1-Da bins, for nominal-mass spectra (GC-EI): the peak matches of many (pair, shift) rows by
dense lookups instead of tolerance windows and a greedy pass, and the quick score that picks each pair's shift.

On nominal mass (integer m/z, at most one peak per bin) a library peak at bin ``m`` matches the query peak at ``m``
directly, or the one at ``m + shift``; the greedy one-to-one matching with direct matches first
(:func:`nps_id.spectra.search.hybrid._shifted_matches`) then reduces to: a shifted match counts where neither of its
two peaks has a direct partner. The matches are the same, found by array lookups.
"""

from __future__ import annotations

import numpy as np

from nps_id.spectra.search._peaks import PeakTable
from nps_id.spectra.search.exact import MetricParams


def _dense(table: PeakTable, rows: np.ndarray, values: np.ndarray, col: np.ndarray, width: int,
           fill: float = 0) -> np.ndarray:
    """Dense rows [len(rows), width] holding `values` of the peaks of spectra `rows` at columns `col` (per peak)."""
    counts = np.diff(table.offsets)[rows]
    src = np.repeat(table.offsets[rows] - (np.cumsum(counts) - counts), counts) + np.arange(counts.sum())
    out = np.full((rows.size, width), fill, dtype=values.dtype)
    out[np.repeat(np.arange(rows.size), counts), col[src]] = values[src]
    return out


def _layout(q: PeakTable, lib: PeakTable, pq: np.ndarray, pl: np.ndarray, shift: np.ndarray) -> tuple:
    """Dense 1-Da rows of the queries `pq` (global peak index, -1: none) and of the library spectra `pl` (peak
    present), padded so that every bin plus any of `shift` stays inside; with each peak's padded bin, the row width
    and each pair's row in the two dense arrays."""
    pad = int(np.abs(np.rint(shift)).max(initial=0)) + 1
    qb = np.rint(q.mz).astype(np.int64) + pad
    lb = np.rint(lib.mz).astype(np.int64) + pad
    width = int(max(qb.max(initial=0), lb.max(initial=0))) + pad + 2
    uq, iq = np.unique(pq, return_inverse=True)
    ul, il = np.unique(pl, return_inverse=True)
    Qi = _dense(q, uq, np.arange(q.mz.size, dtype=np.int64), qb, width, fill=-1).ravel()
    Lp = _dense(lib, ul, np.ones(lib.mz.size, dtype=bool), lb, width).ravel()
    return Qi, Lp, qb, lb, width, iq, il


def unit_entries(q: PeakTable, lib: PeakTable, pq: np.ndarray, pl: np.ndarray,
                 shift: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every library peak of every row ``(pq[r], pl[r], shift[r])`` with its direct and its shifted query partner.

    Returns
    -------
    row, lpeak : ndarray of int64
        Row and global library peak index of each entry.
    direct, shifted : ndarray of int64
        Global index of the query peak in the same bin (direct) and in bin ``m + shift`` whose peaks both have no
        direct partner (shifted); -1 where none.
    """
    R = pq.size
    step = np.rint(shift).astype(np.int64)
    Qi, Lp, qb, lb, width, iq, il = _layout(q, lib, pq, pl, shift)
    counts = lib.offsets[pl + 1] - lib.offsets[pl]
    lpeak = np.repeat(lib.offsets[pl] - (np.cumsum(counts) - counts), counts) + np.arange(counts.sum())
    row = np.repeat(np.arange(R, dtype=np.int64), counts)
    m = lb[lpeak]
    at = iq[row] * width
    direct = Qi[at + m]
    pos = m + step[row]
    shifted = np.where((direct < 0) & ~Lp[il[row] * width + pos], Qi[at + pos], -1)
    return row, lpeak, direct, shifted


def unit_matches(q: PeakTable, lib: PeakTable, pq: np.ndarray, pl: np.ndarray, shift: np.ndarray,
                 precursor_window: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Direct and shifted matches of rows ``(pq, pl, shift)`` on 1-Da bins: pair (row), query peak, library peak,
    whether shifted; peaks within `precursor_window` Da below a precursor never match shifted."""
    row, lpeak, direct, shifted = unit_entries(q, lib, pq, pl, shift)
    s_ok = shifted >= 0
    row_s, q_s, l_s = row[s_ok], shifted[s_ok], lpeak[s_ok]
    ok = ~(q.mz[q_s] >= q.precursor_mz[pq[row_s]] - precursor_window)
    ok &= ~(lib.mz[l_s] >= lib.precursor_mz[pl[row_s]] - precursor_window)
    d_ok = direct >= 0
    pair = np.concatenate([row[d_ok], row_s[ok]])
    qp = np.concatenate([direct[d_ok], q_s[ok]])
    lp = np.concatenate([lpeak[d_ok], l_s[ok]])
    is_shifted = np.concatenate([np.zeros(int(d_ok.sum()), dtype=bool), np.ones(int(ok.sum()), dtype=bool)])
    return pair, qp, lp, is_shifted


def unit_preselect(q: PeakTable, lib: PeakTable, pq: np.ndarray, pl: np.ndarray, rp: np.ndarray, rs: np.ndarray,
                   params: MetricParams, min_shifted: int = 2, explained_power: float = 0.5) -> np.ndarray:
    """Of the candidate shifts `rs` of pairs `rp`, the one per pair to score exactly.

    Each (pair, shift) gets a quick score, as :func:`nps_id.spectra.search.hybrid.shifted_scores` defines the score
    but with the cosine in place of the metric (no ratio term) and without the precursor rule. Rows under
    `min_shifted` shifted matches (an ion and its isotopes once) are dropped; of the others, the best of each pair
    is kept.

    Returns
    -------
    ndarray of int64
        Indices into `rp` / `rs`, sorted.
    """
    from nps_id.spectra.search.exact import _seg_norms
    from nps_id.spectra.search.hybrid import ISOTOPE_GAP, _weights

    R = rp.size
    if R == 0:
        return np.zeros(0, dtype=np.int64)
    wq, wl = _weights(q, params), _weights(lib, params)
    eq, el = np.sqrt(np.asarray(q.intensity, np.float64)), np.sqrt(np.asarray(lib.intensity, np.float64))
    # the direct matches once per pair; then, per row, only the library peaks without a direct partner
    up, ip = np.unique(rp, return_inverse=True)
    P = up.size
    Qi, Lp, qb, lb, width, iq, il = _layout(q, lib, pq[up], pl[up], rs)
    ppl = pl[up]
    counts = lib.offsets[ppl + 1] - lib.offsets[ppl]
    lpeak = np.repeat(lib.offsets[ppl] - (np.cumsum(counts) - counts), counts) + np.arange(counts.sum())
    prow = np.repeat(np.arange(P, dtype=np.int64), counts)
    m = lb[lpeak]
    direct = Qi[iq[prow] * width + m]
    d = direct >= 0
    dot_d = np.bincount(prow[d], weights=wq[direct[d]] * wl[lpeak[d]], minlength=P)
    mq_d = np.bincount(prow[d], weights=eq[direct[d]], minlength=P)
    ml_d = np.bincount(prow[d], weights=el[lpeak[d]], minlength=P)
    f_l, f_m = lpeak[~d], m[~d]
    fcount = np.bincount(prow[~d], minlength=P)
    foff = np.concatenate([[0], np.cumsum(fcount)])
    c = fcount[ip]
    src = np.repeat(foff[ip] - (np.cumsum(c) - c), c) + np.arange(c.sum())
    row = np.repeat(np.arange(R, dtype=np.int64), c)
    step = np.rint(rs).astype(np.int64)
    pos = f_m[src] + (iq[ip] * width + step)[row]  # the query bin m + shift, in the flat query rows
    qpk = Qi[pos]
    ok = np.flatnonzero(qpk >= 0)
    ok = ok[~Lp[pos[ok] + ((il[ip] - iq[ip]) * width)[row[ok]]]]
    row, qpk, lpk = row[ok], qpk[ok], f_l[src[ok]]
    dot = dot_d[ip] + np.bincount(row, weights=wq[qpk] * wl[lpk], minlength=R)
    mq = mq_d[ip] + np.bincount(row, weights=eq[qpk], minlength=R)
    ml = ml_d[ip] + np.bincount(row, weights=el[lpk], minlength=R)
    nq, nl = _seg_norms(wq, q.offsets)[pq[rp]], _seg_norms(wl, lib.offsets)[pl[rp]]
    tq = np.add.reduceat(np.concatenate([eq, [0.0]]), q.offsets[:-1])[pq[rp]]
    tl = np.add.reduceat(np.concatenate([el, [0.0]]), lib.offsets[:-1])[pl[rp]]
    with np.errstate(divide="ignore", invalid="ignore"):
        quick = np.nan_to_num(dot / (nq * nl)) * (np.nan_to_num(mq / tq) * np.nan_to_num(ml / tl)) ** explained_power
    r_s, m_s = row, lib.mz[lpk]
    # shifted matches per row, an ion and its isotopes once (library peaks are in m/z order within a row)
    new = np.concatenate([[True], (r_s[1:] != r_s[:-1]) | (m_s[1:] - m_s[:-1] > ISOTOPE_GAP)]) if r_s.size else r_s
    n_shift = np.bincount(r_s[new], minlength=R)
    ok = np.flatnonzero(n_shift >= min_shifted)
    if ok.size == 0:
        return ok
    order = ok[np.lexsort((-quick[ok], rp[ok]))]
    first = np.concatenate([[True], rp[order][1:] != rp[order][:-1]])
    return np.sort(order[first])
