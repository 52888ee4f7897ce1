"""Spectral deconvolution of a run into components, in the spirit of AMDIS.

The steps (all on the scans x m/z matrix, every ion trace at once where it can be):

1. **Baseline and noise.** Each ion trace loses its rolling-minimum baseline (column bleed, drift, constant
   background; :mod:`~nps_id.runs.baseline`); its noise is the robust point-to-point noise of what is left.
2. **Ion apexes.** Local maxima of every (lightly smoothed) ion trace, with sub-scan apex positions and
   half-height widths (:func:`~nps_id.runs.peaks.ion_apexes`). The typical peak width of the run is a low
   percentile of the strong apexes' widths.
3. **Component perception.** Strong ion peaks of about the run's peak width (and not within a peak width of
   either end of the run) are candidate *model ions*. They are
   taken sharpest first: an ion unique to one compound has the compound's own elution profile, while an ion two
   co-eluting compounds share has the broader sum of both. A candidate whose (unimodal, height-normalised)
   profile is explained by a non-negative combination of the profiles already accepted nearby is either one
   more ion of an accepted component (explained by that component alone: it joins the component's model and
   its profile is averaged in) or a mixture of accepted components (dropped). Otherwise, and if its apex is not
   at an accepted component's apex (``min_separation``), it starts a new component.
4. **Assignment.** In each group of overlapping components, every ion trace is fitted by non-negative least
   squares on the component profiles plus two non-negative ramps (the local background left after baseline
   subtraction): each m/z's signal goes to the components whose profile it follows. The coefficients are the
   component spectra (apex abundances); an m/z is kept where its coefficient is above ``ion_snr`` standard
   errors and ``min_relative`` of the base peak. Components with fewer than ``min_ions`` ions are dropped and the
   group refitted.
5. **Refinement** (``refine`` rounds, alternating least squares): the profiles are re-estimated from every scan
   given the spectra (non-negative, unimodal about the apex), and the spectra refitted.

The result, :class:`Deconvolution`, holds positions in scans; :mod:`nps_id.runs.components` turns it into
components with retention times, indices and spectra.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np

from nps_id.errors import ProcessingError
from nps_id.runs.baseline import estimate_noise, subtract_baseline
from nps_id.runs.peaks import IonApexes, half_height_widths, ion_apexes, parabolic_apex

__all__ = ["DeconvolutionOptions", "Deconvolution", "deconvolve", "unimodal"]

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class DeconvolutionOptions:
    """Settings of :func:`deconvolve` (defaults suit unit-mass GC-MS scans of a few scans per peak width).

    Attributes
    ----------
    min_snr : float
        Ion apexes below this height over the noise are not considered at all.
    model_snr : float
        Minimum height over the noise of an ion that may model a component's elution profile.
    fwhm : float or None
        Typical peak width at half height in scans; estimated from the run when None.
    baseline_window : int or None
        Window (scans) of the rolling-minimum baseline; ``12 * fwhm`` (at least 21) when None.
    novelty : float
        A candidate profile starts a new component when the best non-negative combination of the accepted
        profiles nearby leaves more than this fraction of it (relative residual norm) unexplained, plus twice
        what its noise alone would leave.
    min_separation : float
        A candidate ion whose apex is within this many of its peak widths (at half height) of an accepted
        component's apex is one more ion of that component, never a new one.
    min_ions : int
        Components with fewer significant ions are dropped.
    ion_snr : float
        An m/z belongs to a component's spectrum when its fitted abundance exceeds this many standard errors.
    min_relative : float
        ... and this fraction of the component's base peak.
    max_model_ions : int
        At most this many ions (the strongest) are averaged into a component's profile.
    refine : int
        Rounds of alternating least squares refinement of the profiles (0: keep the model-ion profiles).
    """

    min_snr: float = 5.0
    model_snr: float = 20.0
    fwhm: float | None = None
    baseline_window: int | None = None
    novelty: float = 0.15
    min_separation: float = 0.3
    min_ions: int = 3
    ion_snr: float = 4.0
    min_relative: float = 0.002
    max_model_ions: int = 5
    refine: int = 1

    def __post_init__(self) -> None:
        for name in ("min_snr", "model_snr", "novelty", "min_separation", "ion_snr"):
            if not getattr(self, name) > 0:
                raise ProcessingError(f"deconvolution option {name} must be > 0, got {getattr(self, name)!r}")
        if self.fwhm is not None and not self.fwhm > 0:
            raise ProcessingError(f"deconvolution option fwhm must be > 0 scans, got {self.fwhm!r}")
        if self.baseline_window is not None and self.baseline_window < 3:
            raise ProcessingError(f"baseline_window must be >= 3 scans, got {self.baseline_window!r}")
        if self.min_ions < 1 or self.max_model_ions < 1 or self.refine < 0:
            raise ProcessingError("min_ions and max_model_ions must be >= 1 and refine >= 0")


@dataclasses.dataclass(frozen=True)
class Deconvolution:
    """Components found in a scans x m/z matrix, positions in scans (ordered by apex).

    Attributes
    ----------
    position : ndarray of float, (K,)
        Apex of each component's profile (fractional scan).
    fwhm : ndarray of float, (K,)
        Width of the profile at half height (scans).
    start, stop : ndarray of int, (K,)
        Each profile is non-zero within ``start:stop``.
    profiles : list of ndarray
        Each component's elution profile over ``start:stop``, maximum 1.
    spectra : ndarray of float32, (K, n_mz)
        Apex abundance of each m/z in each component (0 where not significant).
    area : ndarray of float, (K,)
        Summed abundance of the component over its scans and ions (abundance x scans).
    model_columns : list of ndarray
        The m/z columns whose traces modelled each profile.
    noise : ndarray of float, (n_mz,)
        Noise of each ion trace.
    baseline : ndarray of float32, (n_scans, n_mz)
        The subtracted baseline.
    fwhm_run : float
        The run's typical peak width (scans).
    """

    position: np.ndarray
    fwhm: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    profiles: list[np.ndarray]
    spectra: np.ndarray
    area: np.ndarray
    model_columns: list[np.ndarray]
    noise: np.ndarray
    baseline: np.ndarray
    fwhm_run: float

    def __len__(self) -> int:
        return int(self.position.size)


def unimodal(profile: np.ndarray, apex: int) -> np.ndarray:
    """Force a profile to fall monotonically on both sides of `apex` (running minimum outwards), clipped at 0."""
    p = np.maximum(np.asarray(profile, dtype=np.float64), 0.0)
    out = p.copy()
    if apex > 0:
        out[: apex + 1] = np.minimum.accumulate(p[: apex + 1][::-1])[::-1]
    out[apex:] = np.minimum.accumulate(p[apex:])
    return out


# ---------------------------------------------------------------------------------------------- helpers
def _nnls_columns(design: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Non-negative least squares of every column of `targets` on `design`.

    All columns are solved unconstrained first (normal equations: the design has a handful of columns, so its
    Gram matrix is tiny). The columns with a negative coefficient are then solved exactly by enumerating the
    supports: the NNLS solution is the least-squares solution on its own support, so among the supports whose
    least-squares solution is non-negative, the one with the smallest residual is it. That is ``2^k`` tiny
    solves for all columns at once; a design with more than ``_MAX_ENUMERATED`` columns, or fewer columns to fix
    than supports, goes to scipy's NNLS column by column instead.
    """
    gram = design.T @ design
    rhs = design.T @ targets
    coef = np.linalg.pinv(gram) @ rhs
    bad = np.flatnonzero((coef < 0).any(axis=0))
    if bad.size == 0:
        return coef
    k = design.shape[1]
    if k > _MAX_ENUMERATED or (1 << k) > 2 * bad.size:  # few columns to fix: one by one is cheaper
        from scipy.optimize import nnls

        for j in bad:
            coef[:, j] = nnls(design, targets[:, j], maxiter=50 * k)[0]
        return coef
    b = rhs[:, bad]
    best = np.zeros((k, bad.size))
    best_gain = np.zeros(bad.size)  # residual = |y|^2 - gain; the empty support gains 0
    for mask in range(1, 1 << k):
        support = np.flatnonzero([(mask >> i) & 1 for i in range(k)])
        a = np.linalg.pinv(gram[np.ix_(support, support)]) @ b[support]
        gain = np.einsum("ij,ij->j", a, b[support])
        better = (a >= 0).all(axis=0) & (gain > best_gain)
        if better.any():
            best[:, better] = 0.0
            best[np.ix_(support, np.flatnonzero(better))] = a[:, better]
            best_gain[better] = gain[better]
    coef[:, bad] = best
    return coef


