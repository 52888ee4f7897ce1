"""The domain rule of the class verdict (nps_id.classify.domain): dense noise is unknown, references are not."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from nps_id.classify.domain import MARGIN, entropy_bounds, outside_domain, spectral_entropy


def test_entropy_of_each_spectrum_matches_the_formula():
    rng = np.random.default_rng(0)
    sizes = rng.integers(1, 40, 50)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    y = rng.uniform(0, 100, offsets[-1])
    got = spectral_entropy(y, offsets)
    for i in range(50):
        p = y[offsets[i]:offsets[i + 1]] / y[offsets[i]:offsets[i + 1]].sum()
        assert got[i] == pytest.approx(-(p * np.log(p)).sum())
    assert spectral_entropy(np.ones(8), np.array([0, 8]))[0] == pytest.approx(np.log(8))


def test_zero_intensities_and_empty_spectra_give_finite_entropy():
    h = spectral_entropy(np.array([0.0, 0.0, 3.0]), np.array([0, 2, 2, 3]))
    assert np.isfinite(h).all() and h.tolist() == [0.0, 0.0, 0.0]


def test_bounds_are_per_technique_with_the_margin():
    lib = SimpleNamespace(intensity=np.array([1.0, 1.0, 1.0, 1.0, 5.0, 1.0]), offsets=np.array([0, 4, 6]))
    bounds = entropy_bounds(lib, np.array(["gc_ei", "msms"]))
    assert bounds["gc_ei"] == pytest.approx(np.log(4) + MARGIN)
    assert bounds["msms"] == pytest.approx(spectral_entropy(np.array([5.0, 1.0]), np.array([0, 2]))[0] + MARGIN)


@pytest.mark.realdata
def test_no_reference_is_outside_and_dense_noise_is(swgdrug_spectra):
    lib_y = np.concatenate([s.intensity for s in swgdrug_spectra])
    offsets = np.concatenate([[0], np.cumsum([len(s.intensity) for s in swgdrug_spectra])])

    lib = SimpleNamespace(intensity=lib_y, offsets=offsets)
    bound = entropy_bounds(lib, np.full(len(swgdrug_spectra), "gc_ei"))["gc_ei"]
    assert not any(outside_domain(h, bound) for h in spectral_entropy(lib_y, offsets))
    rng = np.random.default_rng(14)
    noise = rng.uniform(1, 1000, (5, 1500))
    h = spectral_entropy(noise.ravel(), np.arange(0, 7501, 1500))
    assert all(outside_domain(x, bound) for x in h)
