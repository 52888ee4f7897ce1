"""Tests of nps_id.chem.labels: labelling SMILES arrays and spectral libraries."""

from __future__ import annotations

import numpy as np
import pytest

from nps_id.chem.labels import LABEL_COLUMNS, label_library, label_smiles

SMILES = np.array([
    "CNC(C)C(=O)c1ccc(C)cc1",  # mephedrone
    "",  # no structure
    "C1CC",  # unparsable
    "CNC(C)C(=O)c1ccc(C)cc1",  # the same structure again
    "CN(C(=O)C(F)(F)F)C(C)C(=O)c1ccc(C)cc1",  # N-TFA mephedrone (a derivative)
    "c1ccc(NC2CCNCC2)cc1",  # 4-AP
], dtype=object)
DERIVATIVE = ["False", "False", "False", "False", "True", "False"]


def test_label_columns_have_one_value_per_record():
    cols = label_smiles(SMILES, derivative=DERIVATIVE)
    assert set(cols) == set(LABEL_COLUMNS)
    assert all(len(v) == len(SMILES) for v in cols.values())
    assert cols["chem_class"].tolist() == ["synthetic_cathinone", "", "invalid", "synthetic_cathinone",
                                           "synthetic_cathinone", "fentanyl_precursor"]
    assert cols["control_status"][0] == "controlled"
    assert cols["control_status"][5] == "listed_precursor"
    assert cols["chem_error"][2] and not cols["chem_error"][0]
    assert np.isnan(cols["controlled_similarity"][1]) and cols["controlled_similarity"][0] == 1.0


def test_derivative_flag_changes_only_the_flagged_record():
    plain = label_smiles(SMILES)
    assert plain["chem_class"][4] != "synthetic_cathinone"
    assert plain["chem_class"][0] == "synthetic_cathinone"


def test_parallel_labelling_equals_serial():
    many = np.array([f"C{'C' * (i % 40)}N" for i in range(300)] + list(SMILES), dtype=object)
    a = label_smiles(many, n_jobs=1)
    b = label_smiles(many, n_jobs=2)
    for name in LABEL_COLUMNS:
        np.testing.assert_array_equal(a[name], b[name])


def test_derivative_length_must_match():
    with pytest.raises(ValueError, match="one per structure"):
        label_smiles(SMILES, derivative=[True])


def _library(names, smiles, derivative):
    from nps_id.spectra import Spectrum
    from nps_id.spectra.library import SpectralLibrary

    spectra = [
        Spectrum(np.array([41.0, 58.0, 91.0]), np.array([10.0, 100.0, 30.0], dtype=np.float32), kind="ms",
                 metadata={"name": n, "smiles": s, "is_derivative": d})
        for n, s, d in zip(names, smiles, derivative)
    ]
    return SpectralLibrary.from_spectra(spectra)


def test_label_library_stores_columns():
    lib = _library([f"s{i}" for i in range(len(SMILES))], SMILES, DERIVATIVE)
    counts = label_library(lib)
    assert counts == {"": 1, "fentanyl_precursor": 1, "invalid": 1, "synthetic_cathinone": 3}
    assert lib.column("chem_class").tolist() == label_smiles(SMILES, derivative=DERIVATIVE)["chem_class"].tolist()
    assert lib.column("control_status")[5] == "listed_precursor"


def test_national_status_column_is_filled_only_with_a_national_list(tmp_path, monkeypatch):
    monkeypatch.delenv("NPS_ID_NATIONAL_LIST", raising=False)
    assert set(label_smiles(SMILES)["national_status"]) == {""}
    path = tmp_path / "national.csv"
    path.write_text("name,smiles,instrument,schedule\n"
                    "Mephedrone,CNC(C)C(=O)c1ccc(C)cc1,Example Act,Schedule 1\n")
    cols = label_smiles(SMILES, derivative=DERIVATIVE, national_list=str(path))
    assert cols["national_status"].tolist() == [
        "controlled (Example Act, Schedule 1)", "", "", "controlled (Example Act, Schedule 1)",
        "controlled (Example Act, Schedule 1)", "not on the national list"]
    monkeypatch.setenv("NPS_ID_NATIONAL_LIST", str(path))
    lib = _library([f"s{i}" for i in range(len(SMILES))], SMILES, DERIVATIVE)
    label_library(lib)
    assert lib.column("national_status")[0] == "controlled (Example Act, Schedule 1)"
