"""Nominal mass: put spectra on integer m/z, as a unit-mass (GC-EI) library is searched.

A GC-EI library such as NIST's or SWGDRUG's holds one peak per integer m/z. Instruments and their software often
export decimal m/z (``91.1``, ``57.0``, a high-resolution ``91.0542``), and a few exports split one nominal ion
over two centroids (``57.0`` and ``57.4``). Matched against the library with a 0.1-Da tolerance, such a query loses
every peak whose decimal is off by more than the tolerance; split ions also count twice. NIST MS Search avoids
both by working on nominal mass, and so does nps_id: every query of a unit-mass library, and every GC-EI
spectrum on both sides, is put on nominal mass by :func:`to_nominal` before scoring.

How: each m/z is rounded to the nearest integer (a window of -0.5 to +0.5 Da around it, which keeps the mass
defects of drug-sized organic ions, about -0.1 to +0.3 Da below m/z 500, in the right bin), and the peaks that
fall into one integer bin are merged by **summing** their intensities (the ion current of that nominal mass).
The result is a spectrum with strictly increasing integer m/z: the unit-mass fast path of the exact scorer
applies to every query, so no query can move a batch onto the slower general path.
"""

from __future__ import annotations

import numpy as np

from nps_id.spectra.search._peaks import PeakTable, segment_ids

__all__ = ["to_nominal", "is_nominal"]


def is_nominal(table: PeakTable) -> bool:
    """True if every m/z is an integer and no spectrum has two peaks at one m/z (nothing for :func:`to_nominal` to do)."""
    if table.mz.size == 0:
        return True
    if not np.array_equal(table.mz, np.rint(table.mz)):
        return False
    same = np.diff(table.mz) == 0
    if not same.any():
        return True
    first = table.offsets[1:-1]
    first = first[(first > 0) & (first < table.mz.size)]
    same[first - 1] = False  # equal m/z across a spectrum boundary is fine
    return not same.any()


def to_nominal(table: PeakTable) -> PeakTable:
    """The spectra of `table` on nominal mass: m/z rounded, peaks of one integer m/z summed (vectorised).

    Parameters
    ----------
    table : PeakTable
        Spectra with m/z sorted within each spectrum.

    Returns
    -------
    PeakTable
        The same table (no copy) when it is already nominal; else a new one with as many spectra, integer m/z
        (float64) strictly increasing within each spectrum, float32 summed intensities.

    Examples
    --------
    >>> import numpy as np
    >>> t = PeakTable(np.array([57.04, 57.4, 91.1]), np.array([10, 5, 100], np.float32), np.array([0, 3]),
    ...               np.array([np.nan]))
    >>> n = to_nominal(t); n.mz.tolist(), n.intensity.tolist()
    ([57.0, 91.0], [15.0, 100.0])
    """
    if is_nominal(table):
        return table
    mz = np.rint(table.mz)
    seg = segment_ids(table.offsets)
    # rounding keeps each spectrum's order except where two peaks straddle a bin edge out of order (unsorted input)
    order = np.lexsort((mz, seg))
    mz, seg = mz[order], seg[order]
    inten = np.asarray(table.intensity, dtype=np.float64)[order]
    new = np.ones(mz.size, dtype=bool)
    if mz.size:
        new[1:] = (mz[1:] != mz[:-1]) | (seg[1:] != seg[:-1])
    starts = np.flatnonzero(new)
    summed = np.add.reduceat(inten, starts) if starts.size else np.zeros(0)
    counts = np.bincount(seg[starts], minlength=len(table)) if starts.size else np.zeros(len(table), dtype=np.int64)
    offsets = np.zeros(len(table) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return PeakTable(mz[starts], summed.astype(np.float32), offsets, np.asarray(table.precursor_mz, dtype=np.float64))
