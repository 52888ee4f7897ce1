"""Evaluate what ships: the ``classify`` path, end to end, on compounds held out of library and models together.

For one technique (GC-EI or MS/MS) of a library with structures, :func:`evaluate_classify` splits the compounds into
folds (compound-grouped and class-stratified, the grouping of :func:`nps_id.models.evaluation.compound_groups`:
isotope-labelled standards and derivatives with their parent, so no parent is on both sides). For each fold:

1. the fold's library is the other folds' spectra, and everything ``classify`` uses is trained on it
   (:func:`nps_id.models.training.train_bundle`: class model and identity models; the substructure model, which
   only adds evidence text, is left out for time);
2. **absent run**: the fold's spectra with a structure are classified against that library with
   :func:`nps_id.classify.classify`, the code users run; their compounds are in neither library nor model. Scored
   on the final ``class`` column (per-class TPR, FPR, F1; macro-F1 over the target classes) and on the
   ``verdict`` column: any ``identified`` is a false identification; an ``isomer`` verdict is wrong when the
   query is not of the matched compound's formula;
3. **replicate run**: for each of the fold's compounds with two or more genuine spectra (same identification key,
   :func:`nps_id.models.identity.identity_keys`), one spectrum is classified against the fold's library plus the
   compound's other spectra: a true identification is ``identified`` with the right compound.

The identification curve (true identifications on replicates against false identifications on absent compounds)
is read off the ``identity_probability`` column of the same rows.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

__all__ = ["TARGET_CLASSES", "evaluate_classify", "class_metrics", "identification_curve", "format_report"]

logger = logging.getLogger(__name__)

TARGET_CLASSES = (
    "fentanyl_analogue", "fentanyl_precursor", "tramadol", "nitazene", "other_opioid", "synthetic_cathinone",
    "synthetic_cannabinoid", "phenethylamine", "tryptamine", "benzodiazepine",
)


def class_metrics(truth: np.ndarray, predicted: np.ndarray, targets: list[str]) -> dict[str, Any]:
    """Per-class TPR, FPR, precision and F1 of a final class column, and macro-F1 over `targets`."""
    truth = np.asarray(truth).astype(str)
    predicted = np.asarray(predicted).astype(str)
    per: dict[str, Any] = {}
    for c in sorted(set(truth) | (set(predicted) - {"unknown", "unclassified compound"})):
        t, p = truth == c, predicted == c
        tp, fp, fn = int((t & p).sum()), int((~t & p).sum()), int((t & ~p).sum())
        tpr = tp / t.sum() if t.any() else float("nan")
        fpr = fp / (~t).sum() if (~t).any() else float("nan")
        prec = tp / p.sum() if p.any() else float("nan")
        f1 = 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else float("nan")
        per[c] = {"n": int(t.sum()), "tpr": tpr, "fpr": fpr, "precision": prec, "f1": f1}
    f1s = [per[c]["f1"] for c in targets if c in per and per[c]["n"]]
    return {
        "n": int(truth.size),
        "accuracy": float((truth == predicted).mean()) if truth.size else float("nan"),
        "macro_f1_targets": float(np.nanmean(f1s)) if f1s else float("nan"),
        "unknown_rate": float(np.isin(predicted, ["unknown", "unclassified compound"]).mean()) if truth.size else 0.0,
        "per_class": per,
    }


def identification_curve(p_rep: np.ndarray, right_rep: np.ndarray, p_abs: np.ndarray,
                         thresholds: np.ndarray | None = None) -> list[dict[str, float]]:
    """True-identification rate on replicates and false-identification rate on absent compounds per threshold.

    A replicate query counts as a true identification at threshold t when its identity probability is >= t and
    its best hit is its compound (`right_rep`); an absent query counts as false when its probability is >= t.
    """
    if thresholds is None:
        thresholds = np.round(np.arange(0.05, 1.0, 0.05), 2)
    p_rep = np.nan_to_num(np.asarray(p_rep, dtype=float), nan=-1.0)
    p_abs = np.nan_to_num(np.asarray(p_abs, dtype=float), nan=-1.0)
    out = []
    for t in thresholds:
        out.append({
            "threshold": float(t),
            "true_identification_rate": float(((p_rep >= t) & right_rep).mean()) if p_rep.size else float("nan"),
            "wrong_identification_rate_replicates": float(((p_rep >= t) & ~right_rep).mean()) if p_rep.size else float("nan"),
            "false_identification_rate_absent": float((p_abs >= t).mean()) if p_abs.size else float("nan"),
        })
    return out


def _groups(sub: Any, keys: np.ndarray) -> np.ndarray:
    """Fold groups: parent compounds; a record without a structure joins the compound it is name-linked to."""
    from nps_id.models.evaluation import compound_groups

    groups = compound_groups(sub).astype(object)
    by_key: dict[str, str] = {}
    for g, k in zip(groups, keys):
        if str(g).startswith("IK:"):
            by_key.setdefault(str(k), str(g))
    for i, (g, k) in enumerate(zip(groups, keys)):
        if not str(g).startswith("IK:") and str(k) in by_key:
            groups[i] = by_key[str(k)]
    return groups.astype(str)


def evaluate_classify(
    library: Any,
    technique: str,
    *,
    n_splits: int = 5,
    seed: int = 0,
    max_queries: int | None = None,
    training: dict[str, Any] | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """The end-to-end evaluation of ``classify`` for one technique (see the module docstring).

    Parameters
    ----------
    library : SpectralLibrary
        A library with structures (SMILES); it is labelled in memory if it has no labels.
    technique : {"gc_ei", "msms"}
    n_splits : int, default 5
    seed : int, default 0
    max_queries : int, optional
        At most this many absent queries per fold (drawn at random; MS/MS folds hold ~15,000 spectra).
    training : dict, optional
        Options of :func:`~nps_id.models.training.train_models` (default: those of the default model).
    progress : bool, default False
        A progress bar over folds.

    Returns
    -------
    dict
        ``classes`` (:func:`class_metrics` of the absent runs), ``identification`` (rates at the shipped
        thresholds and the curve), ``folds`` (per-fold counts and seconds), ``settings``; ``rows``, the per-query
        outcomes, and ``fentanyl_misses`` / ``false_identifications`` name reference compounds: keep them out of
        files that are committed.
    """
    from tqdm import tqdm

    import nps_id.classify as cl
    from nps_id.defaults import DEFAULT_TRAINING
    from nps_id.models.data import ensure_labels
    from nps_id.models.evaluation import grouped_splits
    from nps_id.models.identity import identity_keys
    from nps_id.models.identity_data import first_per_compound
    from nps_id.models.training import train_bundle
    from nps_id.spectra.technique import MODEL_KIND, route_columns

    kind = MODEL_KIND[technique]
    training = dict(DEFAULT_TRAINING if training is None else training)
    training.setdefault("substructure", False)
    names, _ = route_columns(library)
    sub = library.select(np.flatnonzero(names == technique))
    labels = ensure_labels(sub, save=False)
    keys, formulas = identity_keys(sub)
    groups = _groups(sub, keys)
    labelled = ~np.isin(labels, ["", "invalid"])
    rng = np.random.default_rng(seed)
    splits = grouped_splits(np.where(labelled, labels, "unlabelled"), groups, n_splits, random_state=seed)
    _, key_inv, key_counts = np.unique(keys, return_inverse=True, return_counts=True)
    genuine = np.array([not k.endswith(":heavier") for k in keys]) & labelled
    rows_abs: list[dict[str, Any]] = []
    rows_rep: list[dict[str, Any]] = []
    folds: list[dict[str, Any]] = []
    for f, (train, test) in enumerate(tqdm(splits, desc=f"{technique} folds", disable=not progress)):
        t0 = time.monotonic()
        lib_f = sub.select(train)
        bundle = train_bundle(lib_f, (kind,), seed=seed, progress=False, **training)
        t1 = time.monotonic()
        queries = test[labelled[test]]
        if max_queries is not None and queries.size > max_queries:
            queries = np.sort(rng.choice(queries, max_queries, replace=False))
        table = cl.classify(sub.select(queries).to_spectra(), library=lib_f, model=bundle, progress=False,
                            batch_size=1024)
        rows_abs += _rows(table, queries, labels, keys, formulas, lib_f_keys=keys[train], lib_f_formulas=formulas[train])
        # replicate run: one genuine spectrum of each test compound that has another genuine spectrum in the fold
        test_genuine = test[genuine[test]]
        counts = np.bincount(key_inv[test_genuine], minlength=key_counts.size)
        order = rng.permutation(test_genuine)
        rep = np.sort(first_per_compound(order[counts[key_inv[order]] >= 2], key_inv))
        if max_queries is not None and rep.size > max_queries:
            rep = np.sort(rng.choice(rep, max_queries, replace=False))
        if rep.size:
            lib_rows = np.sort(np.concatenate([train, np.setdiff1d(test, rep)]))
            table = cl.classify(sub.select(rep).to_spectra(), library=sub.select(lib_rows), model=bundle,
                                progress=False, batch_size=1024)
            rows_rep += _rows(table, rep, labels, keys, formulas, lib_f_keys=keys[lib_rows],
                              lib_f_formulas=formulas[lib_rows])
        folds.append({"fold": f, "library": int(train.size), "absent_queries": int(queries.size),
                      "replicate_queries": int(rep.size), "train_seconds": round(t1 - t0, 1),
                      "classify_seconds": round(time.monotonic() - t1, 1),
                      "identity_data": bundle.manifest["extra"]["identity_data"].get(technique)})
        logger.info("%s fold %d: %s", technique, f, folds[-1])
    # target classes that can be learned and scored: at least `min_compounds` compounds in the data
    min_compounds = int(training.get("min_compounds", 3))
    targets = [c for c in TARGET_CLASSES if np.unique(groups[labelled & (labels == c)]).size >= min_compounds]
    return _summarise(technique, rows_abs, rows_rep, folds, labels[labelled],
                      {"n_splits": n_splits, "seed": seed, "max_queries": max_queries, "training": training,
                       "target_classes": targets})


def _rows(table: Any, queries: np.ndarray, labels: np.ndarray, keys: np.ndarray, formulas: np.ndarray,
          lib_f_keys: np.ndarray, lib_f_formulas: np.ndarray) -> list[dict[str, Any]]:
    """What the evaluation needs of each result row: truth, verdict, class, probabilities, whether the hit is right."""
    out = []
    details = table.details
    for row, q, det in zip(table.rows, queries, details):
        li = row["top_hit_library_index"]
        hit_key = lib_f_keys[li] if li is not None else ""
        hit_formula = lib_f_formulas[li] if li is not None else ""
        out.append({
            "query": row["query_id"], "top_hit": row["top_hit_name"], "predicted_class": row["predicted_class"],
            "probability": row["probability"],
            "p_fentanyl": (det.probabilities.get("fentanyl_analogue") if det is not None else None),
            "model_argmax": _argmax(det.probabilities if det is not None else {}),
            "truth": str(labels[q]), "class": str(row["class"] or "unknown"), "verdict": row["verdict"] or "skipped",
            "p_identity": row["identity_probability"], "p_isomer": row["isomer_probability"],
            "right_compound": bool(hit_key == keys[q]),
            "right_formula": bool(formulas[q] and hit_formula == formulas[q]),
            "match_factor": row["top_hit_match_factor"],
        })
    return out


def _argmax(probs: dict[str, float]) -> str:
    """The class model's own answer (arg-max, open-set flag ignored): what the estimator alone would say."""
    probs = {c: p for c, p in probs.items() if c != "unknown"}
    return max(probs, key=probs.get) if probs else "unknown"


