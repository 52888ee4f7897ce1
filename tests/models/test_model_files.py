"""Model folders that are damaged, malformed or used with another library (issue 16): each a named ModelError
that says what to do, never a traceback or a silently empty model; a model trained on another library is said."""

from __future__ import annotations

import hashlib
import json
import logging
import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nps_id.errors import ModelError
from nps_id.models.identity import FEATURES, IdentityModel
from nps_id.models.io import ModelBundle, load_model, save_model
from nps_id.spectra import Spectrum


def _identity_pair():
    rng = np.random.default_rng(0)
    n = 200
    y = rng.random(n) < 0.3
    X = rng.uniform(0, 1, (n, len(FEATURES)))
    X[:, 0] = np.where(y, rng.uniform(0.85, 1, n), rng.uniform(0.4, 0.95, n))
    m = IdentityModel().fit(X, y)
    return m, m


@pytest.fixture(scope="module")
def classifier():
    from nps_id.models import SpectrumClassifier

    rng = np.random.default_rng(1)
    spectra, y, groups = [], [], []
    for c, base in enumerate((60.0, 120.0, 180.0)):
        for i in range(24):
            mz = np.sort(base + rng.choice(50, 8, replace=False).astype(float))
            spectra.append(Spectrum(mz, rng.uniform(10, 999, 8)))
            y.append(f"class{c}")
            groups.append(f"c{c}-{i // 3}")
    return SpectrumClassifier(calibration_cv=2).fit(spectra, np.array(y), groups=np.array(groups))


@pytest.fixture()
def model(tmp_path):
    path = tmp_path / "model"
    save_model(path, identity={"gc_ei": _identity_pair()}, library_checksum="a" * 64)
    return path


def _rewrite_manifest(path, change):
    """Edit the manifest and sign it again (as one who rewrites the manifest and its digest would), so that the
    checks behind the manifest's own sha256 are the ones tried."""
    from nps_id.models.io import SELF_SHA256, _manifest_digest

    mpath = path / "manifest.json"
    manifest = json.loads(mpath.read_text())
    change(manifest)
    if isinstance(manifest, dict):
        manifest[SELF_SHA256] = _manifest_digest(manifest)
    mpath.write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    "change",
    [lambda m: m.__setitem__("library_checksum", "c" * 64), lambda m: m["extra"].__setitem__("library", "default"),
     lambda m: m.__setitem__("created", "2020-01-01T00:00:00Z"), lambda m: m.pop("extra")],
    ids=["training library", "default-model flag", "creation time", "facts removed"],
)
def test_an_edited_manifest_is_refused(tmp_path, change):
    path = tmp_path / "model"
    save_model(path, identity={"gc_ei": _identity_pair()}, library_checksum="a" * 64, extra={"library": "user"})
    mpath = path / "manifest.json"
    manifest = json.loads(mpath.read_text())
    change(manifest)
    mpath.write_text(json.dumps(manifest, indent=2))
    with pytest.raises(ModelError, match="manifest.json was changed after the model was saved"):
        load_model(path)


def test_a_manifest_without_its_own_digest_is_still_read(model):
    from nps_id.models.io import SELF_SHA256

    mpath = model / "manifest.json"
    manifest = json.loads(mpath.read_text())
    del manifest[SELF_SHA256]  # written before the digest existed
    mpath.write_text(json.dumps(manifest))
    assert set(load_model(model).identity) == {"gc_ei"}


def test_identity_models_round_trip(model):
    bundle = load_model(model)
    assert set(bundle.identity) == {"gc_ei"} and bundle.library_checksum == "a" * 64


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: m["models"].__setitem__("ei", "x"), "'ei' model entry is str"),
        (lambda m: m["models"].__setitem__("ei", {}), "holds no model"),
        (lambda m: m["models"].__setitem__("ei", {"classifer": {}}), "unknown parts classifer"),
        (lambda m: m["models"]["ei"]["identity"].pop("file"), "identity entry has no 'file'"),
        (lambda m: m["models"]["ei"].__setitem__("identity", "ei/identity.json"), "identity entry is not an object"),
        (lambda m: m["models"]["ei"]["identity"].__setitem__("file", 3), "'file' is not a str"),
        (lambda m: m.__setitem__("models", {}), "lists no models"),
        (lambda m: m.__setitem__("models", ["ei"]), "lists no models"),
        (lambda m: m["models"].__setitem__("../x", m["models"]["ei"]), "invalid model name"),
        (lambda m: m.__setitem__("files", {"ei/identity.json": None}), "lists no payload files"),
    ],
)
def test_malformed_manifests_are_refused(model, change, message):
    _rewrite_manifest(model, change)
    with pytest.raises(ModelError, match=message) as info:
        load_model(model)
    assert "fresh copy" in str(info.value) or "retrain" in str(info.value)


def test_a_classifier_entry_without_file_is_refused(classifier, tmp_path):
    path = tmp_path / "model"
    save_model(path, {"ei": classifier})
    _rewrite_manifest(path, lambda m: m["models"]["ei"]["classifier"].pop("file"))
    with pytest.raises(ModelError, match="classifier entry has no 'file'"):
        load_model(path)


