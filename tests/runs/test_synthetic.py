"""Synthetic runs: profiles, resolution spacing and the truth they report."""

from __future__ import annotations

import numpy as np
import pytest

from nps_id.runs.synthetic import elution_profile, make_run, profile_fwhm, spacing_for_resolution
from nps_id.spectra import Spectrum


def test_profiles() -> None:
    t = np.linspace(0, 100, 10001)
    g = elution_profile(t, 40.0, 3.0)
    assert t[np.argmax(g)] == pytest.approx(40.0) and g.max() == pytest.approx(1.0)
    e = elution_profile(t, 40.0, 3.0, tau=4.0)
    assert t[np.argmax(e)] == pytest.approx(40.0, abs=0.02) and e.max() == pytest.approx(1.0, abs=1e-3)
    assert e[t > 40].sum() > 1.3 * e[t < 40].sum()  # tails to the right
    assert profile_fwhm(3.0) == pytest.approx(2.3548 * 3.0, rel=1e-3)
    assert profile_fwhm(3.0, 4.0) > profile_fwhm(3.0)
    # two equal Gaussians: Rs = dt / (4 sigma)
    assert spacing_for_resolution(1.0, profile_fwhm(2.0), profile_fwhm(2.0)) == pytest.approx(8.0, rel=1e-3)


def test_make_run_truth() -> None:
    spec = Spectrum([41.0, 91.0], [500.0, 1000.0])
    run, truth = make_run([spec], [50.0], 2.0, 0.0, 1e4, n_scans=100, scan_interval=0.02, rt_start=1.0,
                          background=0.0, electronic_noise=1e-6, gain=0.0, threshold=0.0, rng=1)
    assert run.n_scans == 100 and run.mz[0] == 40 and run.mz[-1] == 300
    assert truth.apex_rt[0] == pytest.approx(2.0)
    col = int(np.flatnonzero(run.mz == 91)[0])
    assert run.intensity[50, col] == pytest.approx(1e4, rel=1e-4)
    assert run.intensity[50, col - 50] == pytest.approx(5e3, rel=1e-4)
    assert truth.area[0] == pytest.approx(1.5e4 * 2.0 * np.sqrt(2 * np.pi), rel=1e-3)
