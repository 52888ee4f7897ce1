"""Synthetic GC-MS runs with a known truth, for tests and benchmarks of the deconvolution.

A run is built from mass spectra (e.g. real library spectra), one elution profile per compound (a Gaussian, or
an exponentially modified Gaussian for tailing peaks), a background (a constant level on every ion, a drift
along the run, column-bleed ions rising with the temperature programme), counting noise proportional to the
square root of the signal plus electronic noise, and the instrument's abundance threshold (values below it are
recorded as 0).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from nps_id.runs.run import Run

__all__ = ["elution_profile", "profile_fwhm", "spacing_for_resolution", "Truth", "make_run"]


def elution_profile(t: np.ndarray, apex: float, sigma: float, tau: float = 0.0, oversample: int = 8) -> np.ndarray:
    """A chromatographic peak of maximum 1 sampled at the scans `t`: a Gaussian (``tau = 0``) or an
    exponentially modified Gaussian (a Gaussian convolved with an exponential decay of time constant `tau`).

    The EMG is computed on a grid `oversample` times finer than the scans and shifted so that its maximum
    falls at `apex` (the apex of a tailing peak, as a peak finder reports it).
    """
    t = np.asarray(t, dtype=np.float64)
    if tau <= 0:
        return np.exp(-0.5 * ((t - apex) / sigma) ** 2)
    step = min(sigma, tau) / oversample
    half = 6.0 * sigma + 12.0 * tau
    grid = np.arange(-6.0 * sigma, half + step, step)
    gauss = np.exp(-0.5 * (grid / sigma) ** 2)
    kernel = np.exp(-np.arange(0.0, 12.0 * tau + step, step) / tau)
    emg = np.convolve(gauss, kernel)[: grid.size]
    emg /= emg.max()
    top = grid[int(np.argmax(emg))]
    return np.interp(t - apex + top, grid, emg, left=0.0, right=0.0)


def profile_fwhm(sigma: float, tau: float = 0.0) -> float:
    """Width at half height of :func:`elution_profile` (same units as `sigma`)."""
    if tau <= 0:
        return 2.0 * np.sqrt(2.0 * np.log(2.0)) * sigma
    t = np.linspace(-6 * sigma, 6 * sigma + 12 * tau, 4001)
    p = elution_profile(t, 0.0, sigma, tau)
    above = t[p >= 0.5]
    return float(above[-1] - above[0])


def spacing_for_resolution(resolution: float, fwhm_a: float, fwhm_b: float) -> float:
    """Apex distance of two peaks at chromatographic resolution ``Rs = sqrt(2 ln 2) * dt / (w_a + w_b)``
    (half-height widths, the usual ``1.18 dt / (w_a + w_b)``; exactly ``dt / (4 sigma)`` for two Gaussians of the
    same width)."""
    return resolution * (fwhm_a + fwhm_b) / np.sqrt(2.0 * np.log(2.0))


@dataclasses.dataclass(frozen=True)
class Truth:
    """What went into a synthetic run: per compound its apex (scan and minutes), profile, spectrum and area."""

    apex_scan: np.ndarray
    apex_rt: np.ndarray
    sigma: np.ndarray
    tau: np.ndarray
    height: np.ndarray
    area: np.ndarray
    spectra: list


def make_run(
    spectra: Sequence,
    apex: Sequence[float],
    sigma: Sequence[float] | float,
    tau: Sequence[float] | float = 0.0,
    height: Sequence[float] | float = 1e5,
    *,
    n_scans: int,
    mz_range: tuple[int, int] | None = None,
    scan_interval: float = 0.01,
    rt_start: float = 0.0,
    background: float = 200.0,
    drift: float = 0.5,
    bleed: float = 0.0,
    gain: float = 4.0,
    electronic_noise: float = 40.0,
    threshold: float = 100.0,
    rng: np.random.Generator | int | None = None,
) -> tuple[Run, Truth]:
    """Build a synthetic unit-mass GC-MS run.

    Parameters
    ----------
    spectra : sequence of Spectrum
        One mass spectrum per compound (m/z rounded to unit mass; scaled to a base peak of 1).
    apex : sequence of float
        Apex scan (fractional) of each compound.
    sigma, tau : float or sequence
        Gaussian width and exponential tail (scans) of each profile.
    height : float or sequence
        Base-peak abundance at the apex of each compound.
    n_scans : int
        Length of the run.
    mz_range : (int, int), optional
        Scanned m/z range (inclusive); default: from the lowest to the highest m/z of the spectra, widened to
        at least 40-300.
    scan_interval : float, default 0.01
        Minutes per scan.
    rt_start : float, default 0.0
        Retention time of the first scan (minutes).
    background : float, default 200
        Mean constant abundance of each ion (each ion gets a random level up to twice this).
    drift : float, default 0.5
        The background grows linearly by this fraction over the run.
    bleed : float, default 0
        Column bleed: abundance added to m/z 207 and 281 (and 73, 96, 355 at a third), rising along the run.
    gain, electronic_noise : float
        Noise standard deviation ``sqrt(gain * signal + electronic_noise ** 2)``.
    threshold : float, default 100
        Abundances below this are recorded as 0 (the instrument's threshold).
    rng : Generator or int, optional

    Returns
    -------
    run : Run
    truth : Truth
    """
    rng = np.random.default_rng(rng)
    k = len(spectra)
    apex = np.asarray(apex, dtype=np.float64)
    sigma = np.broadcast_to(np.asarray(sigma, dtype=np.float64), (k,))
    tau = np.broadcast_to(np.asarray(tau, dtype=np.float64), (k,))
    height = np.broadcast_to(np.asarray(height, dtype=np.float64), (k,))
    lows = [int(np.rint(s.mz.min())) for s in spectra if s.n_peaks]
    highs = [int(np.rint(s.mz.max())) for s in spectra if s.n_peaks]
    lo, hi = mz_range or (min([40, *lows]), max([300, *highs]))
    mz = np.arange(lo, hi + 1, dtype=np.float64)
    pure = np.zeros((k, mz.size))
    for i, s in enumerate(spectra):
        cols = np.rint(s.mz).astype(np.int64) - lo
        ok = (cols >= 0) & (cols < mz.size)
        np.add.at(pure[i], cols[ok], np.asarray(s.intensity, dtype=np.float64)[ok])
        top = pure[i].max()
        if top > 0:
            pure[i] /= top
    scans = np.arange(n_scans, dtype=np.float64)
    profiles = np.vstack([elution_profile(scans, apex[i], sigma[i], tau[i]) for i in range(k)]) if k else np.zeros((0, n_scans))
    signal = (profiles * height[:, None]).T @ pure
    level = rng.uniform(0.0, 2.0 * background, mz.size)
    ramp = 1.0 + drift * scans / max(n_scans - 1, 1)
    signal += ramp[:, None] * level[None, :]
    if bleed > 0:
        for m, f in ((207, 1.0), (281, 1.0), (73, 1 / 3), (96, 1 / 3), (355, 1 / 3)):
            if lo <= m <= hi:
                signal[:, m - lo] += f * bleed * (scans / max(n_scans - 1, 1)) ** 2
    noisy = signal + rng.standard_normal(signal.shape) * np.sqrt(gain * signal + electronic_noise**2)
    noisy[noisy < threshold] = 0.0
    rt = rt_start + scans * scan_interval
    areas = height * (profiles.sum(axis=1) if k else np.zeros(0)) * pure.sum(axis=1)
    truth = Truth(apex, rt_start + apex * scan_interval, np.asarray(sigma), np.asarray(tau), np.asarray(height), areas,
                  list(spectra))
    return Run(rt, mz, noisy.astype(np.float32), source="synthetic", metadata={"ionization": "EI"}), truth
