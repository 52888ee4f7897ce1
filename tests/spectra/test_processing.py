"""Tests of nps_id.spectra.processing: the steps, pipelines, their text form, presets and real data."""

from __future__ import annotations

import itertools
import logging
import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nps_id.errors import NpsIdError
from nps_id.spectra import Spectrum
from nps_id.spectra import processing as P
from nps_id.spectra.processing import (
    PRESETS,
    STEPS,
    Pipeline,
    PipelineFormatError,
    ProcessingError,
)


def ms(mz, intensity, **kw) -> Spectrum:
    return Spectrum(mz, intensity, kind="ms", **kw)


def vib(x, y, kind="raman", **kw) -> Spectrum:
    return Spectrum(x, y, kind=kind, **kw)


def gauss(x, centre, sigma, height):
    return height * np.exp(-0.5 * ((x - centre) / sigma) ** 2)


# -------------------------------------------------------------------------------------------------
# every step: input untouched, fields kept

MS_SPECTRUM = ms(
    [41.0, 57.0, 57.004, 91.0, 119.99, 120.0, 150.0],
    [120.0, 999.0, 10.0, 45.0, 3.0, 400.0, 7.0],
    precursor_mz=120.0,
    metadata={"name": "demo", "smiles": "CCO"},
)
_x = np.arange(200.0, 1000.0, 2.0)
RAMAN_SPECTRUM = vib(_x, gauss(_x, 600, 8, 500) + 0.05 * _x + 20, metadata={"name": "band"})

#: one valid parameter set per step, and the spectrum to try it on
EXAMPLES = {
    "mz_range": ({"min_mz": 50.0, "max_mz": 130.0}, MS_SPECTRUM),
    "min_relative_intensity": ({"threshold": 0.01}, MS_SPECTRUM),
    "top_n": ({"n": 3}, MS_SPECTRUM),
    "normalize": ({"method": "sum", "scale": 100.0}, MS_SPECTRUM),
    "intensity_power": ({"power": 0.5}, MS_SPECTRUM),
    "mz_weighting": ({"mz_power": 3.0}, MS_SPECTRUM),
    "require_precursor": ({}, MS_SPECTRUM),
    "remove_precursor": ({"tolerance": 0.02}, MS_SPECTRUM),
    "merge_peaks": ({"tolerance": 0.01}, MS_SPECTRUM),
    "min_peaks": ({"n": 2}, MS_SPECTRUM),
    "crop": ({"start": 300.0, "stop": 900.0}, RAMAN_SPECTRUM),
    "als_baseline": ({"lam": 1e5, "p": 0.01, "n_iter": 5}, RAMAN_SPECTRUM),
    "savgol": ({"window": 7, "polyorder": 2, "deriv": 1}, RAMAN_SPECTRUM),
    "snv": ({}, RAMAN_SPECTRUM),
    "vector_normalize": ({}, RAMAN_SPECTRUM),
    "resample": ({"start": 250.0, "stop": 950.0, "step": 3.0}, RAMAN_SPECTRUM),
    "despike": ({"threshold": 6.0}, RAMAN_SPECTRUM),
}


def test_every_registered_step_has_an_example():
    assert set(EXAMPLES) == set(STEPS)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_step_keeps_fields_and_never_changes_its_input(name):
    params, spectrum = EXAMPLES[name]
    x_before, y_before = spectrum.x.copy(), spectrum.intensity.copy()
    meta_before = dict(spectrum.metadata)
    func = getattr(P, name)
    out = func(spectrum, **params)
    assert out is not None and out is not spectrum
    np.testing.assert_array_equal(spectrum.x, x_before)
    np.testing.assert_array_equal(spectrum.intensity, y_before)
    assert spectrum.metadata == meta_before
    assert out.metadata == meta_before and out.metadata is not spectrum.metadata
    assert out.kind == spectrum.kind and out.precursor_mz == spectrum.precursor_mz
    assert out.x.dtype == np.float64 and out.intensity.dtype == np.float32
    assert not out.x.flags.writeable and not out.intensity.flags.writeable
    assert np.all(np.diff(out.x) >= 0)
    # the same step through a pipeline gives the same result
    assert Pipeline([(name, params)])(spectrum) == out


# -------------------------------------------------------------------------------------------------
# mass-spectrum steps


def test_mz_range_is_inclusive_and_drops_empty():
    s = ms([40.0, 50.0, 60.0, 70.0], [1, 2, 3, 4])
    out = P.mz_range(s, min_mz=50.0, max_mz=60.0)
    assert out.mz.tolist() == [50.0, 60.0]
    assert out.intensity.tolist() == [2.0, 3.0]
    assert P.mz_range(s, min_mz=61.0, max_mz=69.0) is None
    assert P.mz_range(s).mz.tolist() == s.mz.tolist()  # defaults: everything


def test_min_relative_intensity_keeps_peaks_at_or_above_threshold():
    s = ms([10.0, 20.0, 30.0, 40.0], [200.0, 9.9, 10.0, 150.0])
    out = P.min_relative_intensity(s, threshold=0.05)  # 5% of 200 = 10
    assert out.mz.tolist() == [10.0, 30.0, 40.0]
    assert P.min_relative_intensity(s, threshold=0.0).n_peaks == 4
    assert P.min_relative_intensity(s, threshold=1.0).mz.tolist() == [10.0]
    assert P.min_relative_intensity(ms([10.0, 20.0], [0.0, 0.0]), threshold=0.1) is None
    assert P.min_relative_intensity(ms([], []), threshold=0.1) is None