def _summarise(technique: str, rows_abs: list[dict[str, Any]], rows_rep: list[dict[str, Any]],
               folds: list[dict[str, Any]], all_labels: np.ndarray, settings: dict[str, Any]) -> dict[str, Any]:
    truth = np.array([r["truth"] for r in rows_abs])
    pred = np.array([r["class"] for r in rows_abs])
    targets = settings["target_classes"]
    classes = class_metrics(truth, pred, targets)
    estimator = class_metrics(truth, np.array([r["model_argmax"] for r in rows_abs]), targets)
    classes["estimator_same_folds"] = {"macro_f1_targets": estimator["macro_f1_targets"],
                                       "accuracy": estimator["accuracy"],
                                       "fentanyl_analogue": estimator["per_class"].get("fentanyl_analogue")}
    v_abs = np.array([r["verdict"] for r in rows_abs])
    v_rep = np.array([r["verdict"] for r in rows_rep])
    right_rep = np.array([r["right_compound"] for r in rows_rep], dtype=bool)
    formula_abs = np.array([r["right_formula"] for r in rows_abs], dtype=bool)
    formula_rep = np.array([r["right_formula"] for r in rows_rep], dtype=bool)
    p_rep = np.array([np.nan if r["p_identity"] is None else r["p_identity"] for r in rows_rep], dtype=float)
    p_abs = np.array([np.nan if r["p_identity"] is None else r["p_identity"] for r in rows_abs], dtype=float)
    n_abs, n_rep = max(v_abs.size, 1), max(v_rep.size, 1)
    ident = {
        "absent_queries": int(v_abs.size),
        "replicate_queries": int(v_rep.size),
        "false_identification_rate_absent": float((v_abs == "identified").sum() / n_abs),
        "wrong_isomer_verdicts_absent": float(((v_abs == "isomer") & ~formula_abs).sum() / n_abs),
        "isomer_verdicts_absent": float((v_abs == "isomer").sum() / n_abs),
        "true_identification_rate_replicates": float(((v_rep == "identified") & right_rep).sum() / n_rep),
        "wrong_identification_rate_replicates": float(((v_rep == "identified") & ~right_rep).sum() / n_rep),
        "identified_or_isomer_right_replicates": float(
            (((v_rep == "identified") & right_rep) | ((v_rep == "isomer") & formula_rep)).sum() / n_rep),
        "best_hit_right_replicates": float(right_rep.mean()) if right_rep.size else float("nan"),
        "curve": identification_curve(p_rep, right_rep, p_abs),
    }
    p_fent = np.array([np.nan if r["p_fentanyl"] is None else r["p_fentanyl"] for r in rows_abs], dtype=float)
    is_fent = truth == "fentanyl_analogue"
    if is_fent.any() and (~is_fent).any():
        from nps_id.models.evaluation import tpr_at_fpr

        ok = np.isfinite(p_fent)
        classes["fentanyl_model_probability_roc"] = {
            f"tpr_at_fpr_{f}": tpr_at_fpr(is_fent[ok], p_fent[ok], f) for f in (0.005, 0.01)}
    misses = [r for r in rows_abs if r["truth"] == "fentanyl_analogue" and r["class"] != "fentanyl_analogue"]
    false_ids = [r for r in rows_abs if r["verdict"] == "identified"]
    return {"technique": technique, "classes": classes, "identification": ident, "folds": folds,
            "fentanyl_misses": misses, "false_identifications": false_ids,
            "rows": {"absent": rows_abs, "replicate": rows_rep},
            "settings": settings, "labelled_spectra": int(all_labels.size)}


