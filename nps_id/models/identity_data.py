"""Real training data for the identity probability: true and false identifications, compound-grouped.

For one technique of a library (:func:`identity_training_data`), the compounds (:func:`~nps_id.models.identity.compound_keys`)
are split into folds. For each fold:

*absent* queries
    every spectrum of the fold's compounds (at most ``max_queries``, drawn at random), searched against the
    library **without** those compounds: whatever the best hit is, it is another compound (a false identification
    if the verdict said "identified");
*replicate* queries
    for each of the fold's compounds with two or more spectra, one spectrum, searched against the library that
    still holds the compound's other spectra (a genuine replicate: another measurement of the same compound).
    The label is whether the best hit is that compound.

Both go through the same search as ``classify`` (:class:`~nps_id.spectra.search.routed.RoutedIndex`: technique
routing, the library's query processing, nominal mass for GC-EI) and the same features
(:func:`~nps_id.models.identity.identity_features`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["IdentityData", "identity_training_data", "first_per_compound", "search_features", "precursor_delta",
           "fit_identity_model", "cross_fitted",
           "choose_thresholds", "N_HITS", "TARGET_FALSE_RATE"]

logger = logging.getLogger(__name__)

#: hits per query looked at for the features (the gap to another compound)
N_HITS = 20
#: the default thresholds keep false identifications of absent compounds (and wrong isomer verdicts) at or under
#: this rate in the cross-fitted training data
TARGET_FALSE_RATE = 0.005


@dataclass
class IdentityData:
    """Features and labels of true/false identifications.

    Attributes
    ----------
    X : ndarray [n, 4]
    y : ndarray of bool
        True where the best hit is the query's compound.
    y_isomer : ndarray of bool
        True where the best hit is the query's compound or an isomer of it (same formula key).
    replicate : ndarray of bool
        True for replicate queries (the compound is in the searched library), False for absent ones.
    fold : ndarray of int
    report : dict
        Counts per kind of query.
    """

    X: np.ndarray
    y: np.ndarray
    y_isomer: np.ndarray
    replicate: np.ndarray
    fold: np.ndarray
    report: dict[str, Any] = field(default_factory=dict)


def first_per_compound(order: np.ndarray, key_index: np.ndarray) -> np.ndarray:
    """The first spectrum of each compound in `order` (rows; a random permutation draws one at random), vectorised.

    `key_index` gives each row's compound as an integer (``np.unique(..., return_inverse=True)``).
    """
    order = np.asarray(order, dtype=np.int64)
    _, at = np.unique(key_index[order], return_index=True)
    return order[at]


def search_features(index: Any, spectra: list[Any], keys: np.ndarray, formulas: np.ndarray,
                    k: int = N_HITS) -> tuple[Any, np.ndarray]:
    """Search `spectra` with a :class:`RoutedIndex` and compute the identity features of every query.

    Returns
    -------
    result : RoutedResult
    X : ndarray [n_queries, 4]
        Rows of queries that were not searched are zero.
    """
    from nps_id.models.identity import identity_features

    result = index.search(spectra, k, persist=False)
    reverse = index.reverse_scores(result)
    n_peaks = np.zeros(len(spectra))
    for pos, table, _, _ in result.groups.values():
        n_peaks[pos] = table.n_peaks
    delta = precursor_delta(result, spectra, index.library.precursor_mz)
    return result, identity_features(result.indices, result.scores, keys, formulas, reverse, n_peaks, delta)


def precursor_delta(result: Any, spectra: list[Any], library_precursors: np.ndarray) -> np.ndarray:
    """Query precursor m/z minus the best hit's, per query (NaN where either has none or there is no hit)."""
    q = np.array([np.nan if s.precursor_mz is None else float(s.precursor_mz) for s in spectra], dtype=np.float64)
    hit = result.indices[:, 0]
    lib = np.asarray(library_precursors, dtype=np.float64)
    return np.where(hit >= 0, q - lib[np.maximum(hit, 0)], np.nan)