def test_top_n_keeps_most_intense_in_mz_order_and_breaks_ties_by_lower_mz():
    s = ms([10.0, 20.0, 30.0, 40.0, 50.0], [5.0, 50.0, 7.0, 50.0, 50.0])
    assert P.top_n(s, n=2).mz.tolist() == [20.0, 40.0]
    assert P.top_n(s, n=4).mz.tolist() == [20.0, 30.0, 40.0, 50.0]
    assert P.top_n(s, n=10) == s
    rng = np.random.default_rng(0)
    inten = rng.choice([1.0, 2.0, 7.0], size=200)
    inten[150] = 9.0
    ties = ms(np.arange(200.0), inten)
    sevens = np.flatnonzero(inten == 7.0)
    assert P.top_n(ties, n=6).mz.tolist() == sorted([150.0, *sevens[:5].astype(float)])
    assert P.top_n(s, n=2.0).n_peaks == 2  # a whole float is accepted as int
    assert P.top_n(ms([], []), n=3) is None


@pytest.mark.parametrize(
    "method, measure",
    [
        ("max", lambda y: np.abs(y).max()),
        ("sum", lambda y: np.abs(y).sum()),
        ("l2", lambda y: np.sqrt(np.sum(y.astype(np.float64) ** 2))),
    ],
)
@pytest.mark.parametrize("scale", [1.0, 999.0])
def test_normalize_sets_the_measure_to_scale_and_keeps_ratios(method, measure, scale):
    s = ms([10.0, 20.0, 30.0], [3.0, 12.0, 6.0])
    out = P.normalize(s, method=method, scale=scale)
    assert measure(out.intensity) == pytest.approx(scale, rel=1e-6)
    np.testing.assert_allclose(out.intensity / out.intensity[1], s.intensity / s.intensity[1], rtol=1e-6)


def test_normalize_max_is_exact_and_uses_absolute_values_for_vibrational_spectra():
    out = P.normalize(ms([1.0, 2.0, 3.0], [0.3, 0.7, 0.1]), method="max", scale=1000.0)
    assert out.intensity.max() == np.float32(1000.0)
    v = P.normalize(vib([1.0, 2.0, 3.0], [-4.0, 2.0, 1.0]), method="max")
    assert v.intensity.tolist() == [-1.0, 0.5, 0.25]


def test_normalize_drops_spectra_without_signal():
    assert P.normalize(ms([10.0, 20.0], [0.0, 0.0])) is None
    assert P.normalize(ms([], [])) is None


def test_nist_weighting_formula():
    mz = np.array([2.0, 50.0, 91.0, 300.0])
    inten = np.array([4.0, 999.0, 10.0, 0.0])
    s = ms(mz, inten)
    out = P.mz_weighting(P.intensity_power(s, power=0.6), mz_power=3.0)
    np.testing.assert_allclose(out.intensity, inten**0.6 * mz**3, rtol=1e-6)
    # a hand-computed case: sqrt(4) * 2**3 = 16
    assert P.mz_weighting(P.intensity_power(ms([2.0], [4.0]), power=0.5), mz_power=3.0).intensity[0] == 16.0
    # exponents that change nothing
    assert P.intensity_power(s, power=1.0) == s
    assert P.mz_weighting(s, mz_power=0.0) == s


def test_mz_weighting_errors_name_the_fix():
    with pytest.raises(ProcessingError, match=r"mz_weighting.*m/z <= 0.*mz_range"):
        P.mz_weighting(ms([0.0, 5.0], [1.0, 1.0]), mz_power=1.0)
    with pytest.raises(ProcessingError, match=r"float32"):
        P.mz_weighting(ms([1e6], [1.0]), mz_power=10.0)


def test_remove_precursor_da():
    s = ms([100.0, 199.995, 200.004, 200.02, 250.0], [1, 2, 3, 4, 5], precursor_mz=200.0)
    out = P.remove_precursor(s, tolerance=0.01, unit="Da")
    assert out.mz.tolist() == [100.0, 200.02, 250.0]
    assert out.precursor_mz == 200.0
    above = P.remove_precursor(s, tolerance=0.01, unit="Da", remove_above=True)
    assert above.mz.tolist() == [100.0]
    assert P.remove_precursor(s, tolerance=0.0) == s  # no peak exactly at 200.0
    only = ms([200.0], [1.0], precursor_mz=200.0)
    assert P.remove_precursor(only, tolerance=0.01) is None


def test_remove_precursor_ppm():
    # 10 ppm of 500 = 0.005 Da: 499.996 (8 ppm) goes, 500.006 (12 ppm) stays
    s = ms([300.0, 499.996, 500.006], [1, 2, 3], precursor_mz=500.0)
    assert P.remove_precursor(s, tolerance=10.0, unit="ppm").mz.tolist() == [300.0, 500.006]
    assert P.remove_precursor(s, tolerance=13.0, unit="ppm").mz.tolist() == [300.0]


