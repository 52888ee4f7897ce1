"""Identity keys, features and the identity model; its training data on the real GC-EI spectra."""

from __future__ import annotations

import numpy as np
import pytest

from nps_id.models.identity import FEATURES, IdentityModel, identity_features, identity_keys
from nps_id.spectra import Spectrum, SpectralLibrary


def _lib(records):
    return SpectralLibrary.from_spectra([Spectrum([41.0, 57.0, 91.0], [1.0, 2.0, 3.0], metadata=m) for m in records])


def test_identity_keys_separate_standards_and_derivatives_and_link_names():
    lib = _lib([
        {"name": "Fentanyl", "smiles": "CCC(=O)N(c1ccccc1)C1CCN(CCc2ccccc2)CC1"},
        {"name": "Fentanyl-d5", "smiles": "[2H]c1c([2H])c([2H])c(CCN2CCC(N(C(=O)CC)c3ccccc3)CC2)c([2H])c1[2H]",
         "is_isotope_labelled": "True"},
        {"name": "Fentanyl (Not certified by NIST)"},  # no structure: linked by its name
        {"name": "Amphetamine TFA derivative", "smiles": "CC(Cc1ccccc1)NC(=O)C(F)(F)F", "is_derivative": "True"},
        {"name": "Unknown thing"},
    ])
    keys, formulas = identity_keys(lib)
    assert keys[0].startswith("IK:PJMPHNIQZUBGLI") and keys[2] == keys[0]
    assert keys[1].startswith("IK:PJMPHNIQZUBGLI:iso:") and keys[1] != keys[0]
    assert keys[3].endswith(":deriv") and keys[4] == "NAME:unknown thing"
    assert formulas.tolist() == [""] * 5  # no formula column


def test_a_spectrum_heavier_than_its_structure_is_kept_apart():
    spectra = [Spectrum([45.0, 73.0, 147.0], [5.0, 999.0, 300.0],
                        metadata={"name": "Urea", "smiles": "NC(N)=O", "exact_mass": "60.03"}),
               Spectrum([43.0, 44.0, 60.0], [300.0, 999.0, 500.0],
                        metadata={"name": "Urea", "smiles": "NC(N)=O", "exact_mass": "60.03"})]
    keys, _ = identity_keys(SpectralLibrary.from_spectra(spectra))
    assert keys[0].endswith(":heavier") and not keys[1].endswith(":heavier")


def test_features_gap_to_another_compound_and_another_formula():
    keys = np.array(["A", "A", "B", "C"])
    formulas = np.array(["F1", "F1", "F1", "F2"])
    idx = np.array([[0, 1, 2, 3], [2, 3, -1, -1], [-1, -1, -1, -1]])
    sc = np.array([[0.95, 0.94, 0.90, 0.60], [0.8, 0.7, np.nan, np.nan], [np.nan] * 4])
    X = identity_features(idx, sc, keys, formulas, np.array([0.97, np.nan, np.nan]), np.array([10, 5, 3]),
                          np.array([np.nan, 14.02, np.nan]))
    assert X.shape == (3, len(FEATURES))
    assert X[0].tolist() == pytest.approx([0.95, 0.05, 0.35, 0.97, np.log1p(10), 1.0])  # GC-EI: no precursor
    assert X[1].tolist() == pytest.approx([0.8, 0.1, 0.1, 0.8, np.log1p(5), 0.0])  # MS/MS: another precursor
    assert (X[2] == 0).all()


def test_identity_model_learns_separates_and_round_trips():
    rng = np.random.default_rng(0)
    n = 400
    y = rng.random(n) < 0.3
    X = np.column_stack([np.where(y, rng.uniform(0.85, 1, n), rng.uniform(0.4, 0.95, n)),
                         np.where(y, rng.uniform(0.05, 0.3, n), rng.uniform(0, 0.1, n)),
                         rng.uniform(0, 0.5, n), rng.uniform(0.5, 1, n), np.log1p(rng.integers(5, 80, n)),
                         np.ones(n)])
    m = IdentityModel().fit(X, y)
    p = m.predict_proba(X)[:, 1]
    assert p[y].mean() > 0.6 > 0.2 > p[~y].mean()
    back = IdentityModel.from_state(m.to_state())
    assert np.allclose(back.predict_proba(X), m.predict_proba(X))
    assert m.predict_proba(np.zeros((1, len(FEATURES))))[0, 1] == 0.0  # no hit: no identity
    with pytest.raises(ValueError, match="both"):
        IdentityModel().fit(X, np.ones(n, dtype=bool))
    with pytest.raises(ValueError, match="features"):
        IdentityModel.from_state({**m.to_state(), "features": ["score"]})


@pytest.mark.realdata
def test_identity_data_from_real_gc_ei_spectra(swgdrug_spectra):
    """Replicates of library compounds mostly find their compound; absent compounds never do (by construction)."""
    from nps_id.models.identity_data import fit_identity_model

    lib = SpectralLibrary.from_spectra(swgdrug_spectra)
    exact, isomer, data = fit_identity_model(lib, "gc_ei", n_splits=3)
    rep = data.replicate
    assert data.report["replicate_queries"] == rep.sum() > 50
    assert not data.y[~rep].any() and data.y[rep].mean() > 0.6
    assert (data.y_isomer >= data.y).all()
    p_rep = exact.predict_proba(data.X[rep])[:, 1]
    p_abs = exact.predict_proba(data.X[~rep])[:, 1]
    assert np.median(p_rep[data.y[rep]]) > 5 * np.median(p_abs)


def test_records_of_one_name_are_one_compound():
    """Tautomers drawn differently (keto / enol 4-hydroxycoumarin) are one compound when the names agree."""
    lib = _lib([
        {"name": "4-Hydroxycoumarin", "smiles": "O=c1cc(O)c2ccccc2o1", "formula": "C9H6O3"},
        {"name": "4-hydroxycoumarin", "smiles": "O=C1CC(=O)c2ccccc2O1", "formula": "C9H6O3"},
        {"name": "Coumarin-3-ol", "smiles": "O=c1oc2ccccc2cc1O", "formula": "C9H6O3"},
    ])
    keys, formulas = identity_keys(lib)
    assert keys[0] == keys[1] != keys[2]
    assert formulas.tolist() == ["C9H6O3"] * 3
