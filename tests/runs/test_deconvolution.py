"""Deconvolution on synthetic runs with a known truth: co-eluting compounds separated, shared ions split,
background and noise left out; options validated."""

from __future__ import annotations

import numpy as np
import pytest

from nps_id.errors import ProcessingError
from nps_id.runs import DeconvolutionOptions, find_components
from nps_id.runs.deconvolution import deconvolve, unimodal
from nps_id.runs.synthetic import make_run, profile_fwhm, spacing_for_resolution
from nps_id.spectra import Spectrum


def _spectrum(rng: np.random.Generator, ions: list[int]) -> Spectrum:
    inten = rng.uniform(50, 999, len(ions))
    inten[int(rng.integers(len(ions)))] = 999.0
    return Spectrum(np.array(sorted(ions), dtype=float), inten)


def _cosine(a: Spectrum, b: Spectrum) -> float:
    u = np.zeros(1000)
    v = np.zeros(1000)
    u[np.rint(a.mz).astype(int)] = a.intensity
    v[np.rint(b.mz).astype(int)] = b.intensity
    return float(u @ v / np.linalg.norm(u) / np.linalg.norm(v))


def _compounds(rng, n: int) -> list[Spectrum]:
    shared = [77, 91]  # ions every compound has
    out = []
    for _ in range(n):
        own = rng.choice(np.arange(100, 280), 10, replace=False).tolist()
        out.append(_spectrum(rng, shared + own))
    return out


@pytest.mark.parametrize("resolution", [0.5, 0.8, 1.2])
def test_two_coeluting_compounds(rng, resolution) -> None:
    spectra = _compounds(rng, 2)
    fwhm = profile_fwhm(2.5)
    apex = [80.0, 80.0 + spacing_for_resolution(resolution, fwhm, fwhm)]
    run, truth = make_run(spectra, apex, 2.5, 0.0, [1e5, 6e4], n_scans=200, mz_range=(40, 300), rng=rng)
    table = find_components(run)
    assert len(table) == 2
    for comp, true_rt, true_spec in zip(table, truth.apex_rt, spectra):
        assert comp.rt == pytest.approx(true_rt, abs=0.6 * run.scan_interval)
        assert _cosine(comp.spectrum, true_spec) > 0.98
    shares = [c.area_share for c in table]
    np.testing.assert_allclose(shares, truth.area / truth.area.sum(), atol=0.05)


def test_three_with_tailing(rng) -> None:
    spectra = _compounds(rng, 3)
    sigma, tau = 2.5, 2.0
    fwhm = profile_fwhm(sigma, tau)
    step = spacing_for_resolution(0.8, fwhm, fwhm)
    run, truth = make_run(spectra, [70, 70 + step, 70 + 2 * step], sigma, tau, [8e4, 1e5, 5e4], n_scans=220,
                          mz_range=(40, 300), bleed=5000.0, rng=rng)
    table = find_components(run)
    assert len(table) == 3
    for comp, true_spec in zip(table, spectra):
        assert _cosine(comp.spectrum, true_spec) > 0.97
        assert 207 not in comp.spectrum.mz  # column bleed is background, not a component ion


def test_shared_ion_split(rng) -> None:
    a = Spectrum([91.0, 150.0, 151.0], [999.0, 500.0, 100.0])
    b = Spectrum([91.0, 200.0, 201.0], [400.0, 999.0, 200.0])
    fwhm = profile_fwhm(2.5)
    run, _ = make_run([a, b], [80.0, 80.0 + spacing_for_resolution(0.7, fwhm, fwhm)], 2.5, 0.0, [1e5, 1e5],
                      n_scans=200, mz_range=(40, 300), rng=rng)
    table = find_components(run)
    assert len(table) == 2
    for comp, true in zip(table, (a, b)):
        rel = dict(zip(comp.spectrum.mz.tolist(), (comp.spectrum.intensity / comp.spectrum.intensity.max()).tolist()))
        ref = dict(zip(true.mz.tolist(), (true.intensity / true.intensity.max()).tolist()))
        assert rel[91.0] == pytest.approx(ref[91.0], abs=0.06)


def test_single_and_empty(rng) -> None:
    spec = _compounds(rng, 1)
    run, _ = make_run(spec, [100.0], 2.5, 1.0, 5e4, n_scans=200, mz_range=(40, 300), rng=rng)
    assert len(find_components(run)) == 1
    noise_only, _ = make_run([], [], 2.5, n_scans=200, mz_range=(40, 300), rng=rng)
    assert len(find_components(noise_only)) == 0
    assert len(deconvolve(np.zeros((3, 5)))) == 0


def test_unimodal() -> None:
    p = np.array([0.0, 0.3, 0.2, 0.6, 1.0, 0.5, 0.7, 0.1, -0.1])
    np.testing.assert_allclose(unimodal(p, 4), [0.0, 0.2, 0.2, 0.6, 1.0, 0.5, 0.5, 0.1, 0.0])


def test_options() -> None:
    with pytest.raises(ProcessingError, match="novelty"):
        DeconvolutionOptions(novelty=0)
    with pytest.raises(ProcessingError, match="fwhm"):
        DeconvolutionOptions(fwhm=-1)
    with pytest.raises(ProcessingError, match="baseline_window"):
        DeconvolutionOptions(baseline_window=1)
    with pytest.raises(ProcessingError):
        deconvolve(np.zeros(10))
    run, _ = make_run([], [], 2.5, n_scans=20, rng=0)
    with pytest.raises(TypeError, match="unknown deconvolution option"):
        find_components(run, snr=3)


@pytest.mark.realdata
def test_real_library_spectra_coeluting(swgdrug_spectra) -> None:
    """Pairs of real EI spectra at resolution 0.6: the extracted spectra match their library spectra (MF >= 800)."""
    from nps_id.spectra.search import nist_match_factor

    rng = np.random.default_rng(7)
    pool = [s for s in swgdrug_spectra if s.n_peaks >= 10]
    fwhm = profile_fwhm(2.5)
    good = total = 0
    for _ in range(8):
        pair = [pool[i] for i in rng.choice(len(pool), 2, replace=False)]
        if _cosine(*pair) > 0.9:
            continue
        run, truth = make_run(pair, [80.0, 80.0 + spacing_for_resolution(0.6, fwhm, fwhm)], 2.5, 0.0, [2e5, 1e5],
                              n_scans=200, rng=rng)
        table = find_components(run)
        for true_rt, spec in zip(truth.apex_rt, pair):
            total += 1
            near = [c for c in table if abs(c.rt - true_rt) < 3 * run.scan_interval]
            good += any(999 * nist_match_factor(c.spectrum, spec) >= 800 for c in near)
    assert total >= 10 and good / total >= 0.85


@pytest.mark.parametrize("k", [1, 3, 6, 10])
def test_nnls_columns_matches_scipy(rng, k) -> None:
    from scipy.optimize import nnls

    from nps_id.runs.deconvolution import _nnls_columns

    design = np.abs(rng.normal(size=(30, k)))
    coef = np.abs(rng.normal(size=(k, 200))) * rng.integers(0, 2, (k, 200))
    targets = design @ coef + rng.normal(0, 0.5, (30, 200))
    got = _nnls_columns(design, targets)
    want = np.column_stack([nnls(design, targets[:, j])[0] for j in range(200)])
    assert (got >= 0).all()
    np.testing.assert_allclose(got, want, atol=1e-9)
