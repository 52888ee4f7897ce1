"""Preprocessing for entropy similarity, the same steps as ms_entropy's ``clean_spectrum`` (own code).

ms_entropy (Li et al., Nat. Methods 2021/2023) cleans every spectrum before entropy scoring; to give the same
scores nps_id applies the same steps, vectorised over a whole :class:`PeakTable`, and gets the same float32
numbers as ms_entropy's C implementation (the one its Python package runs), bit for bit:

1. drop peaks with m/z <= 0 or intensity <= 0;
2. drop peaks at or above ``f32(precursor_mz - precursor_removal)`` (where a precursor is known and removal
   is on);
3. centroid, while two peaks are closer than ``min_diff`` Da (float32 difference): visit the peaks by
   decreasing intensity, in the order of ms_entropy's quicksort where intensities are equal; a visited peak
   that was not merged away takes its contiguous neighbours within ``min_diff`` of it, in place
   (:func:`_centroid_pass` has the details that matter for equal results);
4. drop peaks below ``f32(noise) * max(intensity)``;
5. normalise intensities by their float32 sum, added left to right.

:func:`entropy_weights` then applies the entropy-based intensity weighting (``intensity ** (0.25 + 0.25 * S)``
for spectral entropy ``S < 3``, renormalised), in float32 as FlashEntropySearch does.
"""

from __future__ import annotations

import numpy as np

from nps_id.spectra.search._peaks import PeakTable, segment_ids

__all__ = ["clean_for_entropy", "entropy_weights"]


def _seg_exclusive_cumsum(flags: np.ndarray, sid: np.ndarray, seg_first: np.ndarray) -> np.ndarray:
    """How many of `flags` come before each element within its segment (segments contiguous, in order of
    `sid`; ``seg_first[s]`` is the first element of segment ``s``)."""
    c = np.cumsum(flags) - flags
    return c - c[seg_first][sid]


