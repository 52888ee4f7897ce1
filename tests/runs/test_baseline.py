"""Baseline (rolling-minimum opening) and robust noise, on one trace and on many at once."""

from __future__ import annotations

import numpy as np
import pytest

from nps_id.errors import ProcessingError
from nps_id.runs.baseline import estimate_noise, rolling_baseline, subtract_baseline
from nps_id.runs.synthetic import elution_profile


def test_peaks_removed_drift_kept(rng) -> None:
    t = np.arange(600, dtype=float)
    drift = 500 + 2.0 * t + 300 * np.sin(t / 150)
    peaks = 5000 * elution_profile(t, 200, 3) + 8000 * elution_profile(t, 420, 4, tau=3)
    y = drift + peaks + rng.normal(0, 20, t.size)
    base = rolling_baseline(y, window=61)
    assert np.all(base <= y + 1e-9 + 100)  # never above the (smoothed) trace
    assert np.median(np.abs(base - drift)) < 40  # follows the drift within about 2 noise sd
    corrected, _ = subtract_baseline(y, 61)
    assert corrected[200] == pytest.approx(5000, rel=0.05)
    assert abs(corrected[300]) < 100


def test_matrix_equals_columns(rng) -> None:
    x = rng.gamma(2.0, 100.0, (300, 5)).astype(np.float32)
    whole = rolling_baseline(x, 41)
    for j in range(5):
        np.testing.assert_allclose(whole[:, j], rolling_baseline(x[:, j], 41), rtol=1e-6)
    assert whole.dtype == np.float32 and rolling_baseline(x.astype(np.float64), 41).dtype == np.float64


def test_gap_edges_are_not_peaks() -> None:
    # a filament-off period: the signal drops to ~0 for 20 scans; the plateaus next to it must stay baseline
    # (only the two scans at each edge that the 5-scan pre-smoothing blurs may differ)
    y = np.full(400, 1000.0)
    y[190:210] = 10.0
    corrected, base = subtract_baseline(y, 101)
    away = np.ones(400, dtype=bool)
    away[188:192] = away[208:212] = False
    assert np.abs(corrected[away]).max() < 1e-6


def test_noise(rng) -> None:
    y = rng.normal(0, 5.0, (5000, 3)) + np.linspace(0, 100, 5000)[:, None]
    np.testing.assert_allclose(estimate_noise(y), 5.0, rtol=0.08)
    assert isinstance(estimate_noise(y[:, 0]), float)
    # an ion below the instrument threshold: zeros with rare threshold-level spikes -> the spikes' size
    z = np.zeros(1000)
    z[::7] = 300.0
    assert estimate_noise(np.column_stack([z, y[:1000, 0]]))[0] > 100
    assert estimate_noise(np.zeros((10, 2)), floor=3.0).tolist() == [3.0, 3.0]


def test_bad_window() -> None:
    with pytest.raises(ProcessingError, match="window"):
        rolling_baseline(np.ones(10), 0)