def test_remove_precursor_without_precursor_says_what_to_do():
    with pytest.raises(ProcessingError, match="require_precursor"):
        P.remove_precursor(ms([10.0], [1.0]), tolerance=0.01)


def test_require_precursor():
    assert P.require_precursor(ms([10.0], [1.0])) is None
    s = ms([10.0], [1.0], precursor_mz=150.0)
    assert P.require_precursor(s) == s


def test_merge_peaks_sum_uses_weighted_mz_and_summed_intensity():
    s = ms([100.0, 100.004, 100.5, 200.0], [1.0, 3.0, 2.0, 5.0])
    out = P.merge_peaks(s, tolerance=0.01, unit="Da", how="sum")
    np.testing.assert_allclose(out.mz, [(100.0 * 1 + 100.004 * 3) / 4, 100.5, 200.0], rtol=0, atol=1e-9)
    assert out.intensity.tolist() == [4.0, 2.0, 5.0]


def test_merge_peaks_max_keeps_the_most_intense_peak_of_each_group():
    s = ms([100.0, 100.004, 100.008, 100.5], [1.0, 3.0, 3.0, 2.0])
    out = P.merge_peaks(s, tolerance=0.01, how="max")
    assert out.mz.tolist() == [100.004, 100.5]  # equal maxima: the lower m/z
    assert out.intensity.tolist() == [3.0, 2.0]


def test_merge_peaks_single_linkage_ppm_and_zero_intensity():
    chain = ms([100.0, 100.008, 100.016, 100.03], [1.0, 1.0, 1.0, 1.0])
    assert P.merge_peaks(chain, tolerance=0.01).n_peaks == 2  # 100.0-100.016 chain into one group
    # 50 ppm of 100 = 0.005 Da
    s = ms([100.0, 100.004, 100.014], [1.0, 1.0, 1.0])
    assert P.merge_peaks(s, tolerance=50.0, unit="ppm").n_peaks == 2
    z = P.merge_peaks(ms([100.0, 100.002, 101.0], [0.0, 0.0, 1.0]), tolerance=0.01)
    np.testing.assert_allclose(z.mz, [100.001, 101.0])
    assert z.intensity.tolist() == [0.0, 1.0]


@settings(max_examples=60, deadline=None)
@given(
    mz=st.lists(st.floats(50, 60, allow_nan=False), min_size=1, max_size=40),
    seed=st.integers(0, 2**16),
    tol=st.floats(0, 0.5),
)
def test_merge_peaks_sum_conserves_intensity_and_separates_groups(mz, seed, tol):
    rng = np.random.default_rng(seed)
    inten = rng.uniform(0, 100, len(mz))
    s = ms(mz, inten, sort=True)
    out = P.merge_peaks(s, tolerance=tol, how="sum")
    assert float(out.intensity.astype(np.float64).sum()) == pytest.approx(float(s.intensity.sum(dtype=np.float64)), rel=1e-5)
    assert np.all(np.diff(out.mz) >= 0)
    if out.n_peaks > 1:
        assert np.diff(out.mz).min() > tol  # groups are farther apart than the tolerance
    assert out.n_peaks <= s.n_peaks


def test_min_peaks():
    s = ms([10.0, 20.0], [1.0, 1.0])
    assert P.min_peaks(s, n=3) is None
    assert P.min_peaks(s, n=2) == s


def test_crop_applies_to_ms_and_vibrational():
    assert P.crop(ms([10.0, 20.0, 30.0], [1, 1, 1]), start=15.0).mz.tolist() == [20.0, 30.0]
    v = P.crop(RAMAN_SPECTRUM, start=401.0, stop=405.0)
    assert v.x.tolist() == [402.0, 404.0]
    assert P.crop(RAMAN_SPECTRUM, start=5000.0, stop=6000.0) is None


# -------------------------------------------------------------------------------------------------
# vibrational steps


@pytest.mark.parametrize(
    "baseline",
    [
        lambda x: 0.2 * x + 50.0,
        lambda x: 3e-4 * (x - 900.0) ** 2 + 100.0,
        lambda x: 80.0 * np.sin(x / 400.0) + 200.0,
    ],
    ids=["linear", "quadratic", "sine"],
)
def test_als_removes_a_known_baseline(baseline):
    x = np.arange(200.0, 1800.0, 2.0)
    bands = gauss(x, 1000.0, 8.0, 1000.0) + gauss(x, 1400.0, 12.0, 400.0) + gauss(x, 600.0, 6.0, 250.0)
    s = vib(x, bands + baseline(x))
    out = P.als_baseline(s, lam=1e5, p=0.01, n_iter=10)
    assert np.abs(out.intensity - bands).max() < 0.02 * bands.max()
    # the band heights survive
    assert out.intensity[np.argmin(np.abs(x - 1000.0))] == pytest.approx(1000.0, rel=0.02)


def test_als_too_short_is_dropped():
    assert P.als_baseline(vib([1.0, 2.0], [1.0, 2.0])) is None


