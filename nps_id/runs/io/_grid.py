"""Put the (m/z, abundance) points of many scans onto one shared m/z axis: the dense scans x m/z matrix."""

from __future__ import annotations

import numpy as np

__all__ = ["bin_scans"]


def bin_scans(
    mz: np.ndarray, intensity: np.ndarray, counts: np.ndarray, bin_width: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Sum each scan's points into m/z bins of `bin_width` (nominal mass for the default of 1 Da).

    Parameters
    ----------
    mz, intensity : ndarray, shape (n_points,)
        All points of all scans, scan after scan (CSR order).
    counts : ndarray of int, shape (n_scans,)
        Points per scan.
    bin_width : float, default 1.0
        Bin width in Da; a point at m/z ``x`` goes to the bin ``round(x / bin_width)``, whose centre is
        ``round(x / bin_width) * bin_width`` (so unit-mass data keeps its integer m/z).

    Returns
    -------
    axis : ndarray of float64
        The centres of the bins that hold at least one point, increasing.
    matrix : ndarray of float32, shape (n_scans, axis.size)
        Summed abundances.
    """
    counts = np.asarray(counts, dtype=np.int64)
    n_scans = counts.size
    if mz.size == 0:
        return np.empty(0), np.zeros((n_scans, 0), dtype=np.float32)
    bins = np.rint(np.asarray(mz, dtype=np.float64) / bin_width).astype(np.int64)
    used, column = np.unique(bins, return_inverse=True)
    row = np.repeat(np.arange(n_scans, dtype=np.int64), counts)
    flat = row * used.size + column
    matrix = np.bincount(flat, weights=np.asarray(intensity, dtype=np.float64), minlength=n_scans * used.size)
    axis = used.astype(np.float64) * bin_width
    return axis, matrix.reshape(n_scans, used.size).astype(np.float32)
