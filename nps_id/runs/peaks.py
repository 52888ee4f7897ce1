"""Peak detection on chromatographic traces: one trace (the TIC, an extracted ion) or every ion trace at once.

:func:`find_peaks` finds the peaks of one trace (scipy's ``find_peaks`` with a prominence of ``min_snr`` times
the noise) and measures apex, height, width at half height, bounds and area. :func:`ion_apexes` finds the
apexes of every ion trace of a scans x m/z matrix in a few whole-array operations, with sub-scan apex positions
and half-height widths: the material component perception starts from.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from nps_id.errors import ProcessingError

__all__ = ["Peaks", "find_peaks", "IonApexes", "ion_apexes", "half_height_widths", "parabolic_apex"]


@dataclasses.dataclass(frozen=True)
class Peaks:
    """Peaks of one trace (arrays of equal length, in order of retention).

    Attributes
    ----------
    index : ndarray of int
        Apex scan.
    position : ndarray of float
        Apex in (fractional) scans, from a parabola through the apex and its neighbours.
    rt : ndarray of float
        Apex retention time (minutes), interpolated; equals `position` when no times were given.
    height : ndarray of float
        Apex height above the baseline.
    fwhm : ndarray of float
        Width at half height in scans.
    left, right : ndarray of int
        First and last scan of the peak (where it meets the baseline or the valley towards a neighbour).
    area : ndarray of float
        Sum of the baseline-corrected trace from `left` to `right` (abundance x scans).
    snr : ndarray of float
        Height over the noise.
    """

    index: np.ndarray
    position: np.ndarray
    rt: np.ndarray
    height: np.ndarray
    fwhm: np.ndarray
    left: np.ndarray
    right: np.ndarray
    area: np.ndarray
    snr: np.ndarray

    def __len__(self) -> int:
        return int(self.index.size)


def parabolic_apex(y: np.ndarray, index: np.ndarray, column: np.ndarray | None = None) -> np.ndarray:
    """Sub-scan apex positions: the vertex of the parabola through each apex and its two neighbours.

    Parameters
    ----------
    y : ndarray, shape (n_scans,) or (n_scans, n_traces)
    index : ndarray of int
        Apex scans.
    column : ndarray of int, optional
        The trace of each apex (2-D `y`).
    """
    n = y.shape[0]
    i = np.clip(index, 1, max(1, n - 2))
    take = (lambda r: y[r]) if column is None else (lambda r: y[r, column])
    a, b, c = take(i - 1).astype(np.float64), take(i).astype(np.float64), take(i + 1).astype(np.float64)
    denom = a - 2.0 * b + c
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(denom < 0, 0.5 * (a - c) / denom, 0.0)
    shift = np.clip(shift, -0.5, 0.5)
    return np.where((index > 0) & (index < n - 1), i + shift, index.astype(np.float64))


def half_height_widths(
    y: np.ndarray, index: np.ndarray, column: np.ndarray | None = None, reach: int = 50
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Width at half height of many peaks at once, with linear interpolation of the crossings.

    Each apex's neighbourhood (``reach`` scans each side) is gathered into one array; the first scan below half
    the apex height on each side is found with ``argmax`` over that array. A side that never drops below half
    height within `reach` (or the trace's end) is measured to its farthest point.

    Returns
    -------
    fwhm, left, right : ndarray of float
        Width in scans and the fractional half-height crossings.
    """
    n = y.shape[0]
    index = np.asarray(index, dtype=np.int64)
    offs = np.arange(reach + 1)
    height = (y[index] if column is None else y[index, column]).astype(np.float64)
    half = 0.5 * height

    def side(sign: int) -> np.ndarray:
        rows = np.clip(index[:, None] + sign * offs[None, :], 0, n - 1)
        vals = (y[rows] if column is None else y[rows, column[:, None]]).astype(np.float64)
        inside = index[:, None] + sign * offs[None, :]
        vals = np.where((inside >= 0) & (inside < n), vals, -np.inf)
        below = vals < half[:, None]
        k = np.argmax(below, axis=1)
        found = below[np.arange(index.size), k]
        k = np.where(found, k, reach)
        prev = vals[np.arange(index.size), np.maximum(k - 1, 0)]
        cur = vals[np.arange(index.size), k]
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(found & (prev > cur) & np.isfinite(cur), (prev - half) / (prev - cur), 0.0)
        dist = np.where(found, k - 1 + frac, np.minimum(reach, np.where(sign < 0, index, n - 1 - index)))
        return np.maximum(dist, 0.0)

    left = side(-1)
    right = side(+1)
    return left + right, index - left, index + right


