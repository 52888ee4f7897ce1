"""nps_id.models on the real SWGDRUG EI spectra: features, grouped CV against the nearest-hit baseline,
open set, safe save/load, substructure model and suspect ranking, devices, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nps_id.errors import DeviceError, ModelError
from nps_id.spectra import Spectrum

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="session")
def labelled_ei(swgdrug_spectra):
    """SWGDRUG spectra with a structure, their chem class and compound group (rare classes left out)."""
    from nps_id.chem import label_smiles
    from nps_id.models.evaluation import compound_groups

    spectra = [s for s in swgdrug_spectra if s.metadata.get("smiles")]
    smiles = [s.metadata["smiles"] for s in spectra]
    deriv = [s.metadata.get("is_derivative", "") for s in spectra]
    y = label_smiles(smiles, derivative=deriv, n_jobs=2)["chem_class"].astype(str)
    groups = compound_groups(spectra)
    keep = np.ones(len(spectra), dtype=bool)
    for c in np.unique(y):
        if np.unique(groups[y == c]).size < 5 or c == "invalid":
            keep &= y != c
    idx = np.flatnonzero(keep)
    return [spectra[i] for i in idx], y[idx], groups[idx]


@pytest.fixture(scope="session")
def small_model(labelled_ei):
    """A classifier fitted on about two thirds of the compounds, and the held-out rest."""
    from nps_id.models import SpectrumClassifier
    from nps_id.models.evaluation import grouped_splits

    spectra, y, groups = labelled_ei
    tr, te = grouped_splits(y, groups, n_splits=3, random_state=1)[0]
    clf = SpectrumClassifier(calibration_cv=2).fit([spectra[i] for i in tr], y[tr], groups=groups[tr])
    return clf, [spectra[i] for i in te], y[te]


# ---------------------------------------------------------------------------------------------- features
def test_binning_matches_a_per_spectrum_reference(swgdrug_spectra):
    from nps_id.models.features import as_batch, binned_matrix

    spectra = swgdrug_spectra[:50]
    got = binned_matrix(as_batch(spectra), 500, 0.5)
    for i, s in enumerate(spectra):
        ref = np.zeros(500, dtype=np.float32)
        scaled = (s.intensity / s.intensity.max()) ** 0.5
        for mz, v in zip(np.rint(s.mz * 0.9995).astype(int), scaled):
            if 0 <= mz < 500:
                ref[mz] = max(ref[mz], v)
        np.testing.assert_allclose(got[i], ref, rtol=1e-6)
    sparse_got = binned_matrix(as_batch(spectra), 500, 0.5, sparse_out=True).toarray()
    np.testing.assert_allclose(sparse_got, got)


def test_neutral_losses_of_a_known_spectrum():
    from nps_id.models.features import as_batch, loss_matrix

    s = Spectrum([91.0, 105.0, 245.0], [500.0, 200.0, 1000.0])
    losses = loss_matrix(as_batch([s]), 250, n_peaks=30)
    assert set(np.flatnonzero(losses[0])) == {14, 140, 154}
    assert losses[0].max() == pytest.approx(1.0)


def test_search_evidence_leaves_the_own_compound_out(labelled_ei):
    from nps_id.models import SpectrumFeaturizer

    spectra, y, groups = labelled_ei
    feat = SpectrumFeaturizer(blocks=("search",))
    F = feat.fit_transform(spectra[:400], y[:400], groups=groups[:400])
    top1 = F[:, list(feat.feature_names_).index("search_top1")]
    # transform() searches the full references: every spectrum finds itself
    assert np.allclose(feat.transform(spectra[:20])[:, 0], 1.0, atol=1e-5)
    # fit_transform() leaves each compound's own spectra out, so the own spectrum is never the hit
    idx, _ = feat.search_scores(spectra[:400], exclude_groups=feat.ref_groups_)
    assert (idx[:, 0] != np.arange(400)).all()
    assert top1.mean() < 0.95


def test_augmented_copies_jitter_intensities_and_scale_the_high_mass_region(swgdrug_spectra):
    from nps_id.models.features import as_batch, augment_spectra

    batch = as_batch(swgdrug_spectra[:200])
    n, counts = len(batch), np.diff(batch.offsets)
    copies, src = augment_spectra(batch, 2, random_state=3)
    assert len(copies) == 2 * n and np.array_equal(src, np.tile(np.arange(n), 2))
    assert np.array_equal(np.diff(copies.offsets), np.tile(counts, 2))
    np.testing.assert_array_equal(copies.mz, np.tile(batch.mz, 2))  # m/z never change
    log_f = np.log(copies.intensity / np.tile(batch.intensity, 2))
    # the high-mass region (m/z >= 0.8 x the spectrum's highest m/z) gets one extra factor per spectrum
    row = np.repeat(np.arange(n), counts)
    top = np.zeros(n)
    np.maximum.at(top, row, batch.mz)
    low = np.tile(batch.mz < 0.8 * top[row], 2)
    assert abs(log_f[low].std() - 0.2) < 0.02 and abs(log_f[low].mean()) < 0.02
    assert log_f[~low].std() > 0.5  # 0.2 per peak and 0.7 per spectrum
    # same seed, same copies; without noise, the spectra themselves
    again, _ = augment_spectra(batch, 2, random_state=3)
    np.testing.assert_array_equal(again.intensity, copies.intensity)
    plain, _ = augment_spectra(batch, 1, random_state=3, intensity_sigma=0.0, high_mass_sigma=0.0)
    np.testing.assert_allclose(plain.intensity, batch.intensity, rtol=1e-6)
    # intensity_sigma 0: within a spectrum's high-mass region every peak moves by the same factor
    hm, _ = augment_spectra(batch, 1, random_state=4, intensity_sigma=0.0)
    log_r = np.log(hm.intensity / batch.intensity)
    high = ~low[: row.size]
    hi_max, hi_min = np.full(n, -np.inf), np.full(n, np.inf)
    np.maximum.at(hi_max, row[high], log_r[high])
    np.minimum.at(hi_min, row[high], log_r[high])
    assert np.allclose(hi_max, hi_min, atol=1e-5) and np.ptp(hi_max) > 1.0
    assert np.allclose(log_r[~high], 0.0, atol=1e-6)


def test_left_out_transform_of_training_spectra_matches_fit_transform(labelled_ei):
    from nps_id.models import SpectrumFeaturizer
    from nps_id.models.features import group_index

    spectra, y, groups = labelled_ei
    feat = SpectrumFeaturizer()
    F = feat.fit_transform(spectra[:300], y[:300], groups=groups[:300])
    np.testing.assert_allclose(feat.transform_left_out(spectra[:300], group_index(groups[:300])), F, atol=1e-6)
    # the plain transform searches every reference, the own compound included: different evidence
    assert not np.allclose(feat.transform(spectra[:300]), F)
    with pytest.raises(ValueError, match="group_ids"):
        feat.transform_left_out(spectra[:3], [0, 1])


def test_clipped_standard_scaler_bounds_rare_features(rng):
    from sklearn.preprocessing import StandardScaler

    from nps_id.models.scaling import ClippedStandardScaler

    X = np.zeros((500, 3))
    X[:, 0] = rng.normal(size=500)
    X[7, 1] = 1.0  # a bin present in one spectrum of 500: standardised to about 22
    X[:, 2] = rng.uniform(size=500)
    plain = StandardScaler().fit_transform(X)
    clipped = ClippedStandardScaler(clip=3.0).fit_transform(X)
    assert plain[7, 1] > 20 and clipped[7, 1] == 3.0
    assert np.abs(clipped).max() <= 3.0
    inside = np.abs(plain) < 3.0
    np.testing.assert_allclose(clipped[inside], plain[inside])
    np.testing.assert_allclose(ClippedStandardScaler(clip=None).fit_transform(X), plain)


def test_compound_groups_put_deuterated_standards_with_their_parent():
    from nps_id.models.evaluation import compound_groups

    fentanyl = "CCC(=O)N(c1ccccc1)C1CCN(CCc2ccccc2)CC1"
    fentanyl_d5 = "CCC(=O)N(c1ccccc1)C1CCN(CCc2c([2H])c([2H])c([2H])c([2H])c2[2H])CC1"
    g = compound_groups(None, smiles=[fentanyl, fentanyl_d5, "CCO", ""], inchikeys=["", "", "", ""])
    assert g[0] == g[1] != g[2]
    assert g[3].startswith("SPECTRUM:")


# ---------------------------------------------------------------------------------------------- classifier
def test_beats_the_nearest_hit_baseline_on_unseen_compounds(labelled_ei):
    """Grouped 3-fold CV on the real EI spectra: better than the nearest library hit's class."""
    from nps_id.models import SpectrumClassifier, cross_validate

    spectra, y, groups = labelled_ei
    res = cross_validate(lambda: SpectrumClassifier(calibration_cv=2), spectra, y, groups, n_splits=3)
    model, base = res["model"], res["baseline"]
    assert model["macro_f1_all"] > base["macro_f1_all"]
    fent_m, fent_b = model["per_class"]["fentanyl_analogue"], base["per_class"]["fentanyl_analogue"]
    assert fent_m["auc"] > fent_b["auc"]
    assert fent_m["tpr_at_fpr_0.01"] >= fent_b["tpr_at_fpr_0.01"]
    assert fent_m["tpr_at_fpr_0.01"] > 0.85
    assert model["ece"] < 0.1
    # no compound on both sides of any split
    folds = res["oof"]["fold"]
    for f in np.unique(folds):
        assert not set(groups[folds == f]) & set(groups[folds != f])


