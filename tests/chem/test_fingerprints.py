"""Tests of nps_id.chem.fingerprints: the scikit-learn transformer and Tanimoto search."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import check_is_fitted, validate_data

from nps_id.chem.fingerprints import KINDS, FingerprintTransformer, tanimoto_matrix, tanimoto_search
from nps_id.errors import ChemistryError

SMILES = [
    "CCC(=O)N(c1ccccc1)C1CCN(CCc2ccccc2)CC1",  # fentanyl
    "CC(=O)N(c1ccccc1)C1CCN(CCc2ccccc2)CC1",  # acetylfentanyl
    "CN(C)CC1CCCCC1(O)c1cccc(OC)c1",  # tramadol
    "CNC(C)C(=O)c1ccc(C)cc1",  # mephedrone
    "Cn1c(=O)c2c(ncn2C)n(C)c1=O",  # caffeine
]


def _rows_to_smiles(X: np.ndarray) -> list[str]:
    # one deterministic small molecule per numeric row: a chain whose atoms follow the row's values
    return ["C" + "".join("C" if v < 0 else ("N" if v < 1 else "O") for v in row) for row in X]


class RowsAsStructures(FingerprintTransformer):
    """Test adapter: scikit-learn's generic checks feed numeric matrices, so each row is turned into a
    small molecule before the real transformer runs; every check then exercises the real fit/transform,
    pickling, cloning and n_jobs code paths."""

    def fit(self, X, y=None):
        X = validate_data(self, X, reset=True)
        return super().fit(_rows_to_smiles(X), y)

    def transform(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return super().transform(_rows_to_smiles(X))

    def __sklearn_tags__(self):
        tags = super(FingerprintTransformer, self).__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags


@parametrize_with_checks([
    RowsAsStructures(n_bits=64),
    RowsAsStructures(kind="maccs"),
    RowsAsStructures(kind="atompair", counts=True, n_bits=128, n_jobs=2),
])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("counts", [False, True])
def test_every_kind_gives_one_row_per_structure(kind, counts):
    fp = FingerprintTransformer(kind=kind, counts=counts, n_bits=512)
    if kind == "maccs" and counts:
        with pytest.raises(ValueError, match="count"):
            fp.fit(SMILES)
        return
    X = fp.fit_transform(SMILES)
    width = 167 if kind == "maccs" else 512
    assert X.shape == (len(SMILES), width) == (len(SMILES), fp.n_features_out_)
    assert X.dtype == (np.uint32 if counts else np.uint8)
    assert (X.sum(axis=1) > 0).all()
    # different structures give different fingerprints
    assert len({row.tobytes() for row in X}) == len(SMILES)
    assert len(fp.get_feature_names_out()) == width


def test_morgan_bits_match_rdkit_generator_directly():
    X = FingerprintTransformer(n_bits=1024, radius=2).fit_transform(SMILES)
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)
    expected = np.array([gen.GetFingerprintAsNumPy(Chem.MolFromSmiles(s)) for s in SMILES])
    np.testing.assert_array_equal(X, expected)


def test_fcfp_differs_from_ecfp():
    ecfp = FingerprintTransformer(kind="morgan").fit_transform(SMILES)
    fcfp = FingerprintTransformer(kind="fcfp").fit_transform(SMILES)
    assert not np.array_equal(ecfp, fcfp)


def test_accepts_molecules_and_a_single_column():
    mols = [Chem.MolFromSmiles(s) for s in SMILES]
    a = FingerprintTransformer().fit_transform(mols)
    b = FingerprintTransformer().fit_transform(np.array(SMILES, dtype=object)[:, None])
    np.testing.assert_array_equal(a, b)


def test_salt_forms_give_the_parent_fingerprint():
    fp = FingerprintTransformer().fit(SMILES)
    np.testing.assert_array_equal(fp.transform([SMILES[2] + ".Cl"]), fp.transform([SMILES[2]]))


def test_unparsable_structure_raises_or_gives_zeros():
    data = [SMILES[0], "C1CC", SMILES[1]]
    with pytest.raises(ChemistryError, match="position 1"):
        FingerprintTransformer().fit(data).transform(data)
    X = FingerprintTransformer(on_error="zeros").fit_transform(data)
    assert X[1].sum() == 0 and X[0].sum() > 0 and X[2].sum() > 0


def test_unfitted_transform_raises():
    with pytest.raises(NotFittedError):
        FingerprintTransformer().transform(SMILES)


def test_pickled_and_cloned_transformer_give_the_same_output():
    fp = FingerprintTransformer(kind="torsion", counts=True).fit(SMILES)
    again = pickle.loads(pickle.dumps(fp))
    np.testing.assert_array_equal(fp.transform(SMILES), again.transform(SMILES))
    np.testing.assert_array_equal(fp.transform(SMILES), clone(fp).fit(SMILES).transform(SMILES))


def test_parallel_transform_equals_serial():
    many = SMILES * 30
    serial = FingerprintTransformer(kind="rdkit").fit_transform(many)
    parallel = FingerprintTransformer(kind="rdkit", n_jobs=2).fit_transform(many)
    np.testing.assert_array_equal(serial, parallel)


def test_works_inside_a_pipeline():
    from sklearn.linear_model import LogisticRegression

    X = SMILES * 4
    y = [1, 1, 0, 0, 0] * 4
    model = make_pipeline(FingerprintTransformer(n_bits=256), LogisticRegression()).fit(X, y)
    assert list(model.predict(SMILES[:2])) == [1, 1]


def test_tanimoto_search_ranks_the_closest_analogue_first():
    hits = tanimoto_search("CCCC(=O)N(c1ccccc1)C1CCN(CCc2ccccc2)CC1", SMILES, top_k=3)  # butyrfentanyl
    assert [i for i, _ in hits[:2]] == [0, 1]
    assert hits[0][1] > hits[1][1] > hits[2][1]
    assert tanimoto_search(SMILES[3], SMILES, top_k=1) == [(3, 1.0)]


def test_tanimoto_matrix_agrees_with_rdkit():
    X = FingerprintTransformer(n_bits=1024).fit_transform(SMILES)
    S = tanimoto_matrix(X)
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)
    fps = [gen.GetFingerprint(Chem.MolFromSmiles(s)) for s in SMILES]
    for i, fp in enumerate(fps):
        np.testing.assert_allclose(S[i], DataStructs.BulkTanimotoSimilarity(fp, fps))
    assert tanimoto_matrix(np.zeros((1, 8)), np.zeros((2, 8))).tolist() == [[0.0, 0.0]]
