"""Generated GC-EI-like spectra for the search benchmark: distinct spectra, not copies of real ones.

A library made by copying the 2,702 real SWGDRUG spectra (:func:`bench_search.scaled_library`) holds about 370
near-copies of each at 1M and never meets the queries that real exports contain. This module makes libraries of
*distinct* spectra instead, from a seed, vectorised over all spectra at once (no Python loop over spectra):

* a nominal molecular mass per spectrum (log-normal, median about 260, 100-600 Da);
* 10-150 peaks per spectrum (log-normal count, median about 55);
* peak m/z drawn from three sources: the common EI fragment ions of organic/drug molecules (43, 57, 58, 91,
  77, 41, 44, 105, 51, 65, ...; Zipf-like weights, so a few ions occur in most spectra as in real libraries),
  the molecular-ion region (M, M-1, M+1, M-15, M-29, ...), and the rest spread from m/z 38 to M with more
  weight at low mass; duplicates within a spectrum are merged;
* heavy-tailed intensities (Pareto-like: most peaks a few per mille of the base peak, a few large), the common
  ions and the molecular ion favoured, scaled to a base peak of 999, integer m/z.

Queries (:func:`generated_queries`) are library spectra measured again: every intensity multiplied by a
log-normal factor (sigma 0.25), each non-base peak dropped with probability 0.08, a few small noise peaks added;
a share of them exported as instruments do: decimal m/z (``91.05``: mass defects of -0.1 to +0.3 Da) and some
nominal ions split over two centroids (``57.0`` and ``57.4``).
"""

from __future__ import annotations

import numpy as np

from nps_id.spectra.search._peaks import PeakTable

__all__ = ["COMMON_IONS", "generated_library", "generated_queries"]

#: frequent EI fragment ions (alkyl, acylium, iminium, tropylium/phenyl, ...), most frequent first
COMMON_IONS = np.array(
    [43, 57, 58, 91, 77, 41, 44, 105, 51, 65, 55, 42, 39, 71, 72, 86, 119, 30, 56, 69, 70, 73, 79, 82, 92, 94, 103,
     115, 117, 128, 134, 135, 149, 152, 165, 178, 207, 281],
    dtype=np.int64,
)
_COMMON_P = 1.0 / np.arange(1, COMMON_IONS.size + 1) ** 0.9
_COMMON_P /= _COMMON_P.sum()