def test_probabilities_and_open_set(small_model, rng):
    clf, test, _ = small_model
    proba = clf.predict_proba(test[:30])
    assert proba.shape == (30, clf.classes_.size)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert clf.temperature_ > 0 and clf.similarity_threshold_ is not None
    # a spectrum unlike anything trained on: peaks at random high masses only
    noise = Spectrum(np.sort(rng.choice(np.arange(430, 499), 12, replace=False)).astype(float), rng.uniform(1, 1000, 12))
    det = clf.predict_detailed([noise])
    assert det["unknown"][0] and clf.predict([noise])[0] == "unknown"
    assert det["similarity"][0] < clf.similarity_threshold_
    # with the rule off the same spectrum is forced into a class
    clf_closed = clf.set_params(open_set=False)
    try:
        assert clf_closed.predict([noise])[0] in set(clf.classes_)
    finally:
        clf.set_params(open_set=True)


def test_rejects_bad_input(small_model):
    from nps_id.models import SpectrumClassifier

    clf, test, _ = small_model
    with pytest.raises(ValueError, match="fitted on spectra"):
        clf.predict(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="one label per spectrum"):
        SpectrumClassifier().fit(test[:5], ["a", "b"])
    with pytest.raises(ValueError, match="estimator"):
        SpectrumClassifier(estimator="nope").fit(test[:5], ["a", "b", "a", "b", "a"])


