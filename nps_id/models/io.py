"""Saving and loading trained models in safe formats (no pickle).

A model is a folder::

    MODEL/
      manifest.json                 format, nps_id version, training-library checksum, per-model class
                                    lists and feature parameters, and the sha256 of every payload file
      ei/classifier.skops           SpectrumClassifier (skops; loaded with an explicit list of trusted types)
      ei/substructure.safetensors   SubstructurePredictor weights (safetensors)
      ei/substructure.json          its parameters and substructure keys (JSON)
      ei/identity.json              the identity models of GC-EI searches (plain numbers, JSON)
      msms/...                      the same for the MS/MS models

Loading checks, in this order, and raises :class:`nps_id.errors.ModelError` saying what to do:
the manifest is an nps_id model manifest of a known format version; it was written by a compatible nps_id
(same major.minor version); every payload file is present and its sha256 matches the manifest (a changed
file means tampering or damage); the skops payload holds only trusted types; the class list and feature
parameters stored in the manifest match the loaded objects; and, if asked, the training library's checksum
matches the library in use. A malformed manifest (a model entry that is not an object, an entry without its
``file``, ...) is refused rather than loaded as an empty model.

The library a model is used with. The manifest stores the checksum of the training library. Where a model is
used with another library (:meth:`ModelBundle.check_library`, or ``load_model(..., library=lib)``), nps_id
says so once per process: a warning for a model trained by the user (its class verdicts and identity
probabilities were fitted on other references: retrain it on this library or use the library it was trained
on), and a note only for the default model (``extra.library == "default"``), which is meant to be used with any
library: its verdicts then come from the default reference data. ``load_model(..., library_checksum=...)``
refuses a mismatch instead (:class:`~nps_id.errors.ModelError`).

The manifest carries the sha256 of its own content (``manifest_sha256``; manifests written before it are read
without that check), so a flipped byte or an edit anywhere in it (the training library's checksum, the
thresholds, the counts) is refused too. These checks detect accidental damage and edits; someone who can
rewrite the manifest and its digest can make a consistent pair, which is why the skops payload is also restricted to
:data:`TRUSTED_TYPES` (no arbitrary code runs on load, whatever the file holds).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nps_id import __version__
from nps_id.errors import DeviceError, ModelError

__all__ = ["TRUSTED_TYPES", "ModelBundle", "save_model", "load_model", "MANIFEST", "FORMAT_VERSION"]

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
#: the manifest's key for the sha256 of its own other content (canonical JSON): an edited manifest is refused
SELF_SHA256 = "manifest_sha256"
FORMAT = "nps_id-model"
FORMAT_VERSION = 1

#: types (beyond skops' defaults: numpy, builtins, scikit-learn estimators) a classifier file may hold
TRUSTED_TYPES: tuple[str, ...] = (
    "nps_id.models.classifier.SpectrumClassifier",
    "nps_id.models.features.SpectrumFeaturizer",
    "nps_id.models.scaling.ClippedStandardScaler",
    "scipy.sparse._csr.csr_matrix",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn._loss.loss.HalfMultinomialLoss",
    "sklearn._loss.link.MultinomialLogit",
    "sklearn._loss.link.Interval",
    "sklearn._loss._loss.CyHalfMultinomialLoss",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss._loss.CyHalfBinomialLoss",
    "collections.OrderedDict",
)


@dataclass
class ModelBundle:
    """The models of one model folder, by spectrum type ("ei", "msms").

    Attributes
    ----------
    classifiers : dict of str -> SpectrumClassifier
    substructure : dict of str -> SubstructurePredictor
    identity : dict of str -> (IdentityModel, IdentityModel)
        By technique ("gc_ei", "msms"): the probability that the best hit is the compound, and that it is the
        compound or one of its isomers (:mod:`nps_id.models.identity`).
    manifest : dict
        The manifest as read (or as written by :func:`save_model`).
    path : str or None
    """

    classifiers: dict[str, Any] = field(default_factory=dict)
    substructure: dict[str, Any] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)
    path: str | None = None
    identity: dict[str, Any] = field(default_factory=dict)

    @property
    def library_checksum(self) -> str | None:
        """Checksum of the library the models were trained on."""
        return self.manifest.get("library_checksum")

    @property
    def is_default(self) -> bool:
        """Whether this is nps_id's default model (trained on the default reference data, for use with any library)."""
        extra = self.manifest.get("extra")
        return isinstance(extra, dict) and extra.get("library") == "default"

    def check_library(self, library: Any) -> bool:
        """Say (once per process and pair) when the model is used with a library other than its training library.

        Parameters
        ----------
        library : SpectralLibrary or str
            The library in use, or its checksum.

        Returns
        -------
        bool
            True if the library is the training library (or either checksum is unknown).
        """
        theirs = library if isinstance(library, str) else getattr(library, "checksum", None)
        ours = self.library_checksum
        if not ours or not theirs or ours == theirs:
            return True
        key = (self.path, ours, theirs)
        if key in _SAID:
            return False
        _SAID.add(key)
        where = getattr(library, "path", None) or "the library in use"
        if self.is_default:
            logger.info(
                "using the default model with %s (a library other than the default one it was trained on): as "
                "expected, its class verdicts and identity probabilities come from the default reference data",
                where,
            )
        else:
            logger.warning(
                "model %s was trained on another library (checksum %s...) than %s (%s...): its class verdicts and "
                "identity probabilities were fitted on other references; retrain it on this library "
                "(`python -m nps_id train -l LIB.h5 -o MODEL`) or use the library it was trained on",
                self.path or "(in memory)", str(ours)[:12], where, str(theirs)[:12],
            )
        return False