def _segments(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Segment id of each element and CSR offsets for segments of `counts` elements."""
    off = np.zeros(counts.size + 1, np.int64)
    np.cumsum(counts, out=off[1:])
    return np.repeat(np.arange(counts.size, dtype=np.int64), counts), off


def _compact(seg: np.ndarray, mz: np.ndarray, inten: np.ndarray, n: int) -> PeakTable:
    """Sort by (spectrum, m/z), merge equal m/z of one spectrum (largest intensity), build the table."""
    order = np.lexsort((-inten, mz, seg))
    seg, mz, inten = seg[order], mz[order], inten[order]
    first = np.ones(seg.size, bool)
    first[1:] = (seg[1:] != seg[:-1]) | (mz[1:] != mz[:-1])
    seg, mz, inten = seg[first], mz[first], inten[first]
    _, off = _segments(np.bincount(seg, minlength=n))
    return PeakTable(mz.astype(np.float64), inten.astype(np.float32), off, np.full(n, np.nan))


def _base_999(seg: np.ndarray, off: np.ndarray, inten: np.ndarray) -> np.ndarray:
    """Intensities scaled per spectrum to a base peak of 999 (spectra given as contiguous segments)."""
    nz = np.diff(off) > 0
    base = np.ones(off.size - 1)
    base[nz] = np.maximum.reduceat(inten, off[:-1][nz])
    return inten / base[seg] * 999.0


def generated_library(n: int, seed: int = 0, chunk: int = 200_000) -> PeakTable:
    """`n` distinct generated GC-EI-like spectra (unit mass; see the module docstring), seeded.

    Parameters
    ----------
    n : int
        Number of spectra.
    seed : int, default 0
        Seed of the generator (the same seed gives the same library).
    chunk : int, default 200000
        Spectra generated per vectorised step (bounds the temporary memory).

    Returns
    -------
    PeakTable
        Integer m/z strictly increasing within each spectrum, float32 intensities with a base peak of 999.
    """
    rng = np.random.default_rng(seed)
    parts = [_generate(rng, min(chunk, n - s)) for s in range(0, n, chunk)]
    mz = np.concatenate([p.mz for p in parts])
    inten = np.concatenate([p.intensity for p in parts])
    counts = np.concatenate([np.diff(p.offsets) for p in parts])
    _, off = _segments(counts)
    return PeakTable(mz, inten, off, np.full(n, np.nan))


def _generate(rng: np.random.Generator, n: int) -> PeakTable:
    mol = np.clip(np.rint(rng.lognormal(np.log(260), 0.3, n)), 100, 600).astype(np.int64)
    npk = np.clip(np.rint(rng.lognormal(np.log(55), 0.5, n)), 10, 150).astype(np.int64)
    n_common = np.minimum(rng.binomial(14, 0.55, n), npk // 2)
    n_mol = np.minimum(rng.integers(1, 6, n), npk - n_common - 1)
    n_rest = npk - n_common - n_mol
    # common ions (Zipf-like), kept below the molecular mass
    seg_c, _ = _segments(n_common)
    mz_c = COMMON_IONS[rng.choice(COMMON_IONS.size, seg_c.size, p=_COMMON_P)]
    mz_c = np.minimum(mz_c, mol[seg_c])
    int_c = rng.pareto(1.2, seg_c.size) + 0.3
    # molecular-ion region: M, M+1, M-1, M-15, M-29, M-31, M-43
    seg_m, _ = _segments(n_mol)
    loss = np.array([0, 1, -1, -15, -29, -31, -43])[rng.choice(7, seg_m.size, p=[0.3, 0.2, 0.1, 0.15, 0.1, 0.05, 0.1])]
    mz_m = mol[seg_m] + loss
    int_m = (rng.pareto(1.5, seg_m.size) + 0.05) * np.where(loss == 1, 0.2, 1.0)
    # the rest: from m/z 38 to M, more at low mass; isotope-like pairs (m, m+1) come out of the uniform draw
    seg_r, _ = _segments(n_rest)
    u = rng.random(seg_r.size) ** 1.25
    mz_r = 38 + np.rint(u * (mol[seg_r] - 38)).astype(np.int64)
    int_r = rng.pareto(1.6, seg_r.size) * 0.3 + 0.01
    seg = np.concatenate([seg_c, seg_m, seg_r])
    mz = np.concatenate([mz_c, mz_m, mz_r])
    inten = np.concatenate([int_c, int_m, int_r])
    t = _compact(seg, mz, inten, n)
    s, _ = _segments(np.diff(t.offsets))
    return PeakTable(t.mz, np.round(_base_999(s, t.offsets, t.intensity.astype(np.float64)), 1).astype(np.float32),
                     t.offsets, t.precursor_mz)


def generated_queries(
    library: PeakTable,
    n: int,
    seed: int = 99,
    sigma: float = 0.25,
    p_drop: float = 0.08,
    decimal_share: float = 0.04,
    split_share: float = 0.02,
) -> tuple[PeakTable, np.ndarray]:
    """`n` queries measured again from random spectra of `library` (see the module docstring), seeded.

    Parameters
    ----------
    library : PeakTable
        A unit-mass library (:func:`generated_library`).
    n : int
        Number of queries.
    seed : int, default 99
        Seed.
    sigma, p_drop : float
        Log-normal intensity jitter and probability of dropping a non-base peak.
    decimal_share : float, default 0.04
        Share of queries exported with decimal m/z (every peak shifted by a mass defect of -0.1 to +0.3 Da).
    split_share : float, default 0.02
        Share of queries where up to three of the largest ions are split over two centroids in one nominal bin
        (``m + 0.0`` and ``m + 0.4``, the intensity shared); these are decimal too.

    Returns
    -------
    queries : PeakTable
        The queries (m/z sorted within each).
    source : ndarray of int64
        The library spectrum each query was made from.
    """
    rng = np.random.default_rng(seed)
    src = rng.integers(0, len(library), n)
    t = library.take(src)
    seg, off = _segments(np.diff(t.offsets))
    inten = t.intensity.astype(np.float64) * rng.lognormal(0.0, sigma, t.intensity.size)
    is_base = t.intensity == 999.0
    keep = (rng.random(seg.size) >= p_drop) | is_base
    # a few noise peaks per query (0-4, under 1 % of the base peak)
    n_noise = rng.integers(0, 5, n)
    seg_n, _ = _segments(n_noise)
    mz_n = rng.integers(30, 400, seg_n.size).astype(np.float64)
    int_n = rng.random(seg_n.size) * 9.0 + 0.5
    kind = rng.random(n)
    split = kind < split_share
    decimal = kind < split_share + decimal_share
    # split: the three largest kept peaks of a split query give 40 % of their intensity to a centroid at m + 0.4
    rank = _rank_in_segment(seg, -inten * keep, off)
    do_split = keep & split[seg] & (rank < 3)
    seg_s = seg[do_split]
    mz_s = t.mz[do_split] + 0.4
    int_s = inten[do_split] * 0.4
    inten = np.where(do_split, inten * 0.6, inten)
    seg_all = np.concatenate([seg[keep], seg_n, seg_s])
    mz_all = np.concatenate([t.mz[keep], mz_n, mz_s])
    int_all = np.concatenate([inten[keep], int_n, int_s])
    defect = rng.uniform(-0.1, 0.3, seg_all.size)
    mz_all = np.where(decimal[seg_all] & (np.abs(mz_all - np.rint(mz_all)) < 1e-9), mz_all + defect, mz_all)
    mz_all = np.round(mz_all, 2)
    q = _compact(seg_all, mz_all, int_all, n)
    s, _ = _segments(np.diff(q.offsets))
    return PeakTable(q.mz, np.round(_base_999(s, q.offsets, q.intensity.astype(np.float64)), 1).astype(np.float32),
                     q.offsets, q.precursor_mz), src


def _rank_in_segment(seg: np.ndarray, key: np.ndarray, off: np.ndarray) -> np.ndarray:
    """Rank (0 = smallest `key`) of each element within its contiguous segment."""
    order = np.lexsort((key, seg))
    rank = np.empty(seg.size, np.int64)
    rank[order] = np.arange(seg.size) - off[seg[order]]
    return rank