def test_savgol_reproduces_a_polynomial_and_its_derivatives():
    x = np.arange(100.0, 200.0, 0.5)
    t = x - 150.0
    y = 2.0 + 0.5 * t - 0.03 * t**2
    s = vib(x, y, kind="ir")
    smooth = P.savgol(s, window=11, polyorder=2, deriv=0)
    np.testing.assert_allclose(smooth.intensity, y, atol=1e-3)
    d1 = P.savgol(s, window=11, polyorder=2, deriv=1)
    np.testing.assert_allclose(d1.intensity, 0.5 - 0.06 * t, atol=1e-3)  # per cm-1
    d2 = P.savgol(s, window=11, polyorder=2, deriv=2)
    np.testing.assert_allclose(d2.intensity, -0.06, atol=1e-4)


def test_savgol_smooths_noise():
    rng = np.random.default_rng(3)
    x = np.arange(0.0, 1000.0, 1.0)
    clean = gauss(x, 500.0, 20.0, 100.0)
    s = vib(x, clean + rng.normal(0, 2.0, x.size))
    out = P.savgol(s, window=15, polyorder=3)
    assert np.std(out.intensity - clean) < 0.6 * np.std(s.intensity - clean)


def test_savgol_needs_even_spacing_and_enough_points():
    uneven = vib([1.0, 2.0, 3.0, 5.0, 6.0, 7.0, 8.0], np.ones(7))
    with pytest.raises(ProcessingError, match=r"savgol.*resample"):
        P.savgol(uneven, window=5, polyorder=2)
    assert P.savgol(vib([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]), window=5, polyorder=2) is None


def test_snv_and_vector_normalize():
    y = RAMAN_SPECTRUM.intensity.astype(np.float64)
    out = P.snv(RAMAN_SPECTRUM).intensity.astype(np.float64)
    assert out.mean() == pytest.approx(0.0, abs=1e-6)
    assert out.std() == pytest.approx(1.0, rel=1e-5)
    vn = P.vector_normalize(RAMAN_SPECTRUM).intensity.astype(np.float64)
    assert vn.mean() == pytest.approx(0.0, abs=1e-7)
    assert np.sum(vn**2) == pytest.approx(1.0, rel=1e-5)
    # both remove offset and (positive) scale
    shifted = vib(RAMAN_SPECTRUM.x, 3.5 * y + 40.0)
    np.testing.assert_allclose(P.snv(shifted).intensity, out, atol=1e-5)
    np.testing.assert_allclose(P.vector_normalize(shifted).intensity, vn, atol=1e-6)
    flat = vib([1.0, 2.0, 3.0], [5.0, 5.0, 5.0])
    assert P.snv(flat) is None and P.vector_normalize(flat) is None


def test_resample_is_exact_on_a_line():
    rng = np.random.default_rng(7)
    x = np.sort(rng.uniform(100.0, 500.0, 300))
    x = np.concatenate([[100.0], x, [500.0]])
    s = vib(x, 3.0 + 0.25 * x, kind="ir")
    out = P.resample(s, start=120.0, stop=480.0, step=1.5)
    grid = 120.0 + 1.5 * np.arange(241)
    np.testing.assert_array_equal(out.x, grid)
    np.testing.assert_allclose(out.intensity, 3.0 + 0.25 * grid, rtol=1e-6)


def test_resample_outside_the_measured_range():
    s = vib([10.0, 20.0], [1.0, 3.0])
    trim = P.resample(s, start=0.0, stop=30.0, step=4.0)
    assert trim.x.tolist() == [12.0, 16.0, 20.0]  # still on the grid 0, 4, 8, ...
    np.testing.assert_allclose(trim.intensity, [1.4, 2.2, 3.0], rtol=1e-6)
    zero = P.resample(s, start=0.0, stop=30.0, step=10.0, outside="zero")
    assert zero.x.tolist() == [0.0, 10.0, 20.0, 30.0] and zero.intensity.tolist() == [0.0, 1.0, 3.0, 0.0]
    edge = P.resample(s, start=0.0, stop=30.0, step=10.0, outside="edge")
    assert edge.intensity.tolist() == [1.0, 1.0, 3.0, 3.0]
    assert P.resample(s, start=100.0, stop=200.0, step=1.0) is None
    assert P.resample(vib([10.0], [1.0]), start=0.0, stop=20.0, step=1.0) is None


def test_resample_averages_repeated_x():
    s = vib([0.0, 1.0, 1.0, 2.0], [0.0, 1.0, 3.0, 4.0])
    out = P.resample(s, start=0.0, stop=2.0, step=0.5)
    np.testing.assert_allclose(out.intensity, [0.0, 1.0, 2.0, 3.0, 4.0])


def _raman_with_bands(rng):
    x = np.arange(200.0, 1800.0, 2.0)
    clean = gauss(x, 1000.0, 6.0, 800.0) + gauss(x, 1450.0, 10.0, 300.0) + 100.0
    return x, clean, clean + rng.normal(0.0, 2.0, x.size)


def test_despike_removes_injected_spikes_and_leaves_bands():
    rng = np.random.default_rng(11)
    x, clean, noisy = _raman_with_bands(rng)
    spiked = noisy.copy()
    spiked[150] += 200.0  # one-point spike on the baseline
    spiked[520:522] += [150.0, 120.0]  # two-point spike
    out = P.despike(vib(x, spiked), threshold=6.0, window=7)
    for i in (150, 520, 521):
        assert abs(out.intensity[i] - clean[i]) < 10.0
    changed = np.flatnonzero(out.intensity != np.float32(spiked))
    assert set(changed) <= {149, 150, 151, 519, 520, 521, 522}
    band = np.abs(x - 1000.0) < 30
    np.testing.assert_array_equal(out.intensity[band], np.float32(spiked[band]))