def _flatten(lo: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segments ``lo[s] .. lo[s] + n[s] - 1`` (n >= 1) laid end to end: segment of each element, where each
    segment starts in that list, and the positions."""
    sid = np.repeat(np.arange(lo.size), n)
    first = np.concatenate([[0], np.cumsum(n)[:-1]])
    return sid, first, np.repeat(lo - first, n) + np.arange(sid.size)


def _quicksort_visit_order(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Per CSR segment of `values`, the order in which ms_entropy's C centroiding visits the elements.

    ms_entropy sorts intensities with its own quicksort: Lomuto partition, the segment's last element as
    pivot, elements ``>=`` the pivot moved to the front in their order, the others rotated through the back
    (each front move sends the first smaller element to the end), the pivot swapped in after the front part,
    then both sides sorted the same way. That fixes an order of equal values, which this reproduces for all
    segments at once, one partition level per round.

    Returns
    -------
    ndarray of int64
        ``order[offsets[s]:offsets[s + 1]]`` are the global indices of segment ``s`` in visiting order.
    """
    perm = np.arange(values.size, dtype=np.int64)
    sizes = np.diff(offsets)
    lo, hi = offsets[:-1][sizes > 1].astype(np.int64), offsets[1:][sizes > 1].astype(np.int64) - 1
    # integer ranks of the values (equal values equal ranks) for segmented prefix minima
    _, vrank = np.unique(values, return_inverse=True)
    vrank = vrank.astype(np.int64)
    big = int(vrank.max(initial=0)) + 1
    while lo.size:
        # peel: a tail whose every element is <= everything before it is already in place
        sid, first, pos = _flatten(lo, hi - lo + 1)
        r = vrank[perm[pos]]
        run_max = np.maximum.accumulate(sid * big - r)  # -(prefix min) within the segment, inclusive
        prev = np.concatenate([[-1], run_max[:-1]])
        ok = np.where(pos == lo[sid], False, -r >= prev - sid * big)  # r <= min of the elements before it
        bad_pos = np.where(ok, -1, pos)
        last_bad = np.maximum.reduceat(bad_pos, first)  # the last position that is not peelable
        hi = last_bad
        keep = hi > lo
        lo, hi = lo[keep], hi[keep]
        if not lo.size:
            break
        # one Lomuto partition of every segment
        n = hi - lo  # body sizes
        sid, first, pos = _flatten(lo, n)
        el = perm[pos]
        pivot = perm[hi]
        ge = values[el] >= values[pivot][sid]
        n_ge = np.bincount(sid, weights=ge, minlength=lo.size).astype(np.int64)
        lt_before = _seg_exclusive_cumsum(~ge, sid, first)
        rot = ge & (lt_before > 0)
        push = ~ge | rot
        # the queue of smaller elements: pushes in order; the k-th rotation re-pushes what push k held
        p_at = np.flatnonzero(push)
        p_sid = sid[p_at]
        n_push = np.bincount(p_sid, minlength=lo.size)
        p_first = np.concatenate([[0], np.cumsum(n_push)[:-1]])
        rot_idx = _seg_exclusive_cumsum(rot, sid, first)[p_at]
        ptr = np.where(ge[p_at], p_first[p_sid] + rot_idx, np.arange(p_at.size))
        while True:
            nxt = ptr[ptr]
            if np.array_equal(nxt, ptr):
                break
            ptr = nxt
        held = el[p_at][ptr]
        # write back: the >= part in order, the pivot, then the queue's survivors (its front goes last)
        g_at = np.flatnonzero(ge)
        perm[lo[sid[g_at]] + _seg_exclusive_cumsum(ge, sid, first)[g_at]] = el[g_at]
        perm[lo + n_ge] = pivot
        m = n - n_ge  # smaller elements per segment
        n_rot = n_push - m
        q_sid = np.repeat(np.arange(lo.size), m)
        q_k = np.arange(q_sid.size) - np.repeat(np.cumsum(m) - m, m)
        dest = np.where(q_k == 0, hi[q_sid], lo[q_sid] + n_ge[q_sid] + q_k)
        perm[dest] = held[p_first[q_sid] + n_rot[q_sid] + q_k]
        lo, hi = np.concatenate([lo, lo + n_ge + 1]), np.concatenate([lo + n_ge - 1, hi])
        keep = hi > lo
        lo, hi = lo[keep], hi[keep]
    return perm


def _scan(mz: np.ndarray, centre: np.ndarray, bound: np.ndarray, step: int, min_diff: np.float32) -> np.ndarray:
    """From each `centre`, walk by `step` (-1 or +1) while the next peak is within `min_diff` of the centre's
    m/z (float32 difference) and not past `bound` (inclusive); return the first position not taken."""
    pos = centre + step
    mc = mz[centre]
    live = np.flatnonzero((pos - bound) * step <= 0)
    while live.size:
        diff = (mz[pos[live]] - mc[live]) * np.float32(step)
        live = live[diff <= min_diff]
        pos[live] += step
        live = live[(pos[live] - bound[live]) * step <= 0]
    return pos


def _centroid_pass(
    mz: np.ndarray, inten: np.ndarray, seg: np.ndarray, min_diff: np.float32, rank: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One centroiding pass of ms_entropy's C ``clean_spectrum`` over spectra that need it, vectorised.

    The C code visits the peaks of a spectrum by decreasing intensity; a visited peak that still has
    intensity takes every contiguous neighbour within `min_diff` of its m/z (comparing current m/z: earlier
    merges moved some) and becomes their intensity-weighted mean m/z (sums in float64 of float32 products,
    rounded to float32) with their summed intensity; the others are zeroed but keep their place. A peak that
    takes only itself still gets ``f32(f32(i * mz) / i)``, which may move its m/z by one ulp.

    Peaks split into clusters at gaps so wide that no merge can cross them; lone peaks are done at once, and
    step ``t`` visits the ``t``-th most intense peak of every other cluster together. Where equal intensities
    in a cluster could change the outcome (a visited peak with an equally intense one still alive behind it,
    near enough to interact) the spectrum is returned in `tied`, to be redone with the C quicksort's order
    given as `rank` (see :func:`_quicksort_visit_order`).

    Returns
    -------
    mz, inten : ndarray of float32
        The peaks after the pass, in place (merged-away peaks have intensity 0).
    tied : ndarray of int64
        Spectra (values of `seg`) whose result depends on the order of equal intensities (empty with `rank`).
    """
    f32, f64 = np.float32, np.float64
    n = mz.size
    mz, inten = mz.copy(), inten.copy()
    m64 = mz.astype(f64)
    # no merge reaches across a gap wider than min_diff plus the drift of merged m/z (a few float32 ulps)
    brk = (seg[1:] != seg[:-1]) | (m64[1:] - m64[:-1] > float(min_diff) + 1e-3 + 1e-5 * m64[1:])
    reach = 2 * float(min_diff) + 1e-3 + 1e-5 * m64.max(initial=0.0)  # farther apart, two peaks never interact
    cid = np.concatenate([[0], np.cumsum(brk)])
    start = np.flatnonzero(np.concatenate([[True], brk]))
    size = np.diff(np.append(start, n))
    lone = np.flatnonzero(size[cid] == 1)
    mz[lone] = ((inten[lone] * mz[lone]).astype(f64) / inten[lone].astype(f64)).astype(f32)
    multi = np.flatnonzero(size[cid] > 1)
    tied: list[np.ndarray] = []
    if multi.size == 0:
        return mz, inten, np.zeros(0, dtype=np.int64)
    order = multi[np.lexsort((multi if rank is None else rank[multi], -inten[multi], cid[multi]))]
    ocid = cid[order]
    first = np.flatnonzero(np.concatenate([[True], ocid[1:] != ocid[:-1]]))
    rank_in = np.arange(order.size) - np.repeat(first, np.diff(np.append(first, order.size)))
    by_rank = np.argsort(rank_in, kind="stable")
    bounds = np.searchsorted(rank_in[by_rank], np.arange(rank_in.max() + 2))
    oint = inten[order]
    tie_next = np.append((ocid[1:] == ocid[:-1]) & (oint[1:] == oint[:-1]), False)
    lo_all, hi_all = start[cid], start[cid] + size[cid] - 1
    for t in range(bounds.size - 1):
        at = by_rank[bounds[t] : bounds[t + 1]]
        at = at[inten[order[at]] > 0]
        if at.size == 0:
            continue
        i = order[at]
        if rank is None:  # an equally intense peak behind, alive and near enough to interact: order matters
            q = at[tie_next[at]] + 1
            src = i[tie_next[at]]
            while q.size:
                j = order[q]
                hit = (inten[j] > 0) & (np.abs(m64[j] - m64[src]) <= reach)
                tied.append(seg[src[hit]])
                more = ~hit & tie_next[q]
                q, src = q[more] + 1, src[more]
        left = _scan(mz, i, lo_all[i], -1, min_diff) + 1
        right = _scan(mz, i, hi_all[i], +1, min_diff)
        width = right - left
        s = np.zeros(i.size, dtype=f64)
        w = np.zeros(i.size, dtype=f64)
        for k in range(int(width.max())):
            sel = np.flatnonzero(width > k)
            p = left[sel] + k
            s[sel] += inten[p]
            w[sel] += inten[p] * mz[p]
            inten[p] = 0
        mz[i] = (w / s).astype(f32)
        inten[i] = s.astype(f32)
    tied_seg = np.unique(np.concatenate(tied)) if tied else np.zeros(0, dtype=np.int64)
    return mz, inten, tied_seg


def _centroid(mz: np.ndarray, inten: np.ndarray, seg: np.ndarray, n: int, min_diff: float) -> tuple[np.ndarray, ...]:
    """Centroid every spectrum with peaks closer than `min_diff`, pass after pass as ms_entropy does."""
    md = np.float32(min_diff)
    while mz.size > 1:
        close = (seg[1:] == seg[:-1]) & (mz[1:] - mz[:-1] < md)
        if not close.any():
            break
        need = np.zeros(n, dtype=bool)
        need[seg[1:][close]] = True
        sel = np.flatnonzero(need[seg])
        m2, i2, tied = _centroid_pass(mz[sel], inten[sel], seg[sel], md)
        if tied.size:  # redo these in the C quicksort's order of equal intensities
            redo = sel[np.isin(seg[sel], tied)]
            counts = np.bincount(np.searchsorted(tied, seg[redo]), minlength=tied.size)
            rank = np.empty(redo.size, dtype=np.int64)
            rank[_quicksort_visit_order(inten[redo], np.concatenate([[0], np.cumsum(counts)]))] = np.arange(redo.size)
            m3, i3, _ = _centroid_pass(mz[redo], inten[redo], seg[redo], md, rank)
            at = np.searchsorted(sel, redo)
            m2[at], i2[at] = m3, i3
        mz[sel], inten[sel] = m2, i2
        keep = inten > 0
        mz, inten, seg = mz[keep], inten[keep], seg[keep]
        mz, inten, seg = _sorted_by_mz(mz, inten, seg)  # merged m/z may be out of order: the C code sorts too
    return mz, inten, seg


def _sorted_by_mz(mz: np.ndarray, inten: np.ndarray, seg: np.ndarray) -> tuple[np.ndarray, ...]:
    """The peaks in m/z order within each spectrum (`seg`, non-decreasing), unchanged if they already are."""
    if np.any((seg[1:] == seg[:-1]) & (mz[1:] < mz[:-1])):
        o = np.lexsort((mz, seg))
        mz, inten, seg = mz[o], inten[o], seg[o]
    return mz, inten, seg


def _sequential_sums(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """float32 sum of each CSR segment, added left to right (the C code's order, so the same rounding)."""
    counts = np.diff(offsets)
    order = np.argsort(-counts, kind="stable")
    n_sorted, first = counts[order], offsets[:-1][order]
    acc = np.zeros(counts.size, dtype=values.dtype)
    for k in range(int(n_sorted[0]) if counts.size else 0):
        m = int(np.searchsorted(-n_sorted, -k, side="left"))  # segments longer than k: a prefix
        acc[:m] += values[first[:m] + k]
    out = np.empty_like(acc)
    out[order] = acc
    return out


def clean_for_entropy(
    table: PeakTable,
    *,
    noise: float = 0.01,
    min_diff: float = 0.05,
    precursor_removal: float | None = 1.6,
) -> PeakTable:
    """Clean every spectrum of `table` as ms_entropy's ``clean_spectrum`` does (see the module docstring).

    Parameters
    ----------
    table : PeakTable
        Spectra to clean.
    noise : float, default 0.01
        Relative noise threshold (fraction of the base peak).
    min_diff : float, default 0.05
        Peaks closer than this (Da) are merged; must exceed twice the matching tolerance.
    precursor_removal : float or None, default 1.6
        Remove peaks at or above ``precursor_mz - precursor_removal``; None (or no precursor) keeps them.

    Returns
    -------
    PeakTable
        m/z held as float32 values (in a float64 array), intensities float32 summing to 1 per spectrum;
        a spectrum may end up empty.
    """
    f32 = np.float32
    mz = table.mz.astype(f32)
    inten = table.intensity.astype(f32, copy=True)
    seg = segment_ids(table.offsets)
    keep = (mz > 0) & (inten > 0)
    if precursor_removal is not None:
        limit = (table.precursor_mz - precursor_removal).astype(f32)
        lim = limit[seg]
        keep &= ~((lim > 0) & (mz >= lim))
    mz, inten, seg = mz[keep], inten[keep], seg[keep]
    n = len(table)
    mz, inten, seg = _sorted_by_mz(mz, inten, seg)
    if min_diff > 0:
        mz, inten, seg = _centroid(mz, inten, seg, n, min_diff)
    if mz.size:
        base = np.zeros(n, dtype=f32)
        np.maximum.at(base, seg, inten)
        keep = inten >= f32(noise) * base[seg]
        mz, inten, seg = mz[keep], inten[keep], seg[keep]
    counts = np.bincount(seg, minlength=n)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    if mz.size:
        inten = inten / _sequential_sums(inten, offsets)[seg]
    return PeakTable(mz.astype(np.float64), inten.astype(f32), offsets, table.precursor_mz)


def entropy_weights(table: PeakTable) -> PeakTable:
    """Apply ms_entropy's entropy-based intensity weighting to cleaned spectra (intensities summing to 1).

    For spectral entropy ``S = -sum(p ln p) < 3`` the intensities become ``p ** (0.25 + 0.25 S)``, renormalised;
    spectra with ``S >= 3`` are left as they are.
    """
    n = len(table)
    seg = segment_ids(table.offsets)
    p = table.intensity.astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -np.bincount(seg, weights=p * np.log(p), minlength=n).astype(np.float32)
    weight = (np.float32(0.25) + np.float32(0.25) * ent).astype(np.float32)
    low = ent < 3
    w = np.where(low[seg], np.power(p, weight[seg]), p).astype(np.float32)
    total = np.bincount(seg, weights=w, minlength=n).astype(np.float32)
    w = np.where(low[seg], w / np.where(total > 0, total, 1)[seg], w).astype(np.float32)
    return PeakTable(table.mz, w, table.offsets, table.precursor_mz)