#: designs with more columns than this are solved by scipy's NNLS column by column (2^k supports otherwise)
_MAX_ENUMERATED = 9


def _typical_fwhm(apexes: IonApexes, model_snr: float) -> float:
    strong = apexes.fwhm[(apexes.snr >= model_snr) & (apexes.fwhm >= 1.0)]
    if strong.size < 5:
        strong = apexes.fwhm[apexes.fwhm >= 1.0]
    return float(np.percentile(strong, 30)) if strong.size else 3.0


def _profile(smoothed: np.ndarray, scan: int, column: int, reach: int) -> tuple[int, np.ndarray]:
    lo = max(0, scan - reach)
    hi = min(smoothed.shape[0], scan + reach + 1)
    trace = smoothed[lo:hi, column].astype(np.float64)
    top = trace[scan - lo]
    return lo, unimodal(trace / top, scan - lo) if top > 0 else np.zeros_like(trace)


@dataclasses.dataclass
class _Model:
    """One accepted component while perceiving: its profile's window and the ions modelling it."""

    position: float
    lo: int
    profile: np.ndarray
    columns: list[int]
    weights: list[float]
    parts: list[np.ndarray]

    @property
    def hi(self) -> int:
        return self.lo + self.profile.size

    def add(self, column: int, weight: float, lo: int, profile: np.ndarray) -> None:
        # the members' profiles are averaged on the union of their windows
        new_lo = min(self.lo, lo)
        new_hi = max(self.hi, lo + profile.size)
        self.columns.append(column)
        self.weights.append(weight)
        self.parts.append(_place(profile, lo, new_lo, new_hi))
        self.parts = [p if p.size == new_hi - new_lo else _place(p, self.lo, new_lo, new_hi) for p in self.parts]
        self.lo = new_lo
        w = np.asarray(self.weights)
        avg = np.average(np.vstack(self.parts), axis=0, weights=w)
        self.profile = unimodal(avg / avg.max(), int(np.argmax(avg)))