#: (model, training checksum, library checksum) pairs already reported by :meth:`ModelBundle.check_library`
_SAID: set[tuple[Any, str, str]] = set()


def _manifest_digest(manifest: dict[str, Any]) -> str:
    """sha256 of a manifest's content without its own digest (keys sorted, compact JSON)."""
    body = {k: v for k, v in manifest.items() if k != SELF_SHA256}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _jsonable(value: Any) -> Any:
    """Parameters as JSON values (tuples -> lists, numpy scalars -> Python)."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    return value


def save_model(
    path: str | os.PathLike,
    classifiers: dict[str, Any] | None = None,
    substructure: dict[str, Any] | None = None,
    library_checksum: str | None = None,
    extra: dict[str, Any] | None = None,
    identity: dict[str, Any] | None = None,
) -> ModelBundle:
    """Write fitted models into the folder `path` (replacing its model files), with a manifest.

    Parameters
    ----------
    path : path
        Model folder (created).
    classifiers : dict of str -> SpectrumClassifier, optional
        Fitted classifiers by spectrum type ("ei", "msms").
    substructure : dict of str -> SubstructurePredictor, optional
        Fitted substructure models by spectrum type.
    library_checksum : str, optional
        :attr:`SpectralLibrary.checksum` of the training library.
    extra : dict, optional
        More JSON-able facts for the manifest (training counts, label source, ...).
    identity : dict of str -> (IdentityModel, IdentityModel), optional
        Fitted identity models by technique ("gc_ei", "msms").

    Returns
    -------
    ModelBundle
    """
    import skops.io as sio
    from safetensors.torch import save_file

    from nps_id.spectra.technique import MODEL_KIND

    classifiers = dict(classifiers or {})
    substructure = dict(substructure or {})
    identity = dict(identity or {})
    by_kind = {MODEL_KIND[t]: (t, m) for t, m in identity.items() if t in MODEL_KIND}
    if not classifiers and not substructure and not identity:
        raise ModelError("nothing to save: pass at least one fitted classifier or substructure model")
    root = Path(path)
    if root.exists() and not root.is_dir():
        raise ModelError(f"{root} exists and is not a folder; a model is saved as a folder: choose another path")
    tmp = root.with_name(root.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "nps_id_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "library_checksum": library_checksum,
        "models": {},
        "files": {},
    }
    if extra:
        manifest["extra"] = _jsonable(extra)
    for kind in sorted(set(classifiers) | set(substructure) | set(by_kind)):
        if "/" in kind or kind.startswith("."):
            raise ModelError(f"invalid model name {kind!r}")
        (tmp / kind).mkdir()
        entry: dict[str, Any] = {}
        clf = classifiers.get(kind)
        if clf is not None:
            if not hasattr(clf, "estimator_"):
                raise ModelError(f"the {kind} classifier is not fitted; fit it before saving")
            rel = f"{kind}/classifier.skops"
            sio.dump(clf, tmp / rel)
            entry["classifier"] = {
                "file": rel,
                "classes": [str(c) for c in clf.classes_],
                "params": _jsonable(clf.get_params()),
                "input_mode": clf.input_mode_,
            }
        sub = substructure.get(kind)
        if sub is not None:
            rel_w = f"{kind}/substructure.safetensors"
            rel_c = f"{kind}/substructure.json"
            save_file(sub.state_tensors(), str(tmp / rel_w), metadata={"nps_id_version": __version__})
            (tmp / rel_c).write_text(json.dumps(_jsonable(sub.config()), indent=2))
            entry["substructure"] = {"weights": rel_w, "config": rel_c, "n_bits": int(sub.n_bits_)}
        if kind in by_kind:
            technique, (exact, isomer) = by_kind[kind]
            rel = f"{kind}/identity.json"
            doc = {"technique": technique, "exact": exact.to_state(), "isomer": isomer.to_state()}
            (tmp / rel).write_text(json.dumps(doc, indent=1))
            entry["identity"] = {"file": rel, "technique": technique}
        manifest["models"][kind] = entry
    for f in sorted(p for p in tmp.rglob("*") if p.is_file()):
        manifest["files"][f.relative_to(tmp).as_posix()] = _sha256(f)
    manifest[SELF_SHA256] = _manifest_digest(manifest)
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2))
    if root.exists():
        shutil.rmtree(root)
    os.replace(tmp, root)
    logger.info("saved model %s (%s)", root, ", ".join(manifest["models"]))
    return ModelBundle(classifiers, substructure, manifest, str(root), identity)


def _compatible(saved: str) -> bool:
    def mm(v: str) -> tuple[str, ...]:
        return tuple(str(v).split(".")[:2])

    return mm(saved) == mm(__version__)


def load_model(
    path: str | os.PathLike,
    library_checksum: str | None = None,
    kinds: tuple[str, ...] | None = None,
    device: str | None = None,
    library: Any = None,
) -> ModelBundle:
    """Load and check a model folder written by :func:`save_model`.

    Parameters
    ----------
    path : path
        The model folder (or its ``manifest.json``).
    library_checksum : str, optional
        If given, the model must have been trained on the library with this checksum.
    kinds : tuple of str, optional
        Load only these models ("ei", "msms"); default all.
    device : str, optional
        Device for the substructure models (default: as saved).
    library : SpectralLibrary, optional
        The library the model will be used with: a different training library is reported
        (:meth:`ModelBundle.check_library`: a warning, or a note for the default model), not refused.

    Raises
    ------
    ModelError
        If the folder is not an nps_id model, was written by an incompatible nps_id, a file is missing or
        was changed (sha256), the classifier file holds untrusted types, the stored class list or parameters
        disagree with the objects, or the library checksum does not match.
    FileNotFoundError
        If `path` does not exist.
    """
    import skops.io as sio
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from nps_id.models.substructure import SubstructurePredictor

    root = Path(path)
    if root.is_file() and root.name == MANIFEST:
        root = root.parent
    if not root.exists():
        raise FileNotFoundError(f"No such model: {root}; train one with `python -m nps_id train -l LIB.h5 -o {root}`")
    mpath = root / MANIFEST
    if not mpath.is_file():
        raise ModelError(f"{root} is not an nps_id model folder (no {MANIFEST}); train one with `python -m nps_id train`")
    try:
        manifest = json.loads(mpath.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{mpath} is damaged ({exc}); get a fresh copy of the model or retrain it") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelError(f"{mpath} is not an nps_id model manifest")
    if SELF_SHA256 in manifest and manifest[SELF_SHA256] != _manifest_digest(manifest):
        raise ModelError(
            f"{mpath} was changed after the model was saved (its own sha256 does not match): it may have been "
            "damaged or edited; get a fresh copy of the model or retrain it"
        )
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ModelError(
            f"{root} has model format version {manifest.get('format_version')}; this nps_id reads version "
            f"{FORMAT_VERSION}: retrain the model with `python -m nps_id train`"
        )
    saved_version = str(manifest.get("nps_id_version"))
    if not _compatible(saved_version):
        raise ModelError(
            f"{root} was trained with nps_id {saved_version}; this is nps_id {__version__}: "
            "retrain the model with this version (`python -m nps_id train`) or use the nps_id it was made with"
        )
    if library_checksum is not None and manifest.get("library_checksum") != library_checksum:
        raise ModelError(
            f"{root} was trained on another library (checksum {str(manifest.get('library_checksum'))[:12]}...) than "
            f"the one given ({library_checksum[:12]}...): use the matching library, or retrain the model on this one"
        )
    files = manifest.get("files")
    if not isinstance(files, dict) or not files or not all(isinstance(v, str) for v in files.values()):
        raise ModelError(f"{mpath} lists no payload files; the model is damaged: get a fresh copy or retrain it")
    models = manifest.get("models")
    if not isinstance(models, dict) or not models:
        raise ModelError(f"{mpath} lists no models; the model is damaged: get a fresh copy or retrain it")
    for kind, entry in models.items():
        _check_entry(mpath, kind, entry)
    for rel, digest in files.items():
        f = (root / rel).resolve()
        if root.resolve() not in f.parents:
            raise ModelError(f"{mpath} names a file outside the model folder ({rel!r}); refusing to load it")
        if not f.is_file():
            raise ModelError(f"{root}: payload file {rel} is missing; get a complete copy of the model or retrain it")
        if _sha256(f) != digest:
            raise ModelError(
                f"{root}: {rel} was changed after the model was saved (sha256 does not match the manifest): it may "
                "have been tampered with or damaged; do not use it: get a fresh copy from its source or retrain it"
            )
    listed = set(files)
    bundle = ModelBundle(manifest=manifest, path=str(root))
    for kind, entry in models.items():
        if kinds is not None and kind not in kinds:
            continue
        if "classifier" in entry:
            rel = entry["classifier"]["file"]
            if rel not in listed:
                raise ModelError(f"{root}: {rel} is not covered by the manifest's checksums; refusing to load it")
            fpath = root / rel
            try:
                untrusted = sio.get_untrusted_types(file=fpath)
            except Exception as exc:  # a pickle/joblib file (BadZipFile), a damaged archive, ...
                raise ModelError(
                    f"{root}: {rel} is not a skops file ({type(exc).__name__}: {exc}); nps_id loads models only from "
                    "the safe formats it writes (never pickle or joblib): retrain the model with `python -m nps_id train`"
                ) from None
            bad = sorted(set(untrusted) - set(TRUSTED_TYPES))
            if bad:
                raise ModelError(
                    f"{root}: {rel} holds types nps_id does not trust ({', '.join(bad)}); it was not written by "
                    "nps_id or was tampered with: do not load it"
                )
            try:
                clf = sio.load(fpath, trusted=sorted(set(untrusted)))
            except Exception as exc:  # skops raises various errors on a damaged file
                raise ModelError(f"{root}: cannot read {rel} ({exc}); get a fresh copy or retrain") from None
            from nps_id.models.classifier import SpectrumClassifier

            if not isinstance(clf, SpectrumClassifier):
                raise ModelError(f"{root}: {rel} does not hold a SpectrumClassifier")
            if [str(c) for c in clf.classes_] != entry["classifier"]["classes"]:
                raise ModelError(f"{root}: the class list of {rel} differs from the manifest's; the model is inconsistent: retrain it")
            if _jsonable(clf.get_params()) != entry["classifier"]["params"]:
                raise ModelError(f"{root}: the parameters of {rel} differ from the manifest's; the model is inconsistent: retrain it")
            bundle.classifiers[kind] = clf
        if "substructure" in entry:
            sub_entry = entry["substructure"]
            for rel in (sub_entry["weights"], sub_entry["config"]):
                if rel not in listed:
                    raise ModelError(f"{root}: {rel} is not covered by the manifest's checksums; refusing to load it")
            try:
                tensors = load_file(str(root / sub_entry["weights"]))
                config = json.loads((root / sub_entry["config"]).read_text())
                if device is not None:
                    config["params"]["device"] = device
                bundle.substructure[kind] = SubstructurePredictor.from_state(config, tensors)
            except (SafetensorError, OSError, ValueError, KeyError, TypeError, AttributeError, RuntimeError) as exc:
                if isinstance(exc, (ModelError, DeviceError)):
                    raise
                raise ModelError(f"{root}: cannot read the {kind} substructure model ({exc}); get a fresh copy or retrain") from None
        if "identity" in entry:
            bundle.identity[entry["identity"].get("technique", "")] = _load_identity(root, entry["identity"], listed)
    logger.info("loaded model %s (%s; nps_id %s)", root, ", ".join(models), saved_version)
    if library is not None:
        bundle.check_library(library)
    return bundle


#: what each part of a manifest's model entry must hold: key -> type
_ENTRY_KEYS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "classifier": {"file": str, "classes": list, "params": dict},
    "substructure": {"weights": str, "config": str},
    "identity": {"file": str, "technique": str},
}


def _check_entry(mpath: Path, kind: Any, entry: Any) -> None:
    """Refuse a malformed model entry of a manifest (rather than load it as an empty model)."""
    fix = "the manifest is damaged or was edited: get a fresh copy of the model or retrain it"
    if not isinstance(kind, str) or not kind or "/" in kind or kind.startswith("."):
        raise ModelError(f"{mpath}: invalid model name {kind!r}; {fix}")
    if not isinstance(entry, dict):
        raise ModelError(f"{mpath}: the {kind!r} model entry is {type(entry).__name__} {entry!r:.40}, not an object; {fix}")
    parts = set(entry) & set(_ENTRY_KEYS)
    unknown = set(entry) - set(_ENTRY_KEYS)
    if not parts or unknown:
        raise ModelError(
            f"{mpath}: the {kind!r} model entry holds "
            f"{'unknown parts ' + ', '.join(sorted(map(str, unknown))) if unknown else 'no model'} "
            f"(expected {', '.join(_ENTRY_KEYS)}); {fix}"
        )
    for part in sorted(parts):
        sub = entry[part]
        if not isinstance(sub, dict):
            raise ModelError(f"{mpath}: the {kind!r} {part} entry is not an object; {fix}")
        for key, typ in _ENTRY_KEYS[part].items():
            if key not in sub:
                raise ModelError(f"{mpath}: the {kind!r} {part} entry has no {key!r}; {fix}")
            if not isinstance(sub[key], typ):
                raise ModelError(f"{mpath}: the {kind!r} {part} entry's {key!r} is not a {typ.__name__}; {fix}")


def _load_identity(root: Path, entry: dict[str, Any], listed: set[str]) -> tuple[Any, Any]:
    """The (exact, isomer) identity models of one manifest entry (JSON numbers only)."""
    from nps_id.models.identity import IdentityModel

    rel = entry["file"]
    if rel not in listed:
        raise ModelError(f"{root}: {rel!r} is not covered by the manifest's checksums; refusing to load it")
    try:
        doc = json.loads((root / rel).read_text())
        return IdentityModel.from_state(doc["exact"]), IdentityModel.from_state(doc["isomer"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{root}: cannot read the identity model {rel} ({exc}); get a fresh copy or retrain") from None