def test_auto_estimator_is_the_perceptron_for_ei_and_logistic_for_msms(rng):
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    from nps_id.models import SpectrumClassifier

    X = rng.normal(size=(90, 6))
    y = np.where(X[:, 0] + X[:, 1] > 0, "a", "b")
    ei = SpectrumClassifier(mode="ei", hidden_units=16, alpha=0.01, max_iter=500, calibration="none").fit(X, y)
    mlp = ei.estimator_.steps[-1][1]
    assert isinstance(mlp, MLPClassifier)
    assert mlp.hidden_layer_sizes == (16,) and mlp.alpha == 0.01 and mlp.max_iter == 500
    assert (ei.predict(X) == y).mean() > 0.9
    msms = SpectrumClassifier(mode="msms", calibration="none").fit(X, y)
    assert isinstance(msms.estimator_.steps[-1][1], LogisticRegression)
    assert msms.estimator_.steps[-1][1].max_iter == 300


def test_ei_trains_on_jittered_copies_by_default(small_model, rng):
    from nps_id.models import SpectrumClassifier
    from nps_id.models.scaling import ClippedStandardScaler

    clf, _, _ = small_model
    n_train = clf.featurizer_.ref_.shape[0]
    assert clf.n_augmented_ == n_train  # one copy of every training spectrum ("auto" for EI)
    assert isinstance(clf.estimator_.steps[0][1], ClippedStandardScaler) and clf.estimator_.steps[0][1].clip == 3.0
    X = rng.normal(size=(60, 4))
    y = np.where(X[:, 0] > 0, "a", "b")
    assert SpectrumClassifier(calibration="none").fit(X, y).n_augmented_ == 0  # arrays: nothing to jitter
    with pytest.raises(ValueError, match="augment"):
        SpectrumClassifier(augment=-1).fit(X, y)
    with pytest.raises(ValueError, match="clip"):
        SpectrumClassifier(clip=0).fit(X, y)


