"""Peak detection on one trace and the vectorised apex finder over all ion traces."""

from __future__ import annotations

import numpy as np
import pytest

from nps_id.runs import find_peaks
from nps_id.runs.peaks import half_height_widths, ion_apexes, parabolic_apex
from nps_id.runs.synthetic import elution_profile, profile_fwhm


def test_find_peaks_positions_widths_areas(rng) -> None:
    t = np.arange(500, dtype=float)
    truth = [(100.3, 2.0, 1000.0), (250.7, 3.0, 400.0), (262.0, 3.0, 300.0), (400.0, 2.5, 50.0)]
    y = sum(h * elution_profile(t, a, s) for a, s, h in truth) + rng.normal(0, 2.0, t.size)
    rt = 1.0 + t * 0.01
    peaks = find_peaks(y, rt, min_snr=10, smooth=0)
    assert len(peaks) == 4
    np.testing.assert_allclose(peaks.position, [a for a, _, _ in truth], atol=0.3)
    np.testing.assert_allclose(peaks.rt, 1.0 + peaks.position * 0.01)
    assert peaks.fwhm[0] == pytest.approx(profile_fwhm(2.0), rel=0.1)
    assert peaks.area[0] == pytest.approx(1000 * 2.0 * np.sqrt(2 * np.pi), rel=0.05)
    assert peaks.right[1] <= peaks.left[2]  # neighbours split at the valley
    assert np.all(peaks.snr >= 10)


def test_find_peaks_rejects_noise_and_spikes(rng) -> None:
    y = rng.normal(0, 1.0, 2000)
    y[1000] = 50.0  # one-scan spike
    assert len(find_peaks(y, min_snr=8, smooth=0, min_fwhm=1.5)) == 0


def test_parabolic_and_widths() -> None:
    t = np.arange(60, dtype=float)
    y = np.column_stack([elution_profile(t, 20.4, 3.0), elution_profile(t, 35.0, 2.0, tau=2.0)])
    idx = np.array([20, int(np.argmax(y[:, 1]))])
    pos = parabolic_apex(y, idx, np.array([0, 1]))
    assert pos[0] == pytest.approx(20.4, abs=0.05)
    fwhm, left, right = half_height_widths(y, idx, np.array([0, 1]))
    assert fwhm[0] == pytest.approx(profile_fwhm(3.0), rel=0.03)
    assert fwhm[1] == pytest.approx(profile_fwhm(2.0, 2.0), rel=0.05)
    assert left[0] < 20.4 < right[0]


def test_ion_apexes(rng) -> None:
    t = np.arange(300, dtype=float)
    x = np.zeros((300, 4))
    x[:, 0] = 500 * elution_profile(t, 100.2, 2.5)
    x[:, 1] = 200 * elution_profile(t, 100.2, 2.5) + 300 * elution_profile(t, 180.0, 2.5)
    x[:, 3] = 3.0 * elution_profile(t, 50.0, 2.5)  # below the threshold
    x += rng.normal(0, 1.0, x.shape)
    noise = np.ones(4)
    ap = ion_apexes(x, noise, min_snr=10, half_window=2)
    found = sorted(zip(ap.column.tolist(), np.round(ap.position).tolist()))
    assert found == [(0, 100), (1, 100), (1, 180)]
    assert np.all(ap.snr > 10) and np.all(np.abs(ap.fwhm - profile_fwhm(2.5)) < 1.0)
    assert len(ap.subset(ap.column == 1)) == 2


def test_real_run_tic_and_xic(yellow_run) -> None:
    from nps_id.runs import rolling_baseline

    tic = yellow_run.tic
    peaks = find_peaks(tic, yellow_run.rt, baseline=rolling_baseline(tic, 101), min_snr=20)
    for main in (2.687, 2.801, 5.021):
        assert np.min(np.abs(peaks.rt - main)) < 0.01
    xic = yellow_run.xic(126)
    ion = find_peaks(xic, yellow_run.rt, baseline=rolling_baseline(xic, 101), min_snr=20)
    assert len(ion) == 1 and ion.rt[0] == pytest.approx(5.02, abs=0.01)