def _place(profile: np.ndarray, lo: int, new_lo: int, new_hi: int) -> np.ndarray:
    out = np.zeros(new_hi - new_lo)
    out[lo - new_lo : lo - new_lo + profile.size] = profile
    return out


def _explain(target: np.ndarray, lo: int, models: list[_Model]) -> tuple[float, np.ndarray]:
    """Relative residual of the best non-negative combination of `models` for `target` (window from `lo`), and
    the combination's coefficients."""
    from scipy.optimize import nnls

    hi = lo + target.size
    design = np.zeros((target.size, len(models)))
    for k, m in enumerate(models):
        a, b = max(lo, m.lo), min(hi, m.hi)
        if b > a:
            design[a - lo : b - lo, k] = m.profile[a - m.lo : b - m.lo]
    coef, resid = nnls(design, target, maxiter=50 * len(models))
    return resid / max(np.linalg.norm(target), 1e-12), coef


# ---------------------------------------------------------------------------------------------- perception
def _perceive(smoothed: np.ndarray, apexes: IonApexes, fwhm: float, sigma: float, opts: DeconvolutionOptions) -> list[_Model]:
    """Greedy selection of model profiles, sharpest candidate ions first (see the module docstring, step 3)."""
    n = smoothed.shape[0]
    ok = (apexes.snr >= opts.model_snr) & (apexes.fwhm >= 0.5 * fwhm) & (apexes.fwhm <= 3.0 * fwhm)
    # an apex within a peak width of either end of the run has no profile to model (a cut peak, an edge effect)
    ok &= (apexes.position >= fwhm) & (apexes.position <= n - 1 - fwhm)
    cand = apexes.subset(ok)
    # noise of a height-normalised profile point; the smoothing lowers it by about sqrt(2 sqrt(pi) sigma)
    noise_rel = 1.0 / cand.snr / np.sqrt(2.0 * np.sqrt(np.pi) * sigma)
    order = np.lexsort((-cand.snr, np.round(cand.fwhm / max(fwhm, 1e-9), 2)))
    models: list[_Model] = []
    positions = np.empty(0)
    for i in order:
        scan, col, pos = int(cand.scan[i]), int(cand.column[i]), float(cand.position[i])
        reach = int(np.ceil(2.5 * cand.fwhm[i])) + 2
        lo, prof = _profile(smoothed, scan, col, reach)
        near = [models[k] for k in np.flatnonzero(np.abs(positions - pos) <= 2 * reach + 2)]
        if not near:
            models.append(_Model(pos, lo, prof, [col], [float(cand.height[i])], [prof]))
            positions = np.append(positions, pos)
            continue
        expected = 2.0 * noise_rel[i] * np.sqrt(prof.size) / max(np.linalg.norm(prof), 1e-12)
        dist = np.abs(np.array([md.position for md in near]) - pos)
        host = near[int(np.argmin(dist))]
        if dist.min() < opts.min_separation * cand.fwhm[i]:
            # at an accepted component's apex: one more of its ions (joins its model if it has its profile)
            if len(host.columns) < opts.max_model_ions and _explain(prof, lo, [host])[0] <= opts.novelty + expected:
                host.add(col, float(cand.height[i]), lo, prof)
            continue
        if _explain(prof, lo, near)[0] > opts.novelty + expected:
            models.append(_Model(pos, lo, prof, [col], [float(cand.height[i])], [prof]))
            positions = np.append(positions, pos)
    return models