def identity_training_data(
    library: Any,
    technique: str,
    *,
    n_splits: int = 5,
    max_queries: int = 2000,
    random_state: int = 0,
) -> IdentityData:
    """True and false identifications of `technique` spectra of `library` (see the module docstring).

    Parameters
    ----------
    library : SpectralLibrary
    technique : {"gc_ei", "msms"}
    n_splits : int, default 5
        Compound folds.
    max_queries : int, default 2000
        At most this many absent and this many replicate queries per fold (drawn at random).
    random_state : int, default 0

    Raises
    ------
    ValueError
        If the library holds too few spectra of `technique` or no compound with two spectra.
    """
    from nps_id.models.identity import identity_keys
    from nps_id.spectra.search.routed import RoutedIndex
    from nps_id.spectra.technique import route_columns

    names, _ = route_columns(library)
    rows = np.flatnonzero(names == technique)
    if rows.size < 10:
        raise ValueError(f"the library holds {rows.size} {technique} spectra; too few to calibrate identifications")
    sub = library if rows.size == len(library) else library.select(rows)
    keys, formulas = identity_keys(sub)
    uniq, inv, counts = np.unique(keys.astype(str), return_inverse=True, return_counts=True)
    if not (counts >= 2).any():
        raise ValueError(f"no {technique} compound of the library has two spectra: identifications cannot be calibrated")
    # a spectrum heavier than its structure (an unflagged derivative) is no genuine replicate of anything
    genuine = np.array([not str(u).endswith(":heavier") for u in uniq], dtype=bool)
    replicable = genuine & (counts >= 2)
    rng = np.random.default_rng(random_state)
    fold_of = rng.permutation(uniq.size) % n_splits
    fold = fold_of[inv]
    parts: list[tuple[np.ndarray, np.ndarray, bool, int]] = []
    for f in range(n_splits):
        test = fold == f
        absent_q = np.flatnonzero(test)
        if absent_q.size > max_queries:
            absent_q = np.sort(rng.choice(absent_q, max_queries, replace=False))
        rep_keys = np.flatnonzero((fold_of == f) & replicable)
        if rep_keys.size > max_queries:
            rep_keys = rng.choice(rep_keys, max_queries, replace=False)
        picked = first_per_compound(rng.permutation(len(sub)), inv)  # one spectrum of each compound, at random
        rep_q = np.sort(picked[np.isin(inv[picked], rep_keys)])
        for queries, lib_mask, replicate in ((absent_q, ~test, False),
                                              (rep_q, ~np.isin(np.arange(len(sub)), rep_q), True)):
            if not queries.size or not lib_mask.any():
                continue
            lib_rows = np.flatnonzero(lib_mask)
            index = RoutedIndex(sub.select(lib_rows), store=False)
            result, X = search_features(index, sub.select(queries).to_spectra(), keys[lib_rows], formulas[lib_rows])
            hit = np.maximum(result.indices[:, 0], 0)
            found = result.indices[:, 0] >= 0
            y = found & (keys[lib_rows][hit] == keys[queries])
            y_iso = y | (found & (formulas[queries] != "") & (formulas[lib_rows][hit] == formulas[queries]))
            parts.append((X, y, y_iso, replicate, f))
            logger.debug("identity data %s fold %d: %d %s queries, %d true best hits", technique, f, queries.size,
                        "replicate" if replicate else "absent", int(y.sum()))
    X = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    y_iso = np.concatenate([p[2] for p in parts])
    rep = np.concatenate([np.full(p[0].shape[0], p[3]) for p in parts])
    folds = np.concatenate([np.full(p[0].shape[0], p[4]) for p in parts])
    report = {
        "technique": technique,
        "spectra": int(rows.size),
        "compounds": int(uniq.size),
        "compounds_with_replicates": int(replicable.sum()),
        "compounds_heavier_than_structure": int((~genuine).sum()),
        "replicate_queries": int(rep.sum()),
        "replicate_true_best_hit": int((y & rep).sum()),
        "absent_queries": int((~rep).sum()),
    }
    return IdentityData(X, y, y_iso, rep, folds, report)


def cross_fitted(data: IdentityData) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold probabilities (exact, isomer): each fold's from models fitted on the other folds."""
    from nps_id.models.identity import IdentityModel

    p_exact = np.zeros(data.y.size)
    p_isomer = np.zeros(data.y.size)
    for f in np.unique(data.fold):
        tr, te = data.fold != f, data.fold == f
        if np.unique(data.y[tr]).size < 2 or np.unique(data.y_isomer[tr]).size < 2:
            continue
        p_exact[te] = IdentityModel().fit(data.X[tr], data.y[tr]).predict_proba(data.X[te])[:, 1]
        p_isomer[te] = IdentityModel().fit(data.X[tr], data.y_isomer[tr]).predict_proba(data.X[te])[:, 1]
    return p_exact, np.maximum(p_isomer, p_exact)


def choose_thresholds(data: IdentityData, target: float = TARGET_FALSE_RATE) -> tuple[float, float]:
    """The lowest thresholds (0.05 steps) at which, in the cross-fitted probabilities, absent compounds are
    identified at most `target` of the time, and isomer verdicts on absent compounds of another formula stay at
    most `target`."""
    p_exact, p_isomer = cross_fitted(data)
    absent = ~data.replicate
    grid = np.round(np.arange(0.05, 1.0, 0.05), 2)
    n = max(int(absent.sum()), 1)
    t_exact = next((float(t) for t in grid if (p_exact[absent] >= t).sum() / n <= target), 0.99)
    wrong = absent & ~data.y_isomer
    t_isomer = next((float(t) for t in grid if ((p_isomer >= t) & wrong).sum() / n <= target), 0.99)
    return t_exact, max(t_isomer, 0.05)


def fit_identity_model(library: Any, technique: str, **options: Any) -> tuple[Any, Any, IdentityData]:
    """Fit the two :class:`~nps_id.models.identity.IdentityModel` of `technique` on `library`'s own data: the
    probability that the best hit is the query's compound, and that it is the compound or one of its isomers;
    their default thresholds come from the cross-fitted curve (:func:`choose_thresholds`)."""
    from nps_id.models.identity import IdentityModel

    data = identity_training_data(library, technique, **options)
    exact = IdentityModel().fit(data.X, data.y)
    isomer = IdentityModel().fit(data.X, data.y_isomer)
    exact.threshold_, isomer.threshold_ = choose_thresholds(data)
    data.report["thresholds"] = {"identity": exact.threshold_, "isomer": isomer.threshold_}
    return exact, isomer, data