# ---------------------------------------------------------------------------------------------- save / load
def test_save_load_round_trip_and_tampering(small_model, tmp_path):
    from nps_id.models import load_model, save_model

    clf, test, _ = small_model
    path = tmp_path / "model"
    save_model(path, {"ei": clf}, library_checksum="abc123")
    bundle = load_model(path, library_checksum="abc123")
    again = bundle.classifiers["ei"]
    np.testing.assert_array_equal(again.predict_proba(test), clf.predict_proba(test))
    np.testing.assert_array_equal(again.predict(test), clf.predict(test))
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["models"]["ei"]["classifier"]["classes"] == [str(c) for c in clf.classes_]
    assert manifest["library_checksum"] == "abc123" and "nps_id_version" in manifest

    with pytest.raises(ModelError, match="another library"):
        load_model(path, library_checksum="def456")
    # a changed payload byte
    payload = path / "ei" / "classifier.skops"
    data = bytearray(payload.read_bytes())
    data[len(data) // 2] ^= 0xFF
    payload.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="tampered"):
        load_model(path)


def test_version_mismatch_and_foreign_types_are_rejected(small_model, tmp_path):
    import hashlib
    import zipfile

    from nps_id.models import load_model, save_model

    clf, _, _ = small_model
    path = tmp_path / "model"
    save_model(path, {"ei": clf})
    manifest_path = path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["nps_id_version"] = "99.0.0"
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="retrain"):
        load_model(path)

    # a skops file naming a type outside the trusted list, with a manifest rewritten to match it
    save_model(path, {"ei": clf})
    payload = path / "ei" / "classifier.skops"
    with zipfile.ZipFile(payload) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    schema = json.loads(members["schema.json"])
    schema["__module__"], schema["__class__"] = "os", "system"
    members["schema.json"] = json.dumps(schema).encode()
    with zipfile.ZipFile(payload, "w") as zf:
        for n, b in members.items():
            zf.writestr(n, b)
    manifest = json.loads(manifest_path.read_text())
    manifest["files"]["ei/classifier.skops"] = hashlib.sha256(payload.read_bytes()).hexdigest()
    from nps_id.models.io import SELF_SHA256, _manifest_digest

    manifest[SELF_SHA256] = _manifest_digest(manifest)  # a consistent forgery: only the trusted types stop it
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="does not trust"):
        load_model(path)


def test_not_a_model(tmp_path):
    from nps_id.models import load_model

    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing")
    with pytest.raises(ModelError, match="not an nps_id model"):
        load_model(tmp_path)


