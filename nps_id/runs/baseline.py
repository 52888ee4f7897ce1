"""Baseline and noise of chromatographic traces (one trace, or every ion trace of a run at once).

The baseline is a smoothed morphological opening: the trace is lightly smoothed (so that noise spikes do not
pull the minimum down), a rolling minimum then a rolling maximum over `window` scans remove every feature
narrower than the window (chromatographic peaks) and keep slow changes (column bleed, drift, constant
background), and a moving average over the same window smooths the steps (never below the opening, so that
the edges of a gap in the data, such as a filament-off period, do not turn into peaks). Every operation is a
:mod:`scipy.ndimage` filter along the scan axis, so a whole scans x m/z matrix is done in one call.
"""

from __future__ import annotations

import warnings

import numpy as np

from nps_id.errors import ProcessingError

__all__ = ["rolling_baseline", "subtract_baseline", "estimate_noise"]


def rolling_baseline(y: np.ndarray, window: int, pre_smooth: int = 5) -> np.ndarray:
    """Baseline of each trace along axis 0 (a rolling-minimum / opening baseline).

    Parameters
    ----------
    y : ndarray, shape (n_scans,) or (n_scans, n_traces)
        The trace(s).
    window : int
        Width in scans of the widest feature that is signal, not baseline (a few times the widest peak or
        cluster of co-eluting peaks).
    pre_smooth : int, default 5
        Width of the moving average applied before the minimum (1: none).

    Returns
    -------
    ndarray of float32 (float64 for a float64 input), same shape as `y`
        The baseline; never above the (pre-smoothed) trace.

    Raises
    ------
    ProcessingError
        If `window` or `pre_smooth` is below 1.
    """
    from scipy.ndimage import maximum_filter1d, minimum_filter1d, uniform_filter1d

    if window < 1 or pre_smooth < 1:
        raise ProcessingError(f"rolling_baseline: window ({window}) and pre_smooth ({pre_smooth}) must be >= 1")
    a = np.asarray(y)
    a = a.astype(np.float64 if a.dtype == np.float64 else np.float32, copy=False)
    if a.shape[0] == 0:
        return a.copy()
    smooth = uniform_filter1d(a, size=pre_smooth, axis=0, mode="nearest") if pre_smooth > 1 else a
    opened = maximum_filter1d(minimum_filter1d(smooth, size=window, axis=0, mode="nearest"), size=window, axis=0, mode="nearest")
    # the moving average smooths the opening's noise staircase; where it would cut a corner of a real step
    # (the edge of a gap in the data, a solvent-delay or filament-off period), the opening itself is kept
    base = np.maximum(uniform_filter1d(opened, size=window, axis=0, mode="nearest"), opened)
    return np.minimum(base, smooth)


def subtract_baseline(y: np.ndarray, window: int, pre_smooth: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(y - baseline, baseline)``; see :func:`rolling_baseline`. The corrected trace may dip below 0 by noise."""
    base = rolling_baseline(y, window, pre_smooth)
    return np.asarray(y, dtype=base.dtype) - base, base


def estimate_noise(y: np.ndarray, floor: float | None = None) -> np.ndarray | float:
    """Robust noise (standard deviation) of each trace along axis 0, from the median absolute first difference.

    The first differences cancel the slow baseline and most of a peak's height; their median absolute value,
    divided by ``0.6745 * sqrt(2)``, estimates the point-to-point noise of a Gaussian-noise trace and is not
    moved by the few scans inside peaks. Pairs of scans that are both exactly zero (an ion below the
    instrument's abundance threshold) are left out, so that a trace of zeros and occasional threshold-level
    spikes gets the spikes' size as its noise, not zero.

    Parameters
    ----------
    y : ndarray, shape (n_scans,) or (n_scans, n_traces)
        The trace(s) (baseline-corrected or not).
    floor : float, optional
        Lower bound of the result (traces that are zero almost everywhere give 0). Default: the median over the
        traces' non-zero estimates, divided by 10 (or 1.0 when there is none).

    Returns
    -------
    float or ndarray of float64
        One value per trace (a float for a 1-D trace).
    """
    a = np.asarray(y, dtype=np.float64)
    if a.shape[0] < 3:
        noise = np.ones(a.shape[1:]) if a.ndim > 1 else np.array(1.0)
    else:
        # pairs of exact zeros (an ion below the instrument's threshold) say nothing about the noise
        d = np.abs(np.diff(a, axis=0))
        silent = (a[1:] == 0) & (a[:-1] == 0)
        d[silent] = np.nan
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-silent traces: NaN, then the floor
            noise = np.nanmedian(d, axis=0) / (0.6745 * np.sqrt(2.0))
        noise = np.nan_to_num(noise, nan=0.0)
    if floor is None:
        positive = np.atleast_1d(noise)[np.atleast_1d(noise) > 0]
        floor = float(np.median(positive)) / 10.0 if positive.size else 1.0
    noise = np.maximum(noise, floor)
    return float(noise) if np.ndim(noise) == 0 else noise