def find_peaks(
    y: np.ndarray,
    rt: np.ndarray | None = None,
    *,
    min_snr: float = 10.0,
    noise: float | None = None,
    baseline: np.ndarray | None = None,
    min_fwhm: float = 1.0,
    smooth: float = 1.0,
) -> Peaks:
    """Find the chromatographic peaks of one trace (TIC or extracted ion).

    Parameters
    ----------
    y : array_like, shape (n_scans,)
        The trace; baseline-corrected unless `baseline` is given.
    rt : array_like, optional
        Retention times of the scans (minutes), to report apex times.
    min_snr : float, default 10
        Minimum prominence over the noise.
    noise : float, optional
        Noise standard deviation; estimated from the trace by default
        (:func:`~nps_id.runs.baseline.estimate_noise`).
    baseline : array_like, optional
        A baseline to subtract first.
    min_fwhm : float, default 1.0
        Minimum width at half height, in scans (rejects spikes).
    smooth : float, default 1.0
        Standard deviation (scans) of the Gaussian smoothing applied before the search (0: none).

    Returns
    -------
    Peaks
    """
    from scipy.ndimage import gaussian_filter1d
    from scipy.signal import find_peaks as scipy_find_peaks

    from nps_id.runs.baseline import estimate_noise

    a = np.asarray(y, dtype=np.float64)
    if a.ndim != 1:
        raise ProcessingError(f"find_peaks: expected one trace (1-D), got shape {a.shape}")
    if baseline is not None:
        a = a - np.asarray(baseline, dtype=np.float64)
    s = gaussian_filter1d(a, smooth) if smooth > 0 and a.size else a
    if noise is None:
        noise = float(estimate_noise(a)) if a.size else 1.0
    idx, props = scipy_find_peaks(s, prominence=min_snr * noise, height=min_snr * noise)
    fwhm, lo, hi = half_height_widths(s, idx)
    keep = fwhm >= min_fwhm
    idx, fwhm = idx[keep], fwhm[keep]
    left = np.maximum(props["left_bases"][keep], np.floor(lo[keep] - 1.5 * fwhm).astype(np.int64))
    right = np.minimum(props["right_bases"][keep], np.ceil(hi[keep] + 1.5 * fwhm).astype(np.int64))
    # neighbouring peaks share the valley between them
    if idx.size > 1:
        valley = np.array([i + int(np.argmin(s[i:j + 1])) for i, j in zip(idx[:-1], idx[1:])])
        left[1:] = np.maximum(left[1:], valley)
        right[:-1] = np.minimum(right[:-1], valley)
    cum = np.concatenate([[0.0], np.cumsum(a)])
    area = cum[right + 1] - cum[left]
    pos = parabolic_apex(s, idx)
    times = pos if rt is None else np.interp(pos, np.arange(a.size), np.asarray(rt, dtype=np.float64))
    height = s[idx]
    return Peaks(idx, pos, times, height, fwhm, left, right, area, height / noise)


@dataclasses.dataclass(frozen=True)
class IonApexes:
    """Apexes of the ion traces of a run (arrays of equal length).

    Attributes
    ----------
    scan : ndarray of int
        Apex scan.
    column : ndarray of int
        m/z column.
    position : ndarray of float
        Sub-scan apex position.
    height : ndarray of float
        Apex height of the smoothed, baseline-corrected trace.
    fwhm : ndarray of float
        Width at half height (scans).
    snr : ndarray of float
        Height over the trace's noise.
    """

    scan: np.ndarray
    column: np.ndarray
    position: np.ndarray
    height: np.ndarray
    fwhm: np.ndarray
    snr: np.ndarray

    def __len__(self) -> int:
        return int(self.scan.size)

    def subset(self, mask: np.ndarray) -> "IonApexes":
        """The apexes where `mask` is true."""
        return IonApexes(*(getattr(self, f.name)[mask] for f in dataclasses.fields(self)))


def ion_apexes(smoothed: np.ndarray, noise: np.ndarray, min_snr: float = 5.0, half_window: int = 2, reach: int = 50) -> IonApexes:
    """Local maxima of every ion trace above `min_snr` times its noise (vectorised over the whole matrix).

    Parameters
    ----------
    smoothed : ndarray, shape (n_scans, n_mz)
        Baseline-corrected, smoothed ion traces.
    noise : ndarray, shape (n_mz,)
        Noise of each trace.
    min_snr : float, default 5
        Minimum apex height over the noise.
    half_window : int, default 2
        An apex is the maximum of the scans within this distance.
    reach : int, default 50
        Scans searched each side for the half-height crossings.
    """
    from scipy.ndimage import maximum_filter1d

    if smoothed.shape[0] < 3:
        empty = np.empty(0)
        return IonApexes(empty.astype(np.int64), empty.astype(np.int64), empty, empty, empty, empty)
    local_max = maximum_filter1d(smoothed, size=2 * half_window + 1, axis=0, mode="nearest")
    mask = (smoothed >= local_max) & (smoothed > min_snr * noise[None, :])
    # a flat top counts once: drop an apex whose previous scan has the same value
    mask[1:] &= smoothed[1:] != smoothed[:-1]
    mask[0] = False
    mask[-1] = False
    scan, column = np.nonzero(mask)
    position = parabolic_apex(smoothed, scan, column)
    fwhm, _, _ = half_height_widths(smoothed, scan, column, reach=reach)
    height = smoothed[scan, column].astype(np.float64)
    return IonApexes(scan, column, position, height, fwhm, height / noise[column])
