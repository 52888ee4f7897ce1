"""Classify one batch of query spectra: route, search, identity probabilities, class model, verdict.

This is the whole answer path, in order (the same code for one process, local workers and Dask):

1. technique and search (:class:`~nps_id.spectra.search.routed.RoutedIndex`: each query against references of its
   own technique, processed as the library was, GC-EI on nominal mass);
2. identity probabilities of the best hit (:mod:`nps_id.models.identity`), per technique;
3. class probabilities and substructure evidence from the class models of the query's technique;
4. the verdict (:func:`nps_id.classify.verdict.decide`), the only place that decides.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from nps_id.classify.resources import Resources, ResourceSpec, get_resources
from nps_id.classify.table import QueryDetail
from nps_id.classify.verdict import VerdictSettings, decide, is_controlled

__all__ = ["ClassifyOptions", "classify_batch", "classify_spectra"]

logger = logging.getLogger(__name__)

#: identity thresholds used when neither the options nor the identity model give one
FALLBACK_MIN_IDENTITY_PROBABILITY = 0.5
FALLBACK_MIN_ISOMER_PROBABILITY = 0.9


@dataclasses.dataclass(frozen=True)
class ClassifyOptions:
    """Settings of one classification run (picklable; sent to every worker).

    Parameters
    ----------
    top_k : int, default 5
        Library hits kept per query.
    min_identity_probability : float, optional
        Calibrated probability that the best hit is the query's compound, from which it is ``identified``.
        Default (None): the identity model's own threshold, chosen when it was fitted from the cross-fitted curve
        of its training data (false identifications of absent compounds at most 0.5 %). Identity still needs a
        chemist's confirmation (retention time, a second technique).
    min_isomer_probability : float, optional
        Probability that the best hit is the compound or an isomer of it, from which the verdict is ``isomer``
        (default: the isomer model's own threshold).
    min_probability : float, default 0.5
        Minimum model probability for a class verdict; below it the verdict is ``"unknown"``.
    n_controlled : int, default 3
        Nearest controlled substances listed per unidentified query.
    batch_size : int, default 256
        Queries scored together (and sent to a worker together).
    """

    top_k: int = 5
    min_identity_probability: float | None = None
    min_isomer_probability: float | None = None
    min_probability: float = 0.5
    n_controlled: int = 3
    batch_size: int = 256

    def __post_init__(self) -> None:
        if self.top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {self.top_k}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.n_controlled < 0:
            raise ValueError(f"n_controlled must be >= 0, got {self.n_controlled}")
        self.verdict_settings()  # validates the probabilities

    def verdict_settings(self, models: tuple[Any, Any] | None = None) -> VerdictSettings:
        """The verdict thresholds: the options' where given, else the identity models' own (else fallbacks)."""
        exact, isomer = models if models is not None else (None, None)
        t_id = self.min_identity_probability
        if t_id is None:
            t_id = getattr(exact, "threshold_", None) or FALLBACK_MIN_IDENTITY_PROBABILITY
        t_iso = self.min_isomer_probability
        if t_iso is None:
            t_iso = getattr(isomer, "threshold_", None) or FALLBACK_MIN_ISOMER_PROBABILITY
        return VerdictSettings(t_id, t_iso, self.min_probability)


def classify_batch(spec: ResourceSpec, spectra: Sequence[Any], options: ClassifyOptions) -> list[dict[str, Any]]:
    """Classify a batch of spectra; one result dict per spectrum (row fields plus ``detail``).

    A failure on the batch as a whole falls back to one query at a time, so that one spectrum the
    engines cannot handle costs only its own row (``status="skipped"`` with the reason).
    """
    res = get_resources(spec)
    try:
        return classify_spectra(res, list(spectra), options)
    except Exception as exc:
        if len(spectra) == 1:
            logger.debug("query failed", exc_info=True)
            return [{"status": "skipped", "error": f"classification failed: {type(exc).__name__}: {exc}"}]
        out = []
        for s in spectra:
            out.extend(classify_batch(spec, [s], options))
        return out


def classify_spectra(res: Resources, spectra: list[Any], options: ClassifyOptions) -> list[dict[str, Any]]:
    """The answer path (module docstring) for spectra with loaded resources."""
    from nps_id.models.identity_data import N_HITS

    n = len(spectra)
    if n == 0:
        return []
    k_search = max(options.top_k, N_HITS, 50)  # more candidates than shown: the nearest controlled come from them
    result = res.index.search(spectra, k_search)
    p_id, p_iso = _identity_probabilities(res, result, spectra)
    probs_list = _predict_class(res.model, spectra, result.techniques)
    evidence = _substructure_evidence(res.model, spectra, result.techniques)
    for q, why in enumerate(_outside_domain(res, spectra, result.techniques)):
        if why is not None:  # unlike every reference of its technique: no class from the model
            probs_list[q] = {"unknown": 1.0, **probs_list[q]} if probs_list[q] else {}
            evidence[q] = [why, *evidence[q]]
    settings = {t: options.verdict_settings(res.identity.get(t)) for t in {t.name for t in result.techniques}}
    out = []
    for q in range(n):
        if result.notes[q] is not None:
            out.append({"status": "skipped", "error": result.notes[q], "technique": str(result.techniques[q]),
                        **_retention(spectra[q])})
            continue
        valid = result.indices[q] >= 0
        qi, qs = result.indices[q][valid], result.scores[q][valid]
        hits = [_hit(res, int(i), float(s)) for i, s in zip(qi[: options.top_k], qs)]
        controlled = _nearest_controlled(res, qi, qs, options.n_controlled)
        detail = QueryDetail(
            mz=np.asarray(spectra[q].x), intensity=np.asarray(spectra[q].intensity), hits=hits,
            probabilities=probs_list[q], evidence=list(evidence[q]), nearest_controlled=controlled,
        )
        row: dict[str, Any] = {"status": "ok", "error": None, "technique": str(result.techniques[q]),
                               **_retention(spectra[q])}
        row.update(decide(hits, p_id[q], p_iso[q], probs_list[q], settings[result.techniques[q].name],
                          _class_thresholds(res.model, result.techniques[q].name)))
        row["national_status"] = _national_note(hits[0]["smiles"]) if hits and row["verdict"] == "identified" else None
        if hits:
            top = hits[0]
            row.update(top_hit_name=top["name"], top_hit_score=top["score"], top_hit_match_factor=top["match_factor"],
                       top_hit_library_index=top["library_index"], top_hit_inchikey=top["inchikey"] or None)
            row["other_hits"] = "; ".join(f"{h['name']} ({h['match_factor']:.0f})" for h in hits[1:]) or None
        row["evidence"] = "; ".join(detail.evidence) or None
        if not row["identified"]:
            row["nearest_controlled"] = "; ".join(
                f"{c['name']} ({c['control_status']}, score {c['score']:.2f})" for c in controlled) or None
        row["detail"] = detail
        out.append(row)
    return out


def _retention(spectrum: Any) -> dict[str, float | None]:
    """The row's ``retention_time`` (minutes), ``retention_index`` and ``area_share`` from the spectrum's metadata.

    Run components carry all three (:mod:`nps_id.runs.components`); other spectra may carry ``retention_time``
    (seconds, as nps_id's readers give it) and ``retention_index``. Missing or unreadable values are None.
    """
    def number(key: str) -> float | None:
        try:
            v = float(spectrum.metadata.get(key))
        except (TypeError, ValueError):
            return None
        return v if np.isfinite(v) else None

    rt = number("retention_time_min")
    if rt is None and (seconds := number("retention_time")) is not None:
        rt = seconds / 60.0
    return {"retention_time": rt, "retention_index": number("retention_index"), "area_share": number("area_share")}


def _national_note(smiles: str | None) -> str | None:
    """The national-list status of an identified compound (:func:`nps_id.chem.control.national_status`); None
    without a national list (``NPS_ID_NATIONAL_LIST``) or without a structure."""
    from nps_id.chem.control import national_list_path

    if not smiles or national_list_path() is None:
        return None
    from nps_id.chem.control import national_status
    from nps_id.errors import ChemistryError

    try:
        result = national_status(smiles)
    except ChemistryError as exc:  # a structure RDKit cannot read: no status (the list itself is checked first)
        logger.debug("no national status for %r: %s", smiles, exc)
        return None
    return None if result is None else result.note


def _identity_probabilities(res: Resources, result: Any, spectra: list[Any]
                            ) -> tuple[list[float | None], list[float | None]]:
    """Per query: P(best hit is the compound), P(best hit is the compound or an isomer); None without a model."""
    from nps_id.models.identity import identity_features
    from nps_id.models.identity_data import N_HITS, precursor_delta

    n = len(result.notes)
    p_id: list[float | None] = [None] * n
    p_iso: list[float | None] = [None] * n
    if not res.identity:
        return p_id, p_iso
    reverse = res.index.reverse_scores(result)
    delta = precursor_delta(result, spectra, res.library.precursor_mz)
    for technique, (pos, table, _, _) in result.groups.items():
        models = res.identity.get(technique)
        if models is None or not pos.size:
            continue
        X = identity_features(result.indices[pos, :N_HITS], result.scores[pos, :N_HITS], res.compounds,
                              res.formulas, reverse[pos], table.n_peaks, delta[pos])
        exact, isomer = models
        pe = exact.predict_proba(X)[:, 1]
        pi = np.maximum(isomer.predict_proba(X)[:, 1], pe)  # "the compound or an isomer" includes "the compound"
        for j, a, b in zip(pos, pe, pi):
            if result.indices[j, 0] >= 0:
                p_id[j], p_iso[j] = float(a), float(b)
    return p_id, p_iso


def _hit(res: Resources, i: int, score: float) -> dict[str, Any]:
    return {
        "library_index": i, "name": res.names[i], "score": score, "match_factor": float(np.rint(999 * score)),
        "smiles": res.smiles[i], "inchikey": res.inchikeys[i], "class": res.classes[i],
        "control_status": res.control_status[i], "control_note": res.control_note[i],
        "compound": res.compounds[i], "formula": res.formulas[i],
    }


def _nearest_controlled(res: Resources, rows: np.ndarray, scores: np.ndarray, n: int) -> list[dict[str, Any]]:
    """The most similar controlled compounds among a query's hits (one entry per compound)."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, s in zip(rows, scores):
        if len(out) >= n:
            break
        status = res.control_status[i]
        if is_controlled(status) and res.compounds[i] not in seen:
            seen.add(res.compounds[i])
            out.append({"library_index": int(i), "name": res.names[i], "score": float(s),
                        "control_status": status, "control_note": res.control_note[i]})
    return out


def _class_thresholds(model: Any, technique: str) -> dict[str, float]:
    """The priority-class thresholds of the class model that covers `technique` ({} where none)."""
    from nps_id.spectra.technique import MODEL_KIND

    clf = getattr(model, "classifiers", {}).get(MODEL_KIND.get(technique, ""))
    return dict(getattr(clf, "class_thresholds_", None) or {})


def _by_model(techniques: Sequence[Any]) -> dict[str, list[int]]:
    """Queries per class-model kind ("ei", "msms") of their technique."""
    from nps_id.spectra.technique import MODEL_KIND

    members: dict[str, list[int]] = {}
    for j, t in enumerate(techniques):
        kind = MODEL_KIND.get(t.name)
        if kind is not None:
            members.setdefault(kind, []).append(j)
    return members


def _outside_domain(res: Resources, spectra: Sequence[Any], techniques: Sequence[Any]) -> list[str | None]:
    """Per query, why it is out of the library's domain (:mod:`nps_id.classify.domain`), or None."""
    from nps_id.classify.domain import outside_domain, spectral_entropy
    from nps_id.spectra.spectrum import pack_peaks

    _, intensity, offsets, _ = pack_peaks(list(spectra))
    h = spectral_entropy(intensity, offsets)
    bounds = getattr(res, "entropy_bounds", {})
    return [outside_domain(float(h[q]), bounds.get(t.name)) for q, t in enumerate(techniques)]


def _predict_class(model: Any, spectra: Sequence[Any], techniques: Sequence[Any]) -> list[dict[str, float]]:
    """Class probabilities per query, from the model of the query's technique ({} where there is none).

    A query the classifier's open-set rule rejects (unlike every training spectrum) gets ``"unknown": 1.0``
    first, followed by the class probabilities for information.
    """
    out: list[dict[str, float]] = [{} for _ in spectra]
    if model is None:
        return out
    if not hasattr(model, "classifiers"):  # any fitted object with predict_proba(spectra) and classes_
        proba = np.asarray(model.predict_proba(list(spectra)))
        classes = [str(c) for c in model.classes_]
        return [{c: float(p) for c, p in zip(classes, row)} for row in proba]
    for kind, js in _by_model(techniques).items():
        clf = model.classifiers.get(kind)
        if clf is None:
            continue
        det = clf.predict_detailed([spectra[j] for j in js])
        classes = [str(c) for c in clf.classes_]
        for r, j in enumerate(js):
            probs = dict(sorted(zip(classes, map(float, det["proba"][r])), key=lambda kv: -kv[1]))
            out[j] = {"unknown": 1.0, **probs} if det["unknown"][r] else probs
    return out


def _substructure_evidence(model: Any, spectra: Sequence[Any], techniques: Sequence[Any], min_p: float = 0.5,
                           top: int = 6) -> list[list[str]]:
    """Substructures the model finds evidence for, per query (``"fentanyl_core (0.97)"``; [] where it cannot tell)."""
    out: list[list[str]] = [[] for _ in spectra]
    if model is None or not hasattr(model, "substructure"):
        return out
    for kind, js in _by_model(techniques).items():
        sub = model.substructure.get(kind)
        if sub is None:
            continue
        for j, keys in zip(js, sub.predict_keys([spectra[j] for j in js])):
            best = sorted(((p, k) for k, p in keys.items() if p >= min_p), reverse=True)[:top]
            out[j] = [f"{k} ({p:.2f})" for p, k in best]
    return out