# ---------------------------------------------------------------------------------------------- assignment
def _groups(lo: np.ndarray, hi: np.ndarray) -> list[np.ndarray]:
    order = np.argsort(lo, kind="stable")
    groups: list[list[int]] = []
    end = -1
    for k in order:
        if groups and lo[k] < end:
            groups[-1].append(int(k))
            end = max(end, int(hi[k]))
        else:
            groups.append([int(k)])
            end = int(hi[k])
    return [np.asarray(g) for g in groups]


def _design(profiles: list[np.ndarray], los: np.ndarray, lo: int, hi: int) -> np.ndarray:
    n = hi - lo
    design = np.zeros((n, len(profiles) + 2))
    for k, (p, a) in enumerate(zip(profiles, los)):
        design[a - lo : a - lo + p.size, k] = p
    ramp = np.linspace(0.0, 1.0, n)
    design[:, -2] = ramp
    design[:, -1] = 1.0 - ramp
    return design


def _fit_group(y: np.ndarray, design: np.ndarray, noise: np.ndarray, opts: DeconvolutionOptions) -> tuple[np.ndarray, np.ndarray]:
    """NNLS of one group's ion traces: all coefficients ((K + 2) x n_mz, the last two rows the background ramps)
    and the mask (K x n_mz) of the component coefficients that are significant."""
    k = design.shape[1] - 2
    coef = _nnls_columns(design, y)
    var = np.diag(np.linalg.pinv(design.T @ design))[:k]
    stderr = np.sqrt(np.maximum(var, 0.0))[:, None] * noise[None, :]
    comp = coef[:k]
    top = comp.max(axis=1, keepdims=True)
    keep = (comp > opts.ion_snr * stderr) & (comp >= opts.min_relative * top) & (comp > 0)
    return coef, keep


def _assign(y: np.ndarray, profiles: list[np.ndarray], los: np.ndarray, alive: np.ndarray, noise: np.ndarray,
            opts: DeconvolutionOptions) -> tuple[np.ndarray, list[tuple[np.ndarray, int, int, np.ndarray]]]:
    """Fit every group of overlapping live components; return the spectra (0 for dead components and
    insignificant ions) and, per group, ``(members, lo, hi, all coefficients)``."""
    spectra = np.zeros((len(profiles), y.shape[1]))
    fits = []
    idx = np.flatnonzero(alive)
    his = los + np.array([p.size for p in profiles])
    for group in _groups(los[idx], his[idx]):
        g = idx[group]
        lo, hi = int(los[g].min()), int(his[g].max())
        design = _design([profiles[k] for k in g], los[g], lo, hi)
        coef, keep = _fit_group(y[lo:hi].astype(np.float64), design, noise, opts)
        spectra[g] = np.where(keep, coef[: g.size], 0.0)
        fits.append((g, lo, hi, coef))
    return spectra, fits


def _refine_profiles(y: np.ndarray, coef: np.ndarray, lo: int, los: np.ndarray, profiles: list[np.ndarray],
                     positions: np.ndarray) -> list[np.ndarray]:
    """One alternating-least-squares step for one group: each scan's component abundances given the spectra
    (after removing the fitted background ramps), then unimodal profiles about each apex, maximum 1."""
    k = coef.shape[0] - 2
    n = y.shape[0]
    ramp = np.linspace(0.0, 1.0, n)
    background = np.outer(ramp, coef[k]) + np.outer(1.0 - ramp, coef[k + 1])
    spectra = coef[:k]
    usable = spectra.max(axis=0) > 0
    conc = _nnls_columns(spectra[:, usable].T, (y - background)[:, usable].T)  # (k, n)
    out = []
    for j in range(k):
        a, p = int(los[j]), profiles[j]
        c = conc[j, a - lo : a - lo + p.size]
        apex = int(np.clip(round(positions[j]) - a, 0, p.size - 1))
        prof = unimodal(c, apex)
        top = prof.max()
        out.append(prof / top if top > 0 else p)
    return out