@pytest.mark.parametrize("writer", ["pickle", "joblib", "garbage"])
def test_a_pickle_or_joblib_file_in_place_of_skops_is_refused(classifier, tmp_path, writer):
    path = tmp_path / "model"
    save_model(path, {"ei": classifier})
    payload = path / "ei" / "classifier.skops"
    if writer == "pickle":
        payload.write_bytes(pickle.dumps(classifier))
    elif writer == "joblib":
        import joblib

        joblib.dump(classifier, payload)
    else:
        payload.write_bytes(b"PK\x03\x04 not really a zip")
    digest = hashlib.sha256(payload.read_bytes()).hexdigest()
    _rewrite_manifest(path, lambda m: m["files"].__setitem__("ei/classifier.skops", digest))
    with pytest.raises(ModelError, match="not a skops file.*never pickle or joblib.*retrain"):
        load_model(path)


def test_a_substructure_entry_without_config_is_refused(tmp_path):
    path = tmp_path / "model"
    save_model(path, identity={"gc_ei": _identity_pair()})
    _rewrite_manifest(path, lambda m: m["models"]["ei"].__setitem__("substructure", {"weights": "ei/identity.json"}))
    with pytest.raises(ModelError, match="substructure entry has no 'config'"):
        load_model(path)


class _Library:
    def __init__(self, checksum, path="user.h5"):
        self.checksum, self.path = checksum, path


def test_another_training_library_is_said_once(model, caplog):
    with caplog.at_level(logging.INFO, logger="nps_id.models.io"):
        bundle = load_model(model, library=_Library("a" * 64))  # its own library: nothing said
        assert not [r for r in caplog.records if "another library" in r.getMessage()]
        bundle = load_model(model, library=_Library("b" * 64))
        assert bundle.check_library(_Library("b" * 64)) is False  # said once only
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "trained on another library" in r.getMessage()]
    assert len(warnings) == 1 and "retrain" in warnings[0].getMessage() and "user.h5" in warnings[0].getMessage()
    with pytest.raises(ModelError, match="another library"):  # asked to refuse a mismatch, it refuses
        load_model(model, library_checksum="b" * 64)


def test_the_default_model_with_a_user_library_is_expected_and_noted_once(tmp_path, caplog):
    path = tmp_path / "default-model"
    save_model(path, identity={"gc_ei": _identity_pair()}, library_checksum="c" * 64, extra={"library": "default"})
    bundle = load_model(path)
    assert bundle.is_default
    with caplog.at_level(logging.INFO, logger="nps_id.models.io"):
        assert bundle.check_library(_Library("d" * 64, "mine.h5")) is False
        assert bundle.check_library(_Library("d" * 64, "mine.h5")) is False
        assert bundle.check_library("c" * 64) is True
    notes = [r for r in caplog.records if "default model" in r.getMessage()]
    assert len(notes) == 1 and notes[0].levelno == logging.INFO and "expected" in notes[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_unknown_checksums_say_nothing():
    assert ModelBundle().check_library(_Library("e" * 64)) is True
    assert ModelBundle(manifest={"library_checksum": "f" * 64}).check_library(object()) is True


@pytest.fixture(scope="module")
def whole_model(classifier, tmp_path_factory):
    """A model folder with a classifier and identity models, and its answers on a few spectra."""
    path = tmp_path_factory.mktemp("whole") / "model"
    save_model(path, {"ei": classifier}, identity={"gc_ei": _identity_pair()}, library_checksum="b" * 64)
    return path, _answers(path)


def _answers(path):
    bundle = load_model(path)
    rng = np.random.default_rng(5)
    spectra = [Spectrum(np.sort(60.0 + rng.choice(150, 8, replace=False)), rng.uniform(10, 999, 8)) for _ in range(6)]
    X = np.random.default_rng(6).uniform(0, 1, (5, len(FEATURES)))
    exact, isomer = bundle.identity["gc_ei"]
    return (bundle.classifiers["ei"].predict_proba(spectra).round(9).tolist(), exact.predict_proba(X).tolist(),
            isomer.predict_proba(X).tolist(), exact.threshold_, bundle.library_checksum)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.integers(0, 100), where=st.floats(0, 1), xor=st.integers(1, 255))
def test_any_flipped_byte_in_a_model_folder_is_refused_or_changes_nothing(whole_model, tmp_path, which, where, xor):
    import shutil

    root, original = whole_model
    path = tmp_path / "model"
    shutil.rmtree(path, ignore_errors=True)
    shutil.copytree(root, path)
    files = sorted(p for p in path.rglob("*") if p.is_file())
    f = files[which % len(files)]
    data = bytearray(f.read_bytes())
    data[min(int(where * len(data)), len(data) - 1)] ^= xor
    f.write_bytes(bytes(data))
    try:
        got = _answers(path)
    except ModelError as exc:
        assert "retrain" in str(exc) or "model" in str(exc)
        return
    assert got == original, f"a flipped byte in {f.name} changed the model silently"
