"""Evaluation on compounds never seen in training: grouped cross-validation and the metrics reported.

Grouping
    Every spectrum belongs to a compound: the first block of the InChIKey of its structure with all
    isotope labels removed (RDKit), so a deuterated internal standard (fentanyl-d5) falls in the same
    group as its parent (fentanyl) and never sits on the other side of a split. Spectra without a
    structure fall back to their ``inchikey`` metadata (first block), then to their own group.
Splits
    :class:`sklearn.model_selection.StratifiedGroupKFold` over these groups.
Metrics (one class against the rest)
    TPR at a fixed FPR (the largest TPR whose FPR does not exceed the target, read off the ROC curve),
    ROC AUC, F1 and macro-F1 of the predicted labels, the confusion matrix, and the expected calibration
    error (ECE, top-label, 15 equal-width bins).
Baseline
    The nearest library hit: the class of the most similar training spectrum (cosine on the same binned
    spectra), scored per class by the best cosine among that class's training spectra, in the same folds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "compound_groups",
    "grouped_splits",
    "tpr_at_fpr",
    "expected_calibration_error",
    "classification_metrics",
    "nearest_hit_baseline",
    "cross_validate",
]

logger = logging.getLogger(__name__)


def _parent_key(smiles: str, derivative: bool = False) -> str:
    """InChIKey first block of the structure with isotope labels removed ("" if unparsable).

    With ``derivative=True`` the derivatising groups (TMS, TFA, ...) are removed first
    (:func:`nps_id.chem.parent_structure`), so a derivative falls in its parent's group.
    """
    from rdkit import Chem, RDLogger

    if not smiles:
        return ""
    if derivative:
        try:
            from nps_id.chem import parent_structure

            smiles = Chem.MolToSmiles(parent_structure(smiles, derivative=True))
        except Exception:  # chem not available or structure rejected: fall back to the record's own structure
            pass
    RDLogger.DisableLog("rdApp.*")
    try:
        mol = Chem.MolFromSmiles(smiles)
        if mol is None:
            return ""
        for atom in mol.GetAtoms():
            if atom.GetIsotope():
                atom.SetIsotope(0)
        mol = Chem.RemoveHs(mol)  # explicit [2H] atoms become implicit H once unlabelled
        key = Chem.MolToInchiKey(mol)
    except Exception:  # RDKit raises several types on odd structures
        return ""
    finally:
        RDLogger.EnableLog("rdApp.*")
    return key.split("-")[0] if key else ""


def compound_groups(
    X: Any,
    smiles: Sequence[str] | None = None,
    inchikeys: Sequence[str] | None = None,
    derivative: Sequence[Any] | None = None,
) -> np.ndarray:
    """Return one compound id per spectrum (isotope-stripped InChIKey first block).

    Parameters
    ----------
    X : list of Spectrum, SpectralLibrary or SpectraBatch, optional
        Used for its ``smiles`` / ``inchikey`` / ``is_derivative`` metadata when those are not given.
    smiles, inchikeys : sequence of str, optional
    derivative : sequence of bool or str, optional
        Records flagged as derivatives (TMS, TFA, ...) are grouped with their underivatised parent.

    Returns
    -------
    ndarray of str
        ``"IK:<block>"`` from a structure or InChIKey, ``"SPECTRUM:<i>"`` where neither is known.
    """
    from nps_id.models.features import as_batch

    if smiles is None or inchikeys is None:
        batch = as_batch(X)
        smiles = batch.metadata("smiles") if smiles is None else smiles
        inchikeys = batch.metadata("inchikey") if inchikeys is None else inchikeys
        derivative = batch.metadata("is_derivative") if derivative is None else derivative
    smiles = np.asarray(list(smiles), dtype=object)
    inchikeys = np.asarray(list(inchikeys), dtype=object)
    flags = np.zeros(smiles.size, dtype=bool) if derivative is None else np.array(
        [str(v).strip().lower() in ("true", "1", "yes") for v in derivative], dtype=bool
    )
    pairs = np.array([f"{int(f)}{s}" for s, f in zip(smiles.astype(str), flags)], dtype=object)
    uniq, inv = np.unique(pairs.astype(str), return_inverse=True)
    keys = np.array([_parent_key(p[1:], p[0] == "1") for p in uniq], dtype=object)[inv]
    out = np.empty(smiles.size, dtype=object)
    for i, (k, ik) in enumerate(zip(keys, inchikeys)):
        if k:
            out[i] = f"IK:{k}"
        elif ik:
            out[i] = f"IK:{str(ik).split('-')[0]}"
        else:
            out[i] = f"SPECTRUM:{i}"
    return out


def grouped_splits(y: Any, groups: Any, n_splits: int = 5, random_state: int | None = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified, compound-grouped K-fold splits (no compound on both sides of a split).

    Classes with fewer compounds than `n_splits` are spread as far as they go; the number of folds is
    lowered to the number of groups if needed.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    y = np.asarray(y)
    groups = np.asarray(groups)
    n_groups = np.unique(groups).size
    k = min(int(n_splits), n_groups)
    if k < 2:
        raise ValueError(f"need at least 2 compounds for grouped cross-validation, got {n_groups}")
    cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=random_state)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "least populated class has only N members"
        splits = [(tr, te) for tr, te in cv.split(np.zeros(y.size), y, groups)]
    for tr, te in splits:
        if np.intersect1d(groups[tr], groups[te]).size:  # defensive: StratifiedGroupKFold guarantees this
            raise RuntimeError("a compound is on both sides of a split")
    return splits


def tpr_at_fpr(y_true: Any, score: Any, max_fpr: float) -> float:
    """Largest true-positive rate reachable with a false-positive rate <= `max_fpr` (NaN if one class only)."""
    from sklearn.metrics import roc_curve

    y_true = np.asarray(y_true, dtype=bool)
    if y_true.all() or not y_true.any():
        return float("nan")
    fpr, tpr, _ = roc_curve(y_true, np.asarray(score, dtype=float))
    ok = fpr <= max_fpr + 1e-12
    return float(tpr[ok].max()) if ok.any() else 0.0


def expected_calibration_error(proba: np.ndarray, y_idx: np.ndarray, n_bins: int = 15) -> float:
    """Top-label expected calibration error: sum over confidence bins of |accuracy - confidence| * weight."""
    proba = np.asarray(proba, dtype=float)
    conf = proba.max(axis=1)
    correct = proba.argmax(axis=1) == np.asarray(y_idx)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        m = which == b
        if m.any():
            ece += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return float(ece)


def classification_metrics(
    y_true: Any,
    y_pred: Any,
    scores: np.ndarray,
    classes: Sequence[str],
    target_classes: Sequence[str] | None = None,
    proba: np.ndarray | None = None,
    fprs: Sequence[float] = (0.01, 0.005),
) -> dict[str, Any]:
    """Per-class and overall metrics for one set of out-of-fold predictions.

    Parameters
    ----------
    y_true, y_pred : array_like of str
        True and predicted labels (predictions may include "unknown", counted as wrong).
    scores : ndarray, shape (n, n_classes)
        Per-class scores (probabilities, or the baseline's per-class similarity) in `classes` order.
    classes : sequence of str
    target_classes : sequence of str, optional
        Classes macro-F1 is averaged over (default: all classes).
    proba : ndarray, optional
        Calibrated probabilities for the ECE (default: `scores` if its rows sum to 1).
    fprs : sequence of float
        FPR targets for the TPR-at-FPR figures.
    """
    from sklearn.metrics import confusion_matrix, f1_score, roc_auc_score

    y_true = np.asarray(y_true).astype(str)
    y_pred = np.asarray(y_pred).astype(str)
    classes = [str(c) for c in classes]
    targets = [c for c in (target_classes or classes) if c in set(y_true)]
    per_class: dict[str, dict[str, float]] = {}
    for j, c in enumerate(classes):
        pos = y_true == c
        entry: dict[str, float] = {"n_spectra": int(pos.sum())}
        if pos.any() and not pos.all():
            entry["auc"] = float(roc_auc_score(pos, scores[:, j]))
            for f in fprs:
                entry[f"tpr_at_fpr_{f:g}"] = tpr_at_fpr(pos, scores[:, j], f)
        entry["f1"] = float(f1_score(pos, y_pred == c, zero_division=0))
        per_class[c] = entry
    labels = classes + (["unknown"] if "unknown" in set(y_pred) else [])
    out: dict[str, Any] = {
        "n_spectra": int(y_true.size),
        "accuracy": float((y_true == y_pred).mean()),
        "macro_f1_targets": float(np.mean([per_class[c]["f1"] for c in targets])) if targets else float("nan"),
        "macro_f1_all": float(np.mean([per_class[c]["f1"] for c in classes if per_class[c]["n_spectra"]])),
        "target_classes": targets,
        "per_class": per_class,
        "confusion_labels": labels,
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "unknown_rate": float((y_pred == "unknown").mean()),
    }
    if proba is None and np.allclose(scores.sum(axis=1), 1.0, atol=1e-3):
        proba = scores
    if proba is not None:
        idx = {c: i for i, c in enumerate(classes)}
        y_idx = np.array([idx.get(c, -1) for c in y_true])
        out["ece"] = expected_calibration_error(proba, y_idx)
    return out


def nearest_hit_baseline(
    X_train: Any, y_train: Any, X_test: Any, classes: Sequence[str], max_mz: int = 500
) -> tuple[np.ndarray, np.ndarray]:
    """The plain baseline: the class of the nearest training spectrum (cosine, square-root intensities, 1-Da bins).

    Returns
    -------
    y_pred : ndarray of str
    scores : ndarray, shape (n_test, n_classes)
        Per class, the best cosine to that class's training spectra (for ROC / TPR at FPR).
    """
    from nps_id.models.features import SpectrumFeaturizer

    feat = SpectrumFeaturizer(max_mz=max_mz, blocks=("search",), search_top_k=1)
    feat.fit(X_train, np.asarray(y_train), groups=np.arange(len(np.asarray(y_train))))
    from nps_id.models.features import as_batch, binned_matrix

    binned = binned_matrix(as_batch(X_test), int(max_mz), feat.intensity_power)
    cls_max, top_idx, _ = feat._search_core(binned, None)
    fitted = [str(c) for c in feat.classes_]
    y_pred = feat.classes_[feat.ref_labels_[top_idx[:, 0]]].astype(str)
    scores = np.zeros((binned.shape[0], len(classes)))
    for j, c in enumerate(classes):
        if str(c) in fitted:
            scores[:, j] = cls_max[:, fitted.index(str(c))]
    return y_pred, scores


def cross_validate(
    make_model: Callable[[], Any],
    X: Any,
    y: Any,
    groups: Any,
    n_splits: int = 5,
    random_state: int | None = 0,
    target_classes: Sequence[str] | None = None,
    baseline: bool = True,
    max_mz: int = 500,
    progress: bool = False,
    on_fold: Callable[[int, np.ndarray, np.ndarray, Any], None] | None = None,
) -> dict[str, Any]:
    """Compound-grouped cross-validation of a classifier, with the nearest-hit baseline in the same folds.

    Parameters
    ----------
    make_model : callable
        Returns a fresh, unfitted :class:`~nps_id.models.classifier.SpectrumClassifier` (or any classifier
        over spectra with ``fit(X, y, groups=)``, ``predict_proba``, ``predict``, ``classes_``).
    X : SpectralLibrary or list of Spectrum
    y, groups : array_like
        Class label and compound id of every spectrum.
    n_splits : int, default 5
    target_classes : sequence of str, optional
        Classes whose F1 is averaged into ``macro_f1_targets``.
    baseline : bool, default True
        Also evaluate the nearest-hit baseline on the same folds.
    progress : bool, default False
        Show a tqdm bar over the folds.
    on_fold : callable, optional
        Called as ``on_fold(fold, train_idx, test_idx, fitted_model)`` after every fold.

    Returns
    -------
    dict
        ``{"model": metrics, "baseline": metrics, "folds": n, "oof": {...}}`` (see :func:`classification_metrics`);
        ``oof`` holds the out-of-fold labels, probabilities and predictions for further analysis.
    """
    from nps_id.models.features import as_batch

    batch = as_batch(X)
    y = np.asarray(y).astype(str)
    groups = np.asarray(groups)
    classes = np.unique(y)
    n = y.size
    splits = grouped_splits(y, groups, n_splits, random_state)
    proba = np.zeros((n, classes.size))
    pred = np.empty(n, dtype=object)
    base_pred = np.empty(n, dtype=object)
    base_scores = np.zeros((n, classes.size))
    fold_of = np.zeros(n, dtype=np.int64)
    iterator: Any = enumerate(splits)
    if progress:
        from tqdm import tqdm

        iterator = tqdm(iterator, total=len(splits), desc="cross-validation folds", unit="fold")
    for fold, (tr, te) in iterator:
        train = _subset(batch, tr)
        test = _subset(batch, te)
        model = make_model()
        model.fit(train, y[tr], groups=groups[tr])
        p = model.predict_proba(test)
        cols = [int(np.flatnonzero(classes == c)[0]) for c in model.classes_]
        proba[np.ix_(te, cols)] = p
        pred[te] = model.predict(test)
        fold_of[te] = fold
        if baseline:
            bp, bs = nearest_hit_baseline(train, y[tr], test, classes, max_mz=max_mz)
            base_pred[te] = bp
            base_scores[te] = bs
        if on_fold is not None:
            on_fold(fold, tr, te, model)
        logger.info("fold %d/%d: %d train, %d test spectra", fold + 1, len(splits), tr.size, te.size)
    out: dict[str, Any] = {
        "folds": len(splits),
        "n_compounds": int(np.unique(groups).size),
        "model": classification_metrics(y, pred, proba, classes, target_classes, proba=proba),
        "oof": {"y": y, "proba": proba, "pred": pred, "classes": classes, "fold": fold_of},
    }
    if baseline:
        out["baseline"] = classification_metrics(y, base_pred, base_scores, classes, target_classes)
        out["oof"]["baseline_pred"] = base_pred
        out["oof"]["baseline_scores"] = base_scores
    return out


def _subset(batch: Any, idx: np.ndarray) -> Any:
    """Spectra `idx` of a batch, as a SpectraBatch (metadata kept)."""
    from nps_id.models.features import SpectraBatch

    counts = np.diff(batch.offsets)[idx]
    offsets = np.zeros(idx.size + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    take = np.repeat(batch.offsets[idx] - offsets[:-1], counts) + np.arange(offsets[-1])
    src = batch.metadata_source
    if src is None:
        meta = None
    elif hasattr(src, "column"):
        meta = _ColumnView(src, idx)
    else:
        meta = [src[i] for i in idx]
    return SpectraBatch(np.asarray(batch.mz)[take], np.asarray(batch.intensity)[take], offsets, batch.precursor_mz[idx], meta)


class _ColumnView:
    """Rows `idx` of a library's columns (metadata source of a subset)."""

    def __init__(self, lib: Any, idx: np.ndarray) -> None:
        self.lib = lib
        self.idx = idx

    def column(self, key: str) -> np.ndarray:
        return self.lib.column(key)[self.idx]