def deconvolve(intensity: np.ndarray, options: DeconvolutionOptions | None = None) -> Deconvolution:
    """Find the components of a scans x m/z matrix (see the module docstring).

    Parameters
    ----------
    intensity : ndarray, shape (n_scans, n_mz)
        The run's abundances (raw: the baseline is subtracted here).
    options : DeconvolutionOptions, optional

    Returns
    -------
    Deconvolution
    """
    from scipy.ndimage import gaussian_filter1d

    opts = options or DeconvolutionOptions()
    x = np.asarray(intensity, dtype=np.float32)
    if x.ndim != 2:
        raise ProcessingError(f"deconvolve: expected a scans x m/z matrix, got shape {x.shape}")
    n, m = x.shape
    if n < 5 or m == 0:
        return _empty(m, n)
    fwhm = opts.fwhm if opts.fwhm is not None else _estimate_fwhm(x, opts)
    fwhm = float(max(fwhm, 1.0))
    window = opts.baseline_window or max(21, int(round(12 * fwhm)) | 1)
    y, base = subtract_baseline(x, min(n, window))
    noise = np.atleast_1d(np.asarray(estimate_noise(y), dtype=np.float64))
    sigma = max(0.5, fwhm / 6.0)
    smoothed = gaussian_filter1d(y, sigma, axis=0)
    apexes = ion_apexes(smoothed, noise, opts.min_snr, max(1, int(round(fwhm / 3))), int(np.ceil(3 * fwhm)) + 2)
    models = _perceive(smoothed, apexes, fwhm, sigma, opts)
    logger.debug("deconvolve: %d apexes, %d model profiles, fwhm %.2f scans", len(apexes), len(models), fwhm)
    if not models:
        return _empty(m, n, noise, base, fwhm)
    profiles = [md.profile for md in models]
    los = np.array([md.lo for md in models])
    positions = np.array([md.position for md in models])
    columns = [np.asarray(md.columns) for md in models]
    alive = np.ones(len(models), dtype=bool)
    for _ in range(5):  # drop components with too few ions, refit their neighbours
        spectra, fits = _assign(y, profiles, los, alive, noise, opts)
        weak = alive & ((spectra > 0).sum(axis=1) < opts.min_ions)
        if not weak.any():
            break
        alive &= ~weak
    for _ in range(opts.refine):
        for g, lo, hi, coef in fits:
            new = _refine_profiles(y[lo:hi].astype(np.float64), coef, lo, los[g], [profiles[k] for k in g], positions[g])
            for k, p in zip(g, new):
                profiles[k] = p
        spectra, fits = _assign(y, profiles, los, alive, noise, opts)
    idx = np.flatnonzero(alive & ((spectra > 0).sum(axis=1) >= opts.min_ions))
    return _result(idx, profiles, los, spectra, columns, noise, base, fwhm)


def _estimate_fwhm(x: np.ndarray, opts: DeconvolutionOptions) -> float:
    """The run's typical peak width from a first baseline and apex pass."""
    from scipy.ndimage import gaussian_filter1d

    y0, _ = subtract_baseline(x, min(x.shape[0], 101))
    s0 = gaussian_filter1d(y0, 1.0, axis=0)
    apexes = ion_apexes(s0, np.atleast_1d(np.asarray(estimate_noise(y0))), opts.model_snr, 2, 30)
    return _typical_fwhm(apexes, opts.model_snr)


def _result(idx, profiles, los, spectra, columns, noise, base, fwhm) -> Deconvolution:
    pos = np.empty(idx.size)
    width = np.empty(idx.size)
    for j, k in enumerate(idx):
        p = profiles[k]
        apex = np.array([int(np.argmax(p))])
        pos[j] = los[k] + parabolic_apex(p, apex)[0]
        width[j] = half_height_widths(p, apex, reach=p.size)[0][0]
    order = np.argsort(pos, kind="stable")
    idx, pos, width = idx[order], pos[order], width[order]
    prof = [profiles[k] for k in idx]
    spec = spectra[idx].astype(np.float32)
    area = spec.sum(axis=1, dtype=np.float64) * np.array([p.sum() for p in prof])
    start = los[idx].astype(np.int64)
    stop = start + np.array([p.size for p in prof], dtype=np.int64)
    return Deconvolution(pos, width, start, stop, prof, spec, area, [columns[k] for k in idx], noise, base, fwhm)


def _empty(m: int, n: int, noise=None, base=None, fwhm: float = float("nan")) -> Deconvolution:
    e = np.empty(0)
    return Deconvolution(
        e, e, e.astype(np.int64), e.astype(np.int64), [], np.zeros((0, m), np.float32), e, [],
        np.ones(m) if noise is None else noise, np.zeros((n, m), np.float32) if base is None else base, fwhm,
    )
