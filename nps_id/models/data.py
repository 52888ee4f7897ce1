"""Choosing and labelling the training spectra of each model (EI, MS/MS) from a reference library.

Rules (the same for ``train``, ``evaluate`` and the benchmark):

* Labels come from :func:`nps_id.chem.label_library` (column ``chem_class``; computed and stored in the
  library if missing). Spectra without a structure (no SMILES: about 22 % of the SWGDRUG EI spectra) or with
  an unparsable one cannot be labelled: they are **left out** of training and evaluation (counted in the
  report), not treated as unlabelled data.
* EI model: spectra of technique ``gc_ei``; MS/MS model: spectra of technique ``msms``, as the one technique
  router decides (:mod:`nps_id.spectra.technique`); full-scan ESI/APCI spectra train neither.
* Classes with fewer than ``min_compounds`` distinct compounds cannot be learned or evaluated on unseen
  compounds; their spectra are left out (counted in the report).
* ``max_other_spectra`` caps the "other" class by drawing whole compounds at random (MS/MS: MassBank holds
  ~70,000 "other" spectra), so training stays fast; every spectrum of the named drug classes is kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["KINDS", "TrainingData", "ensure_labels", "select_kind", "prepare"]

logger = logging.getLogger(__name__)

KINDS = ("ei", "msms")
LABEL_COLUMN = "chem_class"


@dataclass
class TrainingData:
    """Spectra, labels and compound groups of one model, and what was left out.

    Attributes
    ----------
    library : SpectralLibrary
        The selected spectra (in memory).
    y : ndarray of str
    groups : ndarray of str
    kind : str
    report : dict
        Counts: selected, unlabelled, rare classes left out, "other" spectra capped.
    """

    library: Any
    y: np.ndarray
    groups: np.ndarray
    kind: str
    report: dict[str, Any] = field(default_factory=dict)


def ensure_labels(library: Any, n_jobs: int | None = None, save: bool = True) -> np.ndarray:
    """Return the library's ``chem_class`` column, computing it with :mod:`nps_id.chem` if missing."""
    if LABEL_COLUMN not in library.columns:
        from nps_id.chem.labels import label_library

        logger.info("labelling %d spectra by structure (nps_id.chem) ...", len(library))
        label_library(library, n_jobs=n_jobs, save=save)
    return np.asarray(library.column(LABEL_COLUMN)).astype(str)


def select_kind(library: Any, kind: str) -> np.ndarray:
    """Boolean mask of the spectra the `kind` ("ei" or "msms") model uses (by the technique router)."""
    from nps_id.spectra.technique import MODEL_KIND, route_columns

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    techniques, _ = route_columns(library)
    wanted = [t for t, k in MODEL_KIND.items() if k == kind]
    return np.isin(techniques, wanted)


def prepare(
    library: Any,
    kind: str,
    min_compounds: int = 3,
    max_other_spectra: int | None = None,
    random_state: int = 0,
    n_jobs: int | None = None,
    save_labels: bool = True,
) -> TrainingData:
    """Select, label and group the spectra of one model (see the module docstring for the rules).

    Parameters
    ----------
    library : SpectralLibrary
    kind : {"ei", "msms"}
    min_compounds : int, default 3
        Smallest number of compounds a class needs to be kept.
    max_other_spectra : int, optional
        Cap on the "other" class (whole compounds drawn at random).
    random_state : int, default 0
    n_jobs : int, optional
        Worker processes for labelling.
    save_labels : bool, default True
        Store computed labels in the library file.
    """
    from nps_id.models.evaluation import compound_groups

    labels = ensure_labels(library, n_jobs=n_jobs, save=save_labels)
    mask = select_kind(library, kind)
    report: dict[str, Any] = {"kind": kind, "spectra_of_kind": int(mask.sum())}
    unlabelled = mask & np.isin(labels, ["", "invalid"])
    report["left_out_no_structure"] = int(unlabelled.sum())
    mask &= ~unlabelled
    idx = np.flatnonzero(mask)
    y = labels[idx]
    smiles = np.asarray(library.column("smiles"))[idx] if "smiles" in library.columns else np.full(idx.size, "")
    iks = np.asarray(library.column("inchikey"))[idx] if "inchikey" in library.columns else np.full(idx.size, "")
    deriv = np.asarray(library.column("is_derivative"))[idx] if "is_derivative" in library.columns else None
    groups = compound_groups(None, smiles=smiles, inchikeys=iks, derivative=deriv)
    keep = np.ones(idx.size, dtype=bool)
    rare: dict[str, int] = {}
    for c in np.unique(y):
        n_comp = np.unique(groups[y == c]).size
        if n_comp < int(min_compounds):
            rare[str(c)] = int((y == c).sum())
            keep &= y != c
    report["left_out_rare_classes"] = rare
    if max_other_spectra is not None:
        other = keep & (y == "other")
        if other.sum() > int(max_other_spectra):
            rng = np.random.default_rng(random_state)
            comps = rng.permutation(np.unique(groups[other]))
            counts = {g: 0 for g in comps}
            for g in groups[other]:
                counts[g] += 1
            chosen, total = [], 0
            for g in comps:
                if total >= int(max_other_spectra):
                    break
                chosen.append(g)
                total += counts[g]
            drop = other & ~np.isin(groups, np.asarray(chosen, dtype=object))
            report["left_out_other_capped"] = int(drop.sum())
            keep &= ~drop
    idx, y, groups = idx[keep], y[keep], groups[keep]
    report["n_spectra"] = int(idx.size)
    report["n_compounds"] = int(np.unique(groups).size)
    report["classes"] = {str(c): int((y == c).sum()) for c in np.unique(y)}
    report["class_compounds"] = {str(c): int(np.unique(groups[y == c]).size) for c in np.unique(y)}
    logger.info(
        "%s: %d spectra of %d compounds in %d classes (left out: %d without structure, rare classes %s)",
        kind, idx.size, report["n_compounds"], len(report["classes"]), report["left_out_no_structure"], rare or "none",
    )
    return TrainingData(library.select(idx), y.astype(str), groups, kind, report)