# ---------------------------------------------------------------------------------------------- substructure
def test_substructure_model_ranks_and_round_trips(labelled_ei, tmp_path):
    from nps_id.models import SubstructurePredictor, enumerate_fentanyl_suspects, load_model, save_model
    from nps_id.models.evaluation import grouped_splits

    spectra, y, groups = labelled_ei
    tr, te = grouped_splits(y, groups, n_splits=3, random_state=2)[0]
    model = SubstructurePredictor(epochs=15, hidden=256, n_morgan=256, random_state=0)
    model.fit([spectra[i] for i in tr])
    assert model.loss_curve_[-1] < model.loss_curve_[0]
    fent = [spectra[i] for i in te if y[i] == "fentanyl_analogue"]
    other = [spectra[i] for i in te if y[i] == "other"][: len(fent)]
    p_f = np.array([d["fentanyl_core"] for d in model.predict_keys(fent)])
    p_o = np.array([d["fentanyl_core"] for d in model.predict_keys(other)])
    assert p_f.mean() > 0.7 > 0.2 > p_o.mean()

    suspects = enumerate_fentanyl_suspects()
    assert len(suspects) >= 200
    target = fent[0].metadata["smiles"]
    hits = model.rank_suspects(fent[0], suspects + [target])
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))
    # the true structure ranks in the upper half of more than 200 fentanyl-like suspects
    rank = next(h.rank for h in hits if h.smiles == target)
    assert rank <= len(hits) // 2
    assert all(h.analogue_score == 0.0 for h in hits)

    # with the training spectra as library, the suspects' library analogues add evidence: the held-out analogues'
    # true structures rank higher (median over the held-out fentanyl spectra whose structure is a suspect)
    from nps_id.spectra.library import SpectralLibrary

    library = SpectralLibrary.from_spectra([spectra[i] for i in tr])
    targets = [s.metadata["smiles"] for s in fent]
    pool = suspects + sorted(set(targets))
    plain, _, _ = model.score_suspects(fent, pool)
    helped, _, _ = model.score_suspects(fent, pool, library=library)
    col = [pool.index(t) for t in targets]
    rows = np.arange(len(fent))

    def ranks(total):
        return (total > total[rows, col][:, None]).sum(axis=1) + 1

    assert np.median(ranks(helped)) < np.median(ranks(plain))
    with_lib = model.rank_suspects(fent[0], pool, top=5, library=library)
    assert len(with_lib) == 5 and all(0.0 <= h.analogue_score <= 1.0 for h in with_lib)
    assert any(h.analogue_score > 0 for h in with_lib)

    save_model(tmp_path / "m", substructure={"ei": model})
    again = load_model(tmp_path / "m").substructure["ei"]
    np.testing.assert_allclose(again.predict_proba(fent[:5]), model.predict_proba(fent[:5]), rtol=1e-6, atol=1e-7)


def test_cuda_request_without_cuda_raises_device_error():
    import torch

    from nps_id.models import SubstructurePredictor
    from nps_id.models.substructure import resolve_device

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(DeviceError, match="device='cpu'"):
        resolve_device("cuda")
    s = Spectrum([41.0, 57.0], [10.0, 100.0], metadata={"smiles": "CCO"})
    with pytest.raises(DeviceError):
        SubstructurePredictor(device="cuda", epochs=1).fit([s, s])
    assert str(resolve_device("auto")) == "cpu"


# ---------------------------------------------------------------------------------------------- CLI
def test_train_and_evaluate_commands(swgdrug_path, tmp_path, capsys):
    from nps_id.cli import main
    from nps_id.models import load_model
    from nps_id.spectra.library import SpectralLibrary

    lib_path = tmp_path / "lib.h5"
    full = SpectralLibrary.build([swgdrug_path])
    small = full.select(np.flatnonzero(full.column("smiles") != "")[:700])
    small.save(lib_path)
    model = tmp_path / "model"
    assert main(["train", "-l", str(lib_path), "-o", str(model), "--kind", "ei", "--epochs", "2", "--no-progress"]) == 0
    bundle = load_model(model, library_checksum=SpectralLibrary.open(lib_path).checksum)
    assert "ei" in bundle.classifiers and "ei" in bundle.substructure
    exact, isomer = bundle.identity["gc_ei"]  # the identity models travel in the model folder
    assert 0 < exact.threshold_ < 1 and 0 < isomer.threshold_ < 1
    assert main(["evaluate", "-l", str(lib_path), "--kind", "ei", "--folds", "2", "--no-progress", "--estimator",
                 "--json", str(tmp_path / "eval.json")]) == 0
    out = capsys.readouterr().out
    assert "baseline (nearest library hit)" in out
    figures = json.loads((tmp_path / "eval.json").read_text())
    assert "confusion_matrix" in figures["ei"]["model"]
    assert main(["evaluate", "-l", str(lib_path), "-m", str(model), "--kind", "ei", "--no-progress",
                 "--estimator"]) == 0
