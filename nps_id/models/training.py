"""Training the class and substructure models of a library: shared by ``python -m nps_id train`` and the
default model that nps_id builds into its cache on first use."""

from __future__ import annotations

import logging
import sys
from typing import Any

__all__ = ["train_models", "train_identity_models", "train_bundle"]

logger = logging.getLogger(__name__)

#: highest m/z bin of the models' spectrum features, per spectrum type
MAX_MZ = {"ei": 500, "msms": 700}


def train_models(
    library: Any,
    kinds: tuple[str, ...] = ("ei", "msms"),
    *,
    substructure: bool = True,
    min_compounds: int = 3,
    max_other: int = 20000,
    epochs: int = 60,
    device: str = "cpu",
    seed: int = 0,
    n_jobs: int | None = None,
    progress: bool | None = None,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Train, per spectrum type, a calibrated class model and (optionally) a substructure model.

    Parameters
    ----------
    library : SpectralLibrary
        Training spectra; labels come from the structures (:func:`nps_id.models.data.prepare`).
    kinds : tuple of {"ei", "msms"}
        Spectrum types to train models for.
    substructure : bool, default True
        Also train the substructure-fingerprint model of each type.
    min_compounds : int, default 3
        Classes with fewer compounds are left out.
    max_other : int, default 20000
        Cap on "other" spectra per model (whole compounds drawn at random).
    epochs : int, default 60
        Epochs of the substructure models.
    device : str, default "cpu"
        Device of the substructure models ("cpu", "cuda", "auto").
    seed : int, default 0
    n_jobs : int, optional
        Worker processes for structure labelling.
    progress : bool, optional
        Progress bar (default: when writing to a terminal).

    Returns
    -------
    classifiers, substructure_models, reports : dict
        By spectrum type; a type with fewer than 2 classes gets no model (logged).
    """
    from tqdm import tqdm

    from nps_id.models.classifier import SpectrumClassifier
    from nps_id.models.data import prepare
    from nps_id.models.substructure import SubstructurePredictor, resolve_device

    resolve_device(device)  # fail early on a bad device
    parts = ("classifier", "substructure") if substructure else ("classifier",)
    show = sys.stderr.isatty() if progress is None else progress
    bar = tqdm(total=len(kinds) * (1 + len(parts)), desc="training", unit="step", disable=not show)
    classifiers: dict[str, Any] = {}
    substructure_models: dict[str, Any] = {}
    reports: dict[str, Any] = {}
    for kind in kinds:
        bar.set_postfix_str(f"{kind}: selecting and labelling")
        data = prepare(library, kind, min_compounds=min_compounds, max_other_spectra=max_other,
                       random_state=seed, n_jobs=n_jobs)
        bar.update(1)
        reports[kind] = data.report
        if len(data.report["classes"]) < 2:
            logger.warning("%s: fewer than 2 classes with enough compounds (%s); no %s model trained",
                           kind, data.report["classes"], kind)
            bar.update(len(parts))
            continue
        bar.set_postfix_str(f"{kind}: classifier")
        clf = SpectrumClassifier(mode=kind, max_mz=MAX_MZ[kind], random_state=seed)
        clf.fit(data.library, data.y, groups=data.groups)
        classifiers[kind] = clf
        logger.info("%s classifier: %d classes, temperature %.2f, open-set similarity threshold %.3f",
                    kind, len(clf.classes_), clf.temperature_, clf.similarity_threshold_ or float("nan"))
        bar.update(1)
        if substructure:
            bar.set_postfix_str(f"{kind}: substructure model")
            sub = SubstructurePredictor(mode=kind, max_mz=MAX_MZ[kind], epochs=epochs, device=device, random_state=seed)
            sub.fit(data.library)
            substructure_models[kind] = sub
            bar.update(1)
    bar.close()
    return classifiers, substructure_models, reports


def train_identity_models(
    library: Any, kinds: tuple[str, ...] = ("ei", "msms"), *, seed: int = 0
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit the identity models (:mod:`nps_id.models.identity`) of the techniques of `kinds` on `library`.

    Returns
    -------
    identity : dict of technique -> (exact, isomer) IdentityModel
    reports : dict of technique -> counts of the identification data (replicate and absent queries)
    """
    from nps_id.models.identity_data import fit_identity_model
    from nps_id.spectra.technique import MODEL_KIND

    identity: dict[str, Any] = {}
    reports: dict[str, Any] = {}
    for technique, kind in MODEL_KIND.items():
        if kind not in kinds:
            continue
        try:
            exact, isomer, data = fit_identity_model(library, technique, random_state=seed)
        except ValueError as exc:  # too few spectra, or no compound with two spectra
            logger.warning("%s: no identity model (%s); %s hits will be candidates only", technique, exc, technique)
            continue
        identity[technique] = (exact, isomer)
        reports[technique] = data.report
        logger.info("%s identity model: %s", technique, data.report)
    return identity, reports


def train_bundle(library: Any, kinds: tuple[str, ...] = ("ei", "msms"), *, seed: int = 0, **options: Any) -> Any:
    """Train everything ``classify`` uses from one library: class, substructure and identity models (in memory).

    `options` go to :func:`train_models`. Returns a :class:`~nps_id.models.io.ModelBundle` (``path`` None); save it
    with :func:`~nps_id.models.io.save_model`.
    """
    from nps_id.models.io import ModelBundle

    classifiers, substructure, reports = train_models(library, kinds, seed=seed, **options)
    identity, id_reports = train_identity_models(library, kinds, seed=seed)
    manifest = {"library_checksum": getattr(library, "checksum", None),
                "extra": {"training_data": reports, "identity_data": id_reports}}
    return ModelBundle(classifiers, substructure, manifest, None, identity)