def test_despike_also_replaces_the_spike_s_neighbours():
    rng = np.random.default_rng(11)
    x, clean, noisy = _raman_with_bands(rng)
    spiked = noisy.copy()
    spiked[299:302] += [12.0, 300.0, 12.0]  # charge spilling into both neighbours (6 noise sd each)
    out = P.despike(vib(x, spiked))
    np.testing.assert_array_less(np.abs(out.intensity[299:302] - clean[299:302]), 8.0)


def test_despike_leaves_a_spike_free_spectrum_with_a_tall_sharp_band_alone():
    rng = np.random.default_rng(5)
    x = np.arange(0.0, 800.0, 1.0)
    y = gauss(x, 400.0, 2.0, 1e5) + rng.normal(0.0, 1.0, x.size)  # sigma 2 points, SNR 1e5
    s = vib(x, y)
    assert P.despike(s) == s


def test_despike_is_for_raman_only():
    with pytest.raises(ProcessingError, match=r"despike.*raman"):
        P.despike(vib([1.0, 2.0], [1.0, 1.0], kind="ir"))


# -------------------------------------------------------------------------------------------------
# parameter and kind errors


@pytest.mark.parametrize(
    "name, params, fragment",
    [
        ("mz_range", {"min_mz": 100.0, "max_mz": 50.0}, "must not exceed"),
        ("mz_range", {"min_mz": -1.0}, ">= 0"),
        ("mz_range", {"min_mz": "low"}, "must be a number"),
        ("mz_range", {"min_mz": float("nan")}, "NaN"),
        ("mz_range", {"lowest": 3.0}, "unknown parameter"),
        ("min_relative_intensity", {"threshold": 5.0}, "0.01"),
        ("min_relative_intensity", {}, "required"),
        ("top_n", {"n": 0}, ">= 1"),
        ("top_n", {"n": 2.5}, "whole number"),
        ("top_n", {"n": True}, "whole number"),
        ("normalize", {"method": "area"}, "'max', 'sum', 'l2'"),
        ("normalize", {"scale": 0.0}, "positive"),
        ("intensity_power", {"power": 0.0}, "> 0"),
        ("mz_weighting", {"mz_power": math.inf}, "finite"),
        ("remove_precursor", {"tolerance": -0.1}, ">= 0"),
        ("remove_precursor", {"tolerance": 0.1, "unit": "mDa"}, "'Da', 'ppm'"),
        ("remove_precursor", {"tolerance": 0.1, "remove_above": "yes"}, "true or false"),
        ("merge_peaks", {"tolerance": 0.1, "how": "mean"}, "'sum', 'max'"),
        ("min_peaks", {"n": 0}, ">= 1"),
        ("crop", {"start": 10.0, "stop": 5.0}, "must not exceed"),
        ("als_baseline", {"lam": -1.0}, "lam"),
        ("als_baseline", {"p": 0.7}, "asymmetry"),
        ("als_baseline", {"n_iter": 0}, "n_iter"),
        ("savgol", {"window": 8}, "odd"),
        ("savgol", {"window": 5, "polyorder": 5}, "polyorder"),
        ("savgol", {"window": 7, "polyorder": 2, "deriv": 3}, "deriv"),
        ("resample", {"start": 10.0, "stop": 5.0, "step": 1.0}, "must not exceed"),
        ("resample", {"start": 0.0, "stop": 5.0, "step": 0.0}, "step must be > 0"),
        ("resample", {"start": 0.0, "stop": 1e9, "step": 1e-3}, "larger step"),
        ("resample", {"start": 0.0, "stop": math.inf, "step": 1.0}, "finite"),
        ("despike", {"window": 4}, "odd"),
        ("despike", {"threshold": 0.0}, "> 0"),
    ],
)
def test_bad_parameters_raise_clear_errors(name, params, fragment):
    spectrum = EXAMPLES[name][1]
    with pytest.raises(ProcessingError) as info:
        getattr(P, name)(spectrum, **params)
    assert isinstance(info.value, ValueError) and isinstance(info.value, NpsIdError)
    assert str(info.value).startswith(f"{name}: ")
    assert fragment in str(info.value)
    with pytest.raises(ProcessingError, match=name):  # a pipeline rejects them at construction
        Pipeline([(name, params)])


def test_steps_reject_spectra_of_the_wrong_kind():
    with pytest.raises(ProcessingError, match=r"top_n.*applies to ms.*'raman'"):
        P.top_n(RAMAN_SPECTRUM, n=3)
    with pytest.raises(ProcessingError, match=r"snv.*'ms'"):
        P.snv(MS_SPECTRUM)
    with pytest.raises(TypeError, match="Spectrum"):
        P.top_n([1, 2, 3], n=3)


def test_unknown_step_suggests_a_close_name():
    with pytest.raises(ProcessingError, match=r"unknown processing step 'top_m'.*did you mean 'top_n'"):
        Pipeline([("top_m", {"n": 3})])


