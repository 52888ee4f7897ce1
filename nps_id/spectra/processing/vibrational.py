"""Steps for vibrational (IR, Raman) spectra, and ``crop`` for every kind.

IR and Raman: ``als_baseline``, ``savgol``, ``snv``, ``vector_normalize``, ``resample``; ``despike`` (Raman
only). Every kind: ``crop``. Each is registered in :data:`~nps_id.spectra.processing.STEPS` when this module
is imported. scipy is imported inside the steps that need it, not at import time.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from nps_id.spectra.processing._steps import (
    ALL_KINDS,
    VIBRATIONAL,
    _copy,
    _needs,
    _new,
    _subset,
    register_step,
)
from nps_id.spectra.spectrum import Spectrum

__all__ = ["crop", "als_baseline", "savgol", "snv", "vector_normalize", "resample", "despike"]

_MAX_GRID_POINTS = 10_000_000


def _is_even(step: str, x: np.ndarray) -> None:
    dx = np.diff(x)
    mean = (x[-1] - x[0]) / (x.size - 1)
    _needs(
        step,
        mean > 0 and bool(np.all(np.abs(dx - mean) <= 1e-3 * mean)),
        "the x values are not evenly spaced; add a 'resample' step before it",
    )


def _check_crop(start: float, stop: float) -> None:
    _needs("crop", start <= stop, f"start ({start}) must not exceed stop ({stop})")


@register_step("crop", kinds=ALL_KINDS, check=_check_crop)
def crop(spectrum: Spectrum, *, start: float = -math.inf, stop: float = math.inf) -> Spectrum | None:
    """Keep the points with ``start <= x <= stop`` (wavenumber in cm-1, or m/z).

    Parameters
    ----------
    spectrum : Spectrum
        Any spectrum.
    start : float, default -inf
        Lowest x kept (inclusive).
    stop : float, default inf
        Highest x kept (inclusive), >= `start`.

    Returns
    -------
    Spectrum or None
        ``None`` if no point lies in the range.
    """
    x = spectrum.x
    lo, hi = np.searchsorted(x, start, side="left"), np.searchsorted(x, stop, side="right")
    return _subset(spectrum, slice(lo, hi), "crop")


def _check_als(lam: float, p: float, n_iter: int) -> None:
    _needs("als_baseline", 0.0 < lam < math.inf, f"lam (smoothness) must be > 0, got {lam} (typical: 1e4 to 1e8)")
    _needs("als_baseline", 0.0 < p < 0.5, f"p (asymmetry) must be between 0 and 0.5, got {p} (typical: 0.001 to 0.05)")
    _needs("als_baseline", n_iter >= 1, f"n_iter must be >= 1, got {n_iter}")


@register_step("als_baseline", kinds=VIBRATIONAL, check=_check_als)
def als_baseline(spectrum: Spectrum, *, lam: float = 1e5, p: float = 0.01, n_iter: int = 10) -> Spectrum | None:
    """Subtract an asymmetric-least-squares baseline (Eilers & Boelens, 2005).

    The baseline z minimises ``sum(w * (y - z)**2) + lam * sum(diff(z, 2)**2)``; points above the baseline
    get weight `p`, points below ``1 - p``, and the weights are re-estimated `n_iter` times (stopping early
    when they no longer change). Each solve is one sparse pentadiagonal system (:func:`scipy.sparse.linalg.spsolve`).

    Parameters
    ----------
    spectrum : Spectrum
        An IR or Raman spectrum (bands pointing up: absorbance, Raman intensity). `lam` acts per point, so
        resample onto a fixed grid first for the same smoothness on every spectrum.
    lam : float, default 1e5
        Smoothness penalty, > 0; larger gives a stiffer baseline.
    p : float, default 0.01
        Asymmetry, 0 < p < 0.5; smaller keeps the baseline further below the bands.
    n_iter : int, default 10
        Largest number of re-weighting iterations, >= 1.

    Returns
    -------
    Spectrum or None
        The spectrum minus its baseline; ``None`` if it has fewer than 3 points.
    """
    from scipy import sparse
    from scipy.sparse.linalg import spsolve

    y = spectrum.intensity.astype(np.float64)
    n = y.size
    if n < 3:
        return None
    d = sparse.diags([1.0, -2.0, 1.0], [0, 1, 2], shape=(n - 2, n), format="csc")
    penalty = (lam * (d.T @ d)).tocsc()
    w = np.ones(n)
    z = y
    for _ in range(n_iter):
        z = spsolve((sparse.diags(w, 0, format="csc") + penalty).tocsc(), w * y)
        w_new = np.where(y > z, p, 1.0 - p)
        if np.array_equal(w_new, w):
            break
        w = w_new
    return _new(spectrum, spectrum.x, y - z, "als_baseline")


def _check_savgol(window: int, polyorder: int, deriv: int) -> None:
    _needs("savgol", window >= 3 and window % 2 == 1, f"window must be an odd number >= 3, got {window}")
    _needs("savgol", 0 <= polyorder < window, f"polyorder must be >= 0 and < window ({window}), got {polyorder}")
    _needs("savgol", 0 <= deriv <= polyorder, f"deriv must be between 0 and polyorder ({polyorder}), got {deriv}")


@register_step("savgol", kinds=VIBRATIONAL, check=_check_savgol)
def savgol(spectrum: Spectrum, *, window: int = 11, polyorder: int = 3, deriv: int = 0) -> Spectrum | None:
    """Savitzky-Golay smoothing or derivative (:func:`scipy.signal.savgol_filter`, ``mode="interp"``).

    Parameters
    ----------
    spectrum : Spectrum
        An IR or Raman spectrum on evenly spaced x (use ``resample`` first).
    window : int, default 11
        Window length in points, odd, >= 3.
    polyorder : int, default 3
        Order of the fitted polynomial, < `window`.
    deriv : int, default 0
        Order of the derivative (0 = smoothing), <= `polyorder`; in intensity units per cm-1**deriv.

    Returns
    -------
    Spectrum or None
        ``None`` if the spectrum has fewer points than `window`.

    Raises
    ------
    ProcessingError
        If the x values are not evenly spaced (within 0.1% of the mean spacing).
    """
    from scipy.signal import savgol_filter

    x = spectrum.x
    if x.size < window:
        return None
    _is_even("savgol", x)
    delta = (x[-1] - x[0]) / (x.size - 1)
    y = savgol_filter(spectrum.intensity.astype(np.float64), window, polyorder, deriv=deriv, delta=delta, mode="interp")
    return _new(spectrum, x, y, "savgol")


@register_step("snv", kinds=VIBRATIONAL)
def snv(spectrum: Spectrum) -> Spectrum | None:
    """Standard normal variate: subtract the mean, divide by the standard deviation (``ddof=0``).

    Returns
    -------
    Spectrum or None
        ``None`` if the spectrum is empty or constant.
    """
    y = spectrum.intensity.astype(np.float64)
    if y.size == 0:
        return None
    centred = y - y.mean()
    sd = float(np.sqrt(np.mean(centred * centred)))
    if not sd > 0.0:
        return None
    return _new(spectrum, spectrum.x, centred / sd, "snv")


@register_step("vector_normalize", kinds=VIBRATIONAL)
def vector_normalize(spectrum: Spectrum) -> Spectrum | None:
    """Vector normalisation as in IR practice: subtract the mean, then divide by the Euclidean norm.

    Unlike ``normalize method=l2`` the spectrum is mean-centred first; afterwards its mean is 0 and its
    sum of squares 1.

    Returns
    -------
    Spectrum or None
        ``None`` if the spectrum is empty or constant.
    """
    y = spectrum.intensity.astype(np.float64)
    if y.size == 0:
        return None
    centred = y - y.mean()
    norm = float(np.sqrt(np.dot(centred, centred)))
    if not norm > 0.0:
        return None
    return _new(spectrum, spectrum.x, centred / norm, "vector_normalize")


def _grid_size(start: float, stop: float, step: float) -> int:
    return int(math.floor((stop - start) / step * (1 + 1e-12))) + 1


def _check_resample(start: float, stop: float, step: float, outside: str) -> None:
    _needs("resample", math.isfinite(start) and math.isfinite(stop), "start and stop must be finite numbers")
    _needs("resample", start <= stop, f"start ({start}) must not exceed stop ({stop})")
    _needs("resample", 0.0 < step < math.inf, f"step must be > 0, got {step}")
    n = _grid_size(start, stop, step)
    _needs("resample", n <= _MAX_GRID_POINTS, f"the grid would have {n} points (limit {_MAX_GRID_POINTS}); use a larger step")


@register_step("resample", kinds=VIBRATIONAL, check=_check_resample)
def resample(
    spectrum: Spectrum,
    *,
    start: float,
    stop: float,
    step: float,
    outside: Literal["trim", "zero", "edge"] = "trim",
) -> Spectrum | None:
    """Interpolate linearly onto the fixed grid ``start + k * step`` (``k = 0, 1, ...``, up to `stop`).

    Points of equal x are averaged first.

    Parameters
    ----------
    spectrum : Spectrum
        An IR or Raman spectrum.
    start, stop : float
        First and last grid value (cm-1); `stop` is included when it lies on the grid.
    step : float
        Grid spacing (cm-1), > 0.
    outside : {"trim", "zero", "edge"}, default "trim"
        Grid points outside the measured range: left out (the result holds only grid points inside the
        spectrum's range, still on the same grid), set to 0, or set to the nearest measured value.

    Returns
    -------
    Spectrum or None
        ``None`` if the spectrum has fewer than 2 points, or (``"trim"``) no grid point lies in its range.
    """
    x = spectrum.x
    y = spectrum.intensity.astype(np.float64)
    if x.size < 2:
        return None
    if (np.diff(x) == 0).any():
        x, inverse = np.unique(x, return_inverse=True)
        y = np.bincount(inverse, weights=y) / np.bincount(inverse)
        if x.size < 2:
            return None
    grid = start + step * np.arange(_grid_size(start, stop, step))
    if outside == "trim":
        grid = grid[(grid >= x[0]) & (grid <= x[-1])]
        if grid.size == 0:
            return None
        values = np.interp(grid, x, y)
    elif outside == "zero":
        values = np.interp(grid, x, y, left=0.0, right=0.0)
    else:
        values = np.interp(grid, x, y)
    return _new(spectrum, grid, values, "resample")


def _check_despike(threshold: float, window: int) -> None:
    _needs("despike", 0.0 < threshold < math.inf, f"threshold must be > 0, got {threshold} (typical: 5 to 10)")
    _needs("despike", window >= 3 and window % 2 == 1, f"window must be an odd number >= 3, got {window}")


@register_step("despike", kinds=("raman",), check=_check_despike)
def despike(spectrum: Spectrum, *, threshold: float = 6.0, window: int = 7) -> Spectrum:
    """Remove cosmic-ray spikes from a Raman spectrum and fill them in from their neighbours.

    A point is a spike when it stands above the running median (over `window` points) by more than
    ``threshold * noise + spread``: `noise` is the robust noise level (the median absolute deviation of the
    first difference, scaled to a standard deviation), `spread` the range of the running median over
    ``2 * window - 1`` points. The spread term keeps tall, sharp Raman bands intact (with the default
    window, bands down to a Gaussian sigma of about 2 points), while spikes one to ``window // 2`` points
    wide are caught. Spike points and one point either side are replaced by linear interpolation (in x)
    between the nearest unflagged points. A spike on the flank of a band is only found if it is taller
    than the band's rise over the wide window; the step errs towards leaving data unchanged.

    Parameters
    ----------
    spectrum : Spectrum
        A Raman spectrum. Only upward spikes are removed.
    threshold : float, default 6.0
        How many noise standard deviations a spike must stand out, > 0.
    window : int, default 7
        Running-median window in points, odd, >= 3; spikes up to ``window // 2`` points wide are found.

    Returns
    -------
    Spectrum
        Unchanged (a copy) if no spike is found or the spectrum is shorter than `window`.
    """
    from scipy.ndimage import maximum_filter1d, median_filter, minimum_filter1d

    y = spectrum.intensity.astype(np.float64)
    n = y.size
    if n < window:
        return _copy(spectrum)
    base = median_filter(y, size=window, mode="nearest")
    d = np.diff(y)
    noise = 1.4826 * float(np.median(np.abs(d - np.median(d)))) / math.sqrt(2.0)
    wide = 2 * window - 1
    spread = maximum_filter1d(base, wide, mode="nearest") - minimum_filter1d(base, wide, mode="nearest")
    spike = (y - base) > threshold * noise + spread
    if not spike.any():
        return _copy(spectrum)
    flagged = spike.copy()
    flagged[1:] |= spike[:-1]
    flagged[:-1] |= spike[1:]
    good = ~flagged
    if not good.any():
        return _copy(spectrum)
    x = spectrum.x
    y[flagged] = np.interp(x[flagged], x[good], y[good])
    return _new(spectrum, x, y, "despike")
