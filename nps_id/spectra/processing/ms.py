"""Mass-spectrum steps, and the two steps for every kind that go with them (``normalize``, ``min_peaks``).

Mass spectra only: ``mz_range``, ``min_relative_intensity``, ``top_n``, ``intensity_power``, ``mz_weighting``,
``require_precursor``, ``remove_precursor``, ``merge_peaks``. Every kind: ``normalize``, ``min_peaks``.
Each is registered in :data:`~nps_id.spectra.processing.STEPS` when this module is imported.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from nps_id.spectra.processing._steps import ALL_KINDS, MS, _copy, _fail, _needs, _new, _subset, register_step
from nps_id.spectra.spectrum import Spectrum

__all__ = [
    "mz_range",
    "min_relative_intensity",
    "top_n",
    "normalize",
    "intensity_power",
    "mz_weighting",
    "require_precursor",
    "remove_precursor",
    "merge_peaks",
    "min_peaks",
]


def _tolerance_da(tolerance: float, unit: str, mz: np.ndarray | float) -> np.ndarray | float:
    return tolerance if unit == "Da" else tolerance * 1e-6 * mz


def _check_mz_range(min_mz: float, max_mz: float) -> None:
    _needs("mz_range", min_mz >= 0, f"min_mz must be >= 0, got {min_mz}")
    _needs("mz_range", min_mz <= max_mz, f"min_mz ({min_mz}) must not exceed max_mz ({max_mz})")


@register_step("mz_range", kinds=MS, check=_check_mz_range)
def mz_range(spectrum: Spectrum, *, min_mz: float = 0.0, max_mz: float = math.inf) -> Spectrum | None:
    """Keep the peaks with ``min_mz <= m/z <= max_mz``.

    Parameters
    ----------
    spectrum : Spectrum
        A mass spectrum.
    min_mz : float, default 0.0
        Lowest m/z kept (inclusive), >= 0.
    max_mz : float, default inf
        Highest m/z kept (inclusive), >= `min_mz`.

    Returns
    -------
    Spectrum or None
        ``None`` if no peak lies in the range.
    """
    x = spectrum.x
    lo, hi = np.searchsorted(x, min_mz, side="left"), np.searchsorted(x, max_mz, side="right")
    return _subset(spectrum, slice(lo, hi), "mz_range")


def _check_threshold(threshold: float) -> None:
    _needs(
        "min_relative_intensity",
        0.0 <= threshold <= 1.0,
        f"threshold is a fraction of the base peak, between 0 and 1; got {threshold} (for 1% give 0.01)",
    )


@register_step("min_relative_intensity", kinds=MS, check=_check_threshold)
def min_relative_intensity(spectrum: Spectrum, *, threshold: float) -> Spectrum | None:
    """Remove the peaks below a fraction of the most intense peak.

    Keeps the peaks with ``intensity >= threshold * max(intensity)`` (compared in float64).

    Parameters
    ----------
    spectrum : Spectrum
        A mass spectrum.
    threshold : float
        Fraction of the base peak, 0 to 1 (0.01 = 1%).

    Returns
    -------
    Spectrum or None
        ``None`` if the spectrum has no peaks or no peak with positive intensity.
    """
    y = spectrum.intensity
    if y.size == 0:
        return None
    top = float(y.max())
    if top <= 0.0:
        return None
    return _subset(spectrum, y.astype(np.float64) >= threshold * top, "min_relative_intensity")


def _check_top_n(n: int) -> None:
    _needs("top_n", n >= 1, f"n must be >= 1, got {n}")


@register_step("top_n", kinds=MS, check=_check_top_n)
def top_n(spectrum: Spectrum, *, n: int) -> Spectrum | None:
    """Keep the `n` most intense peaks (in m/z order).

    Among peaks of equal intensity at the cut, those of lower m/z are kept.

    Parameters
    ----------
    spectrum : Spectrum
        A mass spectrum.
    n : int
        Number of peaks to keep, >= 1.

    Returns
    -------
    Spectrum or None
        ``None`` if the spectrum has no peaks.
    """
    y = spectrum.intensity
    if y.size == 0:
        return None
    if y.size <= n:
        return _copy(spectrum)
    keep = np.argsort(-y, kind="stable")[:n]
    keep.sort()
    return _subset(spectrum, keep, "top_n")


def _check_normalize(method: str, scale: float) -> None:
    _needs("normalize", 0.0 < scale < math.inf, f"scale must be a positive number, got {scale}")


@register_step("normalize", kinds=ALL_KINDS, check=_check_normalize)
def normalize(
    spectrum: Spectrum, *, method: Literal["max", "sum", "l2"] = "max", scale: float = 1.0
) -> Spectrum | None:
    """Scale the intensities so that their maximum, sum or Euclidean norm equals `scale`.

    Parameters
    ----------
    spectrum : Spectrum
        Any spectrum.
    method : {"max", "sum", "l2"}, default "max"
        Divide by ``max(|I|)`` (the base peak becomes `scale`), by ``sum(|I|)``, or by ``sqrt(sum(I**2))``.
        For mass spectra (I >= 0) the absolute values change nothing.
    scale : float, default 1.0
        The value the chosen measure has afterwards (e.g. 999 or 100 for library-style spectra), > 0.

    Returns
    -------
    Spectrum or None
        ``None`` if the spectrum is empty or all its intensities are 0 (nothing to normalise).
    """
    y = spectrum.intensity.astype(np.float64)
    if y.size == 0:
        return None
    if method == "max":
        d = float(np.abs(y).max())
    elif method == "sum":
        d = float(np.abs(y).sum())
    else:
        d = float(np.sqrt(np.dot(y, y)))
    if not d > 0.0 or not math.isfinite(d):
        return None
    return _new(spectrum, spectrum.x, (y / d) * scale, "normalize")


def _check_power(power: float) -> None:
    _needs("intensity_power", 0.0 < power < math.inf, f"power must be > 0, got {power} (0.5 = square root)")


@register_step("intensity_power", kinds=MS, check=_check_power)
def intensity_power(spectrum: Spectrum, *, power: float) -> Spectrum:
    """Raise the intensities to a power: ``I ** power`` (NIST-style intensity weighting).

    With :func:`mz_weighting` this gives the weighted intensities ``I**a * mz**b`` of the NIST composite
    score (Stein & Scott 1994 use a = 0.6, b = 3 for EI spectra; a = 0.5, b = 1 is common for MS/MS).

    Parameters
    ----------
    spectrum : Spectrum
        A mass spectrum.
    power : float
        The exponent a, > 0 (0.5 = square root, 1 = unchanged).
    """
    y = spectrum.intensity.astype(np.float64)
    return _new(spectrum, spectrum.x, np.power(y, power), "intensity_power")


def _check_mz_power(mz_power: float) -> None:
    _needs("mz_weighting", math.isfinite(mz_power), f"mz_power must be a finite number, got {mz_power}")


@register_step("mz_weighting", kinds=MS, check=_check_mz_power)
def mz_weighting(spectrum: Spectrum, *, mz_power: float) -> Spectrum:
    """Multiply each intensity by its m/z to a power: ``I * mz ** mz_power`` (NIST-style m/z weighting).

    Parameters
    ----------
    spectrum : Spectrum
        A mass spectrum; its m/z values must be > 0 unless ``mz_power == 0``.
    mz_power : float
        The exponent b (3 in the NIST EI composite score, 0 = unchanged).

    Raises
    ------
    ProcessingError
        If the spectrum has an m/z <= 0, or the result overflows float32.
    """
    x = spectrum.x
    if mz_power != 0 and x.size and x[0] <= 0:
        _fail("mz_weighting", f"spectrum {spectrum.name or ''!r} has m/z <= 0; remove them first (mz_range min_mz=...)")
    y = spectrum.intensity.astype(np.float64)
    return _new(spectrum, x, y * np.power(x, mz_power), "mz_weighting")


@register_step("require_precursor", kinds=MS)
def require_precursor(spectrum: Spectrum) -> Spectrum | None:
    """Drop spectra without a precursor m/z (GC-EI spectra, MS/MS records lacking it).

    Returns
    -------
    Spectrum or None
        ``None`` if ``spectrum.precursor_mz`` is ``None``.
    """
    return None if spectrum.precursor_mz is None else _copy(spectrum)


def _check_remove_precursor(tolerance: float, unit: str, remove_above: bool) -> None:
    _needs("remove_precursor", 0.0 <= tolerance < math.inf, f"tolerance must be >= 0, got {tolerance}")


@register_step("remove_precursor", kinds=MS, check=_check_remove_precursor)
def remove_precursor(
    spectrum: Spectrum,
    *,
    tolerance: float,
    unit: Literal["Da", "ppm"] = "Da",
    remove_above: bool = False,
) -> Spectrum | None:
    """Remove the precursor peak of an MS/MS spectrum: peaks with ``|mz - precursor_mz| <= tolerance``.

    Parameters
    ----------
    spectrum : Spectrum
        A mass spectrum with a precursor m/z.
    tolerance : float
        Half-width of the removed window, >= 0, in `unit`.
    unit : {"Da", "ppm"}, default "Da"
        Unit of `tolerance`; ppm are relative to the precursor m/z.
    remove_above : bool, default False
        Also remove every peak above the window (``mz >= precursor_mz - tolerance``): isotope peaks of the
        precursor and co-isolated ions.

    Returns
    -------
    Spectrum or None
        ``None`` if no peak is left.

    Raises
    ------
    ProcessingError
        If the spectrum has no precursor m/z; put ``require_precursor`` before this step to drop those.
    """
    pmz = spectrum.precursor_mz
    if pmz is None:
        _fail(
            "remove_precursor",
            f"spectrum {spectrum.name or ''!r} has no precursor m/z; add the step 'require_precursor' "
            "before it to drop such spectra, or set the precursor m/z",
        )
    tol = float(_tolerance_da(tolerance, unit, pmz))
    x = spectrum.x
    lo = np.searchsorted(x, pmz - tol, side="left")
    if remove_above:
        return _subset(spectrum, slice(0, lo), "remove_precursor")
    hi = np.searchsorted(x, pmz + tol, side="right")
    if lo == hi:
        return _copy(spectrum)
    keep = np.ones(x.size, dtype=bool)
    keep[lo:hi] = False
    return _subset(spectrum, keep, "remove_precursor")


def _check_merge(tolerance: float, unit: str, how: str) -> None:
    _needs("merge_peaks", 0.0 <= tolerance < math.inf, f"tolerance must be >= 0, got {tolerance}")


@register_step("merge_peaks", kinds=MS, check=_check_merge)
def merge_peaks(
    spectrum: Spectrum,
    *,
    tolerance: float,
    unit: Literal["Da", "ppm"] = "Da",
    how: Literal["sum", "max"] = "sum",
) -> Spectrum | None:
    """Merge peaks closer than a tolerance into one peak.

    Neighbouring peaks (in m/z order) whose gap is ``<= tolerance`` belong to one group (single linkage:
    a chain of close peaks forms one group even if its ends are farther apart than `tolerance`).

    Parameters
    ----------
    spectrum : Spectrum
        A mass spectrum.
    tolerance : float
        Largest gap between neighbouring peaks that are merged, >= 0, in `unit` (0 merges equal m/z only).
    unit : {"Da", "ppm"}, default "Da"
        Unit of `tolerance`; ppm are relative to the lower m/z of each pair.
    how : {"sum", "max"}, default "sum"
        ``"sum"``: the merged peak's intensity is the group's summed intensity, its m/z the
        intensity-weighted mean m/z (the plain mean if all intensities are 0). ``"max"``: the group's most
        intense peak is kept as it is (the lowest m/z among equally intense ones).

    Returns
    -------
    Spectrum or None
        ``None`` if the spectrum has no peaks.
    """
    x = spectrum.x
    n = x.size
    if n == 0:
        return None
    if n == 1:
        return _copy(spectrum)
    new_group = np.empty(n, dtype=bool)
    new_group[0] = True
    new_group[1:] = np.diff(x) > _tolerance_da(tolerance, unit, x[:-1])
    starts = np.flatnonzero(new_group)
    if starts.size == n:
        return _copy(spectrum)
    y = spectrum.intensity.astype(np.float64)
    if how == "max":
        group = np.cumsum(new_group) - 1
        order = np.lexsort((-y, group))  # by group, then by decreasing intensity, ties by m/z
        pick = order[starts]
        return _new(spectrum, x[pick], y[pick], "merge_peaks")
    ends = np.empty_like(starts)
    ends[:-1] = starts[1:]
    ends[-1] = n
    total = np.add.reduceat(y, starts)
    weighted = np.add.reduceat(y * x, starts)
    plain = np.add.reduceat(x, starts) / (ends - starts)
    with np.errstate(divide="ignore", invalid="ignore"):
        mz = np.where(total > 0, weighted / np.where(total > 0, total, 1.0), plain)
    mz = np.clip(mz, x[starts], x[ends - 1])  # guard the order against rounding
    return _new(spectrum, mz, total, "merge_peaks")


def _check_min_peaks(n: int) -> None:
    _needs("min_peaks", n >= 1, f"n must be >= 1, got {n}")


@register_step("min_peaks", kinds=ALL_KINDS, check=_check_min_peaks)
def min_peaks(spectrum: Spectrum, *, n: int) -> Spectrum | None:
    """Drop spectra with fewer than `n` peaks (points).

    Parameters
    ----------
    spectrum : Spectrum
        Any spectrum.
    n : int
        Smallest number of peaks kept, >= 1.
    """
    return None if spectrum.n_peaks < n else _copy(spectrum)
