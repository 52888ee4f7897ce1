"""Preprocessing for entropy similarity, the same steps as ms_entropy's ``clean_spectrum`` (own code).

ms_entropy (Li et al., Nat. Methods 2021/2023) cleans every spectrum before entropy scoring; to give the same
scores nps_id applies the same steps, vectorised over a whole :class:`PeakTable`:

1. drop peaks with m/z <= 0 or intensity <= 0;
2. drop peaks above ``precursor_mz - precursor_removal`` (where a precursor is known and removal is on);
3. centroid: merge peaks closer than ``min_diff`` Da, highest peak first, into their intensity-weighted mean m/z
   (only spectra that need it go through this step, one by one);
4. drop peaks below ``noise * max(intensity)``;
5. normalise intensities to sum 1.

All arithmetic is float32, as in ms_entropy. :func:`entropy_weights` then applies the entropy-based intensity
weighting (``intensity ** (0.25 + 0.25 * S)`` for spectral entropy ``S < 3``, renormalised).
"""

from __future__ import annotations

import numpy as np

from nps_id.spectra.search._peaks import PeakTable, segment_ids

__all__ = ["clean_for_entropy", "entropy_weights"]


def _merge_close(mz: np.ndarray, inten: np.ndarray, min_diff: float) -> tuple[np.ndarray, np.ndarray]:
    """Centroid one spectrum: repeatedly merge peaks within `min_diff` around the most intense one."""
    f32 = np.float32
    while mz.size > 1 and not np.all(np.diff(mz) >= f32(min_diff)):
        inten = inten.copy()
        new_mz = np.zeros(mz.size, dtype=f32)
        new_int = np.zeros(mz.size, dtype=f32)
        n_new = 0
        for i in np.argsort(inten)[::-1]:
            if inten[i] <= 0:
                continue
            lo = i - 1
            while lo >= 0 and mz[i] - mz[lo] <= min_diff:
                lo -= 1
            hi = i + 1
            while hi < mz.size and mz[hi] - mz[i] <= min_diff:
                hi += 1
            total = np.sum(inten[lo + 1 : hi])
            new_mz[n_new] = np.sum(inten[lo + 1 : hi] * mz[lo + 1 : hi]) / total
            new_int[n_new] = total
            n_new += 1
            inten[lo + 1 : hi] = 0
        order = np.argsort(new_mz[:n_new])
        mz, inten = new_mz[:n_new][order], new_int[:n_new][order]
    return mz, inten


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
        Remove peaks above ``precursor_mz - precursor_removal``; None (or no precursor) keeps them.

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
        keep &= ~((lim > 0) & (mz > lim))
    mz, inten, seg = mz[keep], inten[keep], seg[keep]
    n = len(table)
    # spectra with peaks closer than min_diff need centroiding (rare: one by one)
    close = np.zeros(n, dtype=bool)
    if mz.size > 1:
        same = seg[1:] == seg[:-1]
        bad = same & (np.diff(mz) < f32(min_diff))
        close[seg[1:][bad]] = True
    if close.any():
        counts = np.bincount(seg, minlength=n)
        starts = np.concatenate([[0], np.cumsum(counts)])
        parts_mz, parts_int, parts_seg = [], [], []
        prev = 0
        for s in np.flatnonzero(close):
            a, b = starts[s], starts[s + 1]
            parts_mz.append(mz[prev:a]); parts_int.append(inten[prev:a]); parts_seg.append(seg[prev:a])
            m2, i2 = _merge_close(mz[a:b], inten[a:b], min_diff)
            parts_mz.append(m2); parts_int.append(i2); parts_seg.append(np.full(m2.size, s, dtype=np.int64))
            prev = b
        parts_mz.append(mz[prev:]); parts_int.append(inten[prev:]); parts_seg.append(seg[prev:])
        mz, inten, seg = np.concatenate(parts_mz), np.concatenate(parts_int), np.concatenate(parts_seg)
    if mz.size:
        base = np.zeros(n, dtype=f32)
        np.maximum.at(base, seg, inten)
        keep = inten >= f32(noise) * base[seg]
        mz, inten, seg = mz[keep], inten[keep], seg[keep]
    total = np.bincount(seg, weights=inten, minlength=n).astype(f32)
    if mz.size:
        inten = inten / total[seg]
    counts = np.bincount(seg, minlength=n)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
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