def test_pipeline_rejects_steps_of_different_kinds():
    with pytest.raises(ProcessingError, match="one spectrum kind"):
        Pipeline([("top_n", {"n": 5}), "snv"])
    assert Pipeline([("crop", {"start": 0.0}), "normalize"]).kinds == ("ms", "ir", "raman")
    assert PRESETS["raman_default"].kinds == ("raman",)


# -------------------------------------------------------------------------------------------------
# pipelines


def test_pipeline_fills_defaults_and_converts_types():
    p = Pipeline([("mz_range", {"min_mz": 40}), ("top_n", {"n": 50.0}), "normalize"], name="  mine ")
    assert p.name == "mine"
    assert p.steps == [
        ("mz_range", {"min_mz": 40.0, "max_mz": math.inf}),
        ("top_n", {"n": 50}),
        ("normalize", {"method": "max", "scale": 1.0}),
    ]
    assert isinstance(p.steps[1][1]["n"], int) and isinstance(p.steps[0][1]["min_mz"], float)
    assert len(p) == 3 and [n for n, _ in p] == ["mz_range", "top_n", "normalize"]
    # the steps cannot be changed from outside
    p.steps[1][1]["n"] = 3
    assert p.steps[1][1]["n"] == 50


def test_pipeline_text_format():
    p = Pipeline(
        [("remove_precursor", {"tolerance": 1.6, "remove_above": True}), ("top_n", {"n": 50})], name="msms test"
    )
    assert p.to_string() == (
        "# name: msms test\n"
        "remove_precursor tolerance=1.6 unit=Da remove_above=true\n"
        "top_n n=50\n"
    )
    assert Pipeline().to_string() == ""
    assert Pipeline.from_string("") == Pipeline()


def test_from_string_reads_comments_blank_lines_and_defaults():
    text = """
    # a pipeline written by hand
    # name: hand made

    mz_range min_mz=35   # inline comment
    top_n n=20
    normalize scale=999
    """
    p = Pipeline.from_string(text)
    assert p == Pipeline(
        [("mz_range", {"min_mz": 35.0}), ("top_n", {"n": 20}), ("normalize", {"scale": 999.0})], name="hand made"
    )
    assert p != Pipeline(p.steps, name="other")
    assert p != Pipeline(p.steps[:2], name="hand made")


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_round_trip_exactly(name):
    p = PRESETS[name]
    assert p.name == name
    text = p.to_string()
    q = Pipeline.from_string(text)
    assert q == p and q.to_string() == text and hash(q) == hash(p)
    assert P.get_preset(name) is p


def test_get_preset_lists_presets():
    with pytest.raises(ProcessingError, match="ei_default"):
        P.get_preset("nope")


@pytest.mark.parametrize(
    "text, line, fragment",
    [
        ("top_n n=5\nfoo x=1\n", 2, "unknown processing step 'foo'"),
        ("# name: a\n\ntop_n 5\n", 3, "expected key=value"),
        ("top_n n=5 size=3\n", 1, "unknown parameter(s) 'size'"),
        ("top_n n=five\n", 1, "whole number"),
        ("top_n n=5 n=6\n", 1, "given twice"),
        ("mz_range\nmin_relative_intensity\n", 2, "'threshold' is required"),
        ("remove_precursor tolerance=1 remove_above=maybe\n", 1, "true or false"),
        ("normalize method=area\n", 1, "'max'"),
        ("top_n n=0\n", 1, ">= 1"),
        ("# name: a\n# name: b\n", 2, "named twice"),
        ("# name:   \n", 1, "empty pipeline name"),
        ("top_n n=\n", 1, "expected key=value"),
    ],
)
def test_parse_errors_name_the_line(text, line, fragment):
    with pytest.raises(PipelineFormatError) as info:
        Pipeline.from_string(text, source="p.txt")
    assert info.value.line == line
    assert str(info.value).startswith(f"p.txt, line {line}: ")
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


def test_from_string_rejects_mixed_kinds():
    with pytest.raises(PipelineFormatError, match="one spectrum kind"):
        Pipeline.from_string("top_n n=3\nsnv\n")


def test_save_and_load(tmp_path):
    p = PRESETS["msms_default"]
    path = tmp_path / "msms.pipeline"
    p.save(path)
    assert path.read_text(encoding="utf-8") == p.to_string()
    assert Pipeline.load(path) == p
    bad = tmp_path / "bad.pipeline"
    bad.write_text("# name: x\ntop_n n=3\nsmoothe\n", encoding="utf-8")
    with pytest.raises(PipelineFormatError, match=r"bad\.pipeline, line 3: .*'smoothe'"):
        Pipeline.load(bad)
    with pytest.raises(FileNotFoundError):
        Pipeline.load(tmp_path / "missing.pipeline")


def test_repr_shows_name_and_steps():
    r = repr(Pipeline([("top_n", {"n": 5})], name="x"))
    assert r == "Pipeline([('top_n', {'n': 5})], name='x')"


def test_names_that_are_not_one_line_are_rejected():
    for bad in ["", "   ", "a\nb", "a\rb", "a\u2028b"]:
        with pytest.raises(ProcessingError):
            Pipeline([], name=bad)