def format_report(result: dict[str, Any]) -> str:
    """The figures of :func:`evaluate_classify` as text (what ``python -m nps_id evaluate`` prints)."""
    c, i = result["classes"], result["identification"]
    lines = [
        f"{result['technique']}: classify end to end, {result['settings']['n_splits']} compound-grouped folds "
        f"({c['n']} held-out spectra with structures)",
        f"  final class column: accuracy {c['accuracy']:.3f}, macro-F1 over target classes {c['macro_f1_targets']:.3f}, "
        f"unknown {c['unknown_rate']:.3f}; the class model alone (arg-max) in the same folds: macro-F1 "
        f"{c['estimator_same_folds']['macro_f1_targets']:.3f}",
        f"  {'class':24s} {'n':>5s} {'TPR':>6s} {'FPR':>7s} {'F1':>6s}",
    ]
    for name, e in c["per_class"].items():
        lines.append(f"  {name:24s} {e['n']:5d} {e['tpr']:6.3f} {e['fpr']:7.4f} {e['f1']:6.3f}")
    lines += [
        f"  identification: false identifications of absent compounds {i['false_identification_rate_absent']:.4f} "
        f"({i['absent_queries']} queries); wrong isomer verdicts {i['wrong_isomer_verdicts_absent']:.4f}",
        f"  true identifications of replicate spectra {i['true_identification_rate_replicates']:.3f} "
        f"({i['replicate_queries']} queries; best hit right {i['best_hit_right_replicates']:.3f}; identified or "
        f"right isomer verdict {i['identified_or_isomer_right_replicates']:.3f})",
    ]
    return "\n".join(lines)