def test_pipeline_call_runs_the_steps_in_order():
    s = ms([30.0, 41.0, 57.0, 91.0, 120.0], [900.0, 120.0, 999.0, 45.0, 3.0])
    p = Pipeline([("mz_range", {"min_mz": 40.0}), ("top_n", {"n": 2}), ("normalize", {"scale": 100.0})])
    out = p(s)
    assert out.mz.tolist() == [41.0, 57.0]
    np.testing.assert_allclose(out.intensity, [100.0 * 120.0 / 999.0, 100.0], rtol=1e-6)
    assert Pipeline([("mz_range", {"min_mz": 500.0})])(s) is None
    # an empty pipeline returns an equal spectrum
    assert Pipeline()(s) == s


def test_apply_counts_what_each_step_dropped(caplog):
    spectra = [
        ms([50.0, 60.0, 70.0], [1.0, 2.0, 3.0], metadata={"name": "kept 1"}),
        ms([10.0, 20.0], [1.0, 2.0], metadata={"name": "below range"}),
        ms([50.0], [5.0], metadata={"name": "too few"}),
        ms([45.0, 46.0], [0.0, 0.0], metadata={"name": "no signal"}),
        ms([80.0, 90.0], [4.0, 4.0], metadata={"name": "kept 2"}),
    ]
    p = Pipeline([("mz_range", {"min_mz": 40.0}), ("min_peaks", {"n": 2}), "normalize"], name="count")
    with caplog.at_level(logging.INFO, logger="nps_id.spectra.processing"):
        kept = p.apply(iter(spectra))
    assert [s.name for s in kept] == ["kept 1", "kept 2"]
    r = p.last_report
    assert (r.n_in, r.n_kept, r.n_dropped) == (5, 2, 3)
    assert r.dropped_by_step == [("mz_range", 1), ("min_peaks", 1), ("normalize", 1)]
    assert r.dropped == {"mz_range": 1, "min_peaks": 1, "normalize": 1}
    assert r.dropped_at.tolist() == [-1, 0, 1, 2, -1]
    assert r.dropped_indices().tolist() == [1, 2, 3]
    assert r.dropped_indices("normalize").tolist() == [3]
    assert r.dropped_indices(1).tolist() == [2]
    assert "5 spectra in, 2 kept, 3 dropped" in caplog.text and "by min_peaks (step 2)" in caplog.text
    kept2, report2 = p.apply(spectra, return_report=True)
    assert kept2 == kept and report2.dropped_at.tolist() == r.dropped_at.tolist()


def test_apply_names_the_spectrum_that_failed():
    spectra = [ms([10.0], [1.0], precursor_mz=50.0), ms([10.0], [1.0], metadata={"name": "no precursor"})]
    p = Pipeline([("remove_precursor", {"tolerance": 0.1})], name="strict")
    with pytest.raises(ProcessingError) as info:
        p.apply(spectra)
    notes = " ".join(getattr(info.value, "__notes__", []))
    assert "spectrum 1 ('no precursor')" in notes and "step 1 (remove_precursor)" in notes
    with pytest.raises(ProcessingError, match=r"pipeline 'strict' processes ms spectra, not 'raman'"):
        p.apply([RAMAN_SPECTRUM])


# -------------------------------------------------------------------------------------------------
# property test: any valid pipeline survives the text round trip


def _ordered(a, b):
    return (min(a, b), max(a, b))


finite = dict(allow_nan=False, allow_infinity=False)
pos = st.floats(min_value=1e-6, max_value=1e6, **finite)
odd = st.integers(1, 12).map(lambda k: 2 * k + 1)


@st.composite
def savgol_params(draw):
    window = draw(odd)
    polyorder = draw(st.integers(0, window - 1))
    return {"window": window, "polyorder": polyorder, "deriv": draw(st.integers(0, polyorder))}


def _range(lo_key, hi_key, lo, hi):
    return st.tuples(st.floats(lo, hi, **finite), st.floats(lo, hi, **finite)).map(
        lambda ab: dict(zip((lo_key, hi_key), _ordered(*ab)))
    )


COMMON = {
    "crop": _range("start", "stop", -1e4, 1e4),
    "normalize": st.fixed_dictionaries({"method": st.sampled_from(["max", "sum", "l2"]), "scale": pos}),
    "min_peaks": st.fixed_dictionaries({"n": st.integers(1, 10_000)}),
}
MS_STEPS = {
    **COMMON,
    "mz_range": _range("min_mz", "max_mz", 0.0, 5000.0) | st.fixed_dictionaries({"max_mz": st.just(math.inf)}),
    "min_relative_intensity": st.fixed_dictionaries({"threshold": st.floats(0.0, 1.0)}),
    "top_n": st.fixed_dictionaries({"n": st.integers(1, 10_000)}),
    "intensity_power": st.fixed_dictionaries({"power": pos}),
    "mz_weighting": st.fixed_dictionaries({"mz_power": st.floats(-10, 10, **finite)}),
    "require_precursor": st.just({}),
    "remove_precursor": st.fixed_dictionaries(
        {"tolerance": st.floats(0, 1e3, **finite)},
        optional={"unit": st.sampled_from(["Da", "ppm"]), "remove_above": st.booleans()},
    ),
    "merge_peaks": st.fixed_dictionaries(
        {"tolerance": st.floats(0, 1e3, **finite)},
        optional={"unit": st.sampled_from(["Da", "ppm"]), "how": st.sampled_from(["sum", "max"])},
    ),
}
VIB_STEPS = {
    **COMMON,
    "als_baseline": st.fixed_dictionaries(
        {}, optional={"lam": pos, "p": st.floats(1e-6, 0.499), "n_iter": st.integers(1, 100)}
    ),
    "savgol": savgol_params(),
    "snv": st.just({}),
    "vector_normalize": st.just({}),
    "resample": st.tuples(st.floats(0, 5000, **finite), st.floats(0, 2000, **finite), st.floats(0.05, 50, **finite)).map(
        lambda t: {"start": t[0], "stop": t[0] + t[1], "step": t[2]}
    ),
    "despike": st.fixed_dictionaries({}, optional={"threshold": pos, "window": odd}),
}


def test_property_strategies_cover_every_step():
    assert set(MS_STEPS) | set(VIB_STEPS) == set(STEPS)


@st.composite
def pipelines(draw):
    table = draw(st.sampled_from([MS_STEPS, VIB_STEPS]))
    names = draw(st.lists(st.sampled_from(sorted(table)), max_size=8))
    steps = [(n, draw(table[n])) for n in names]
    name = draw(
        st.none()
        | st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30).filter(
            lambda s: s.strip() and len(s.strip().splitlines()) == 1 and s.strip() == s.strip().splitlines()[0]
        )
    )
    return Pipeline(steps, name=name)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pipelines())
def test_any_pipeline_round_trips_through_text(p):
    text = p.to_string()
    q = Pipeline.from_string(text)
    assert q == p
    assert q.to_string() == text
    assert q.steps == p.steps


# -------------------------------------------------------------------------------------------------
# import cost


def test_import_does_not_load_scipy():
    code = "import sys, nps_id.spectra.processing; print('scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -------------------------------------------------------------------------------------------------
# real spectra


def _data_file(name):
    from nps_id.config import data_dir

    try:
        path = data_dir() / name
    except FileNotFoundError:
        pytest.skip("reference data folder not found (set NPS_ID_DATA)")
    if not path.exists():
        pytest.skip(f"{name} not found in the reference data folder")
    return path


@pytest.mark.realdata
def test_presets_on_real_ei_spectra():
    from nps_id.spectra import load_spectra

    spectra = load_spectra(_data_file("swgdrug_nist_ei.msp.gz"))
    first_before = (spectra[0].x.copy(), spectra[0].intensity.copy())

    p = PRESETS["ei_default"]
    kept, report = p.apply(spectra, return_report=True)
    assert report.n_in == len(spectra)
    assert report.n_kept + report.n_dropped == len(spectra) == len(kept) + len(report.dropped_indices())
    assert len(kept) > 0.95 * len(spectra)
    params = dict(p.steps)
    min_mz = params["mz_range"]["min_mz"]
    threshold = params["min_relative_intensity"]["threshold"]
    scale = params["normalize"]["scale"]
    kept_inputs = [s for s, k in zip(spectra, report.dropped_at) if k < 0]
    for out, src in zip(kept, kept_inputs):
        assert out.metadata == src.metadata
        assert out.intensity.max() == np.float32(scale)
        assert np.all(np.diff(out.mz) > 0)
        assert out.mz[0] >= min_mz
        assert out.intensity.min() >= threshold * scale * (1 - 1e-6)
        # exactly the source's peaks in the range and at or above the floor (relative to the range's base peak)
        in_range = src.mz >= min_mz
        y = src.intensity[in_range].astype(np.float64)
        expected = src.mz[in_range][y >= threshold * y.max()]
        np.testing.assert_array_equal(out.mz, expected)
    np.testing.assert_array_equal(spectra[0].x, first_before[0])
    np.testing.assert_array_equal(spectra[0].intensity, first_before[1])

    # GC-EI spectra have no precursor: the MS/MS preset drops every one, and says so
    msms_kept, msms_report = PRESETS["msms_default"].apply(spectra, return_report=True)
    assert msms_kept == []
    assert msms_report.dropped == {name: (len(spectra) if name == "require_precursor" else 0) for name, _ in PRESETS["msms_default"].steps}


@pytest.mark.realdata
def test_msms_preset_on_real_msms_spectra():
    from nps_id.spectra.io import iter_spectra

    spectra = list(itertools.islice(iter_spectra(_data_file("massbank_open.msp.gz")), 2000))
    p = PRESETS["msms_default"]
    kept, report = p.apply(spectra, return_report=True)
    assert report.n_kept + report.n_dropped == len(spectra) == report.n_in
    assert len(kept) == report.n_kept > 0
    assert report.dropped["require_precursor"] == sum(s.precursor_mz is None for s in spectra)
    params = dict(p.steps)
    tol = params["remove_precursor"]["tolerance"]
    n_max = params["top_n"]["n"]
    threshold = params["min_relative_intensity"]["threshold"]
    merge_tol = params["merge_peaks"]["tolerance"]
    scale = params["normalize"]["scale"]
    for out in kept:
        assert out.precursor_mz is not None
        assert out.intensity.max() == np.float32(scale)
        assert np.all(np.diff(out.mz) > merge_tol)
        assert out.mz[-1] < out.precursor_mz - tol
        assert out.n_peaks <= n_max
        assert out.intensity.min() >= threshold * scale * (1 - 1e-6)
