"""Identity probability: how likely the best library hit *is* the query's compound.

A match factor alone is no identity: positional isomers and homologues of fentanyl reach MF 850-920 against each
other. In the spirit of NIST MS Search's "Prob", :class:`IdentityModel` turns the evidence of one search into a
calibrated probability that the best hit is the same compound as the query:

``score``
    the best hit's score (0-1; NIST composite for GC-EI, entropy similarity for MS/MS);
``gap``
    that score minus the best score of a hit of a *different* compound (0 when the top hits are all of the
    same compound as the best);
``gap_formula``
    that score minus the best score of a hit of another molecular formula (the gap beyond the best hit's
    isomers);
``reverse``
    the reverse match factor of the best hit (only query peaks present in the reference count; GC-EI only,
    the score itself for MS/MS);
``log_peaks``
    log(1 + number of query peaks): a 3-peak spectrum is weak evidence whatever its score;
``precursor_match``
    MS/MS: 1 when the precursor m/z of query and best hit agree within 0.02 Da, else 0 (an open search finds a
    compound's metabolites and homologues by their shared fragments; an identity needs the same precursor);
    1 for GC-EI (no precursor).

One logistic model per technique (GC-EI, MS/MS), fitted on the real data by
:func:`nps_id.models.identity_data.identity_training_data` (compound-grouped: replicate spectra of library compounds
are positives, spectra whose compound was removed from the library are negatives). The fitted state is a few
numbers, stored as JSON in the model folder.

What counts as "the same compound" (:func:`compound_keys`): the structure's InChIKey connectivity block, with
isotope-labelled standards (fentanyl-d5) and derivatives (TMS, TFA, ...) as compounds of their own; stereoisomers
are one compound (GC-EI and CID spectra do not tell enantiomers apart). A reference without a structure is known
by its name.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

__all__ = ["FEATURES", "IdentityModel", "compound_keys", "identity_keys", "identity_features"]

#: the features, in order
FEATURES: tuple[str, ...] = ("score", "gap", "gap_formula", "reverse", "log_peaks", "precursor_match")

_ISOTOPE = re.compile(r"\[\d+[A-Z][a-z]?[@\]H+\-:\d]")
_TRUE = {"true", "1", "yes", "y", "t"}


def identity_keys(library: Any) -> tuple[np.ndarray, np.ndarray]:
    """The identification keys of every spectrum of a library (see the module docstring).

    Returns
    -------
    compound : ndarray of str
        ``"IK:<connectivity block>"``, with ``":iso:<second block>"`` for isotope-labelled standards (d5 and d8
        are different standards), ``":deriv"`` for flagged derivatives and ``":heavier"`` for spectra with ions
        above the structure's mass (unflagged derivatives); a record without a structure takes the key of a record
        of the same name that has one, else ``"NAME:<name>"``, else ``"ROW:<i>"``. Records of one name share one
        key even where their structures differ (tautomers drawn differently, salt forms).
    formula : ndarray of str
        The molecular formula with the same suffixes ("" where unknown): two different compounds of one formula
        key are isomers.
    """
    n = len(library)
    cols = set(library.columns)

    def col(name: str) -> np.ndarray:
        return np.asarray(library.column(name)).astype(str) if name in cols else np.full(n, "", dtype=object).astype(str)

    iks, smiles, names, formulas = col("inchikey"), col("smiles"), col("name"), col("formula")
    iso_flag, deriv_flag = col("is_isotope_labelled"), col("is_derivative")
    iso = np.array([f.strip().lower() in _TRUE or bool(_ISOTOPE.search(sm)) for f, sm in zip(iso_flag, smiles)],
                   dtype=bool)
    # a labelled standard's key comes from its own structure: sources often give the unlabelled parent's InChIKey
    need = np.flatnonzero(((iks == "") | iso) & (smiles != ""))
    if need.size:
        from nps_id.chem.structure import inchikey as to_inchikey
        from nps_id.chem.structure import to_mol

        iks = iks.astype(object)
        for i in need:
            try:
                iks[i] = to_inchikey(to_mol(smiles[i])) or iks[i]
            except Exception:  # an unparsable structure: keep what the record says
                pass
        iks = iks.astype(str)
    heavy = _peaks_above_mass(library, col("exact_mass"))
    compound = np.empty(n, dtype=object)
    formula = np.empty(n, dtype=object)
    by_name: dict[str, set[int]] = {}
    for i in range(n):
        suffix = ""
        if iso[i]:
            parts = iks[i].split("-")
            suffix += ":iso:" + (parts[1] if len(parts) > 1 else "")
        if deriv_flag[i].strip().lower() in _TRUE:
            suffix += ":deriv"
        elif heavy[i]:
            suffix += ":heavier"
        formula[i] = (formulas[i].strip() + suffix) if formulas[i].strip() else ""
        if iks[i]:
            compound[i] = "IK:" + iks[i].split("-")[0] + suffix
            by_name.setdefault(_norm_name(names[i]), set()).add(i)
        else:
            compound[i] = ""
    suffixes = np.array([k[len("IK:") + 14:] if k.startswith("IK:") else "" for k in compound], dtype=object)
    compound = _merge_same_name(compound, names, suffixes)
    for i in np.flatnonzero(compound == ""):
        name = _norm_name(names[i])
        linked = {compound[j] for j in by_name.get(name, ())}
        if len(linked) == 1:
            compound[i] = next(iter(linked))
        else:
            compound[i] = f"NAME:{name}" if name else f"ROW:{i}"
    return compound.astype(str), formula.astype(str)


def _merge_same_name(compound: np.ndarray, names: np.ndarray, suffixes: np.ndarray) -> np.ndarray:
    """One key for records of one name whose structures differ (tautomers drawn differently, a salt form, a
    record's structure drawn with another's stereo): the name says it is one compound. Standards and derivatives
    (key suffixes) stay apart."""
    parent: dict[str, str] = {}

    def find(k: str) -> str:
        while parent.get(k, k) != k:
            k = parent[k]
        return k

    first: dict[tuple[str, str], str] = {}
    for k, n, f in zip(compound, names, suffixes):
        if not k or len(n.strip()) < 4:
            continue
        pair = (_norm_name(n), f)
        if pair in first:
            a, b = find(first[pair]), find(k)
            if a != b:
                parent[max(a, b)] = min(a, b)
        else:
            first[pair] = k
    if not parent:
        return compound
    return np.array([find(k) if k else k for k in compound], dtype=object)


def compound_keys(library: Any) -> np.ndarray:
    """The compound key of every spectrum (the first array of :func:`identity_keys`)."""
    return identity_keys(library)[0]


_PAREN = re.compile(r"\s*\((?:not certified|not cert)[^)]*\)\s*", re.I)


def _norm_name(name: str) -> str:
    """A name for matching records of one compound: case-folded, certification notes removed."""
    return _PAREN.sub(" ", name).strip().casefold()


def _peaks_above_mass(library: Any, exact_mass: np.ndarray, margin: float = 3.5, min_relative: float = 0.01) -> np.ndarray:
    """Spectra without a precursor that hold a peak (>= 1 % of the base peak) above the structure's mass + 3.5 Da.

    Such a spectrum cannot be of the structure it carries (an EI ion is never heavier than the molecule, isotopes
    aside): most are unflagged derivatives (TMS, MeOx) of metabolomics GC-MS libraries. They are kept apart from
    the compound's genuine spectra (key suffix ``:heavier``).
    """
    from nps_id.spectra.search._peaks import as_peak_table, segment_ids

    n = len(library)
    mass = np.full(n, np.nan)
    given = np.char.str_len(exact_mass.astype(str)) > 0
    with np.errstate(invalid="ignore"):
        mass[given] = np.array([_float(v) for v in exact_mass[given]])
    table = as_peak_table(library)
    if table.mz.size == 0:
        return np.zeros(n, dtype=bool)
    seg = segment_ids(table.offsets)
    inten = np.asarray(table.intensity, dtype=np.float64)
    base = np.zeros(n)
    np.maximum.at(base, seg, inten)
    strong = inten >= min_relative * base[seg]
    top = np.full(n, -np.inf)
    np.maximum.at(top, seg[strong], table.mz[strong])
    no_prec = ~np.isfinite(np.asarray(table.precursor_mz, dtype=np.float64))
    return no_prec & np.isfinite(mass) & (top > mass + margin)


def _float(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def identity_features(indices: np.ndarray, scores: np.ndarray, keys: np.ndarray, formulas: np.ndarray,
                      reverse: np.ndarray, n_peaks: np.ndarray, precursor_delta: np.ndarray | None = None) -> np.ndarray:
    """The feature matrix (:data:`FEATURES`) of queries from their top-k hits (vectorised).

    Parameters
    ----------
    indices, scores : ndarray [n_queries, k]
        Library rows (-1: none) and scores of each query's hits, best first.
    keys, formulas : ndarray of str
        :func:`identity_keys` of the library.
    reverse : ndarray [n_queries]
        Reverse score of the best hit (NaN: use the score).
    n_peaks : ndarray [n_queries]
        Peaks of each processed query.
    precursor_delta : ndarray [n_queries], optional
        Query precursor m/z minus the best hit's (NaN where either has none, as for GC-EI).

    Returns
    -------
    ndarray [n_queries, 6]; rows of queries without a hit are all zero.
    """
    indices = np.asarray(indices)
    n = indices.shape[0]
    if indices.ndim != 2 or indices.shape[1] == 0:
        return np.zeros((n, len(FEATURES)))
    s = np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=0.0)
    valid = indices >= 0
    safe = np.maximum(indices, 0)
    hit_keys = np.where(valid, keys[safe], "")
    hit_formulas = np.where(valid, formulas[safe], "")
    other = valid & (hit_keys != hit_keys[:, :1])
    # a hit of another formula; where the best hit's formula is unknown, any other compound counts
    other_formula = other & ((hit_formulas != hit_formulas[:, :1]) | (hit_formulas[:, :1] == ""))
    s1 = s[:, 0]
    gap = s1 - np.where(other, s, 0.0).max(axis=1)
    gap_formula = s1 - np.where(other_formula, s, 0.0).max(axis=1)
    rev = np.where(np.isfinite(reverse), reverse, s1)
    delta = np.full(n, np.nan) if precursor_delta is None else np.asarray(precursor_delta, dtype=np.float64)
    match = np.where(np.isfinite(delta), (np.abs(delta) <= 0.02).astype(np.float64), 1.0)
    X = np.column_stack([s1, np.maximum(gap, 0.0), np.maximum(gap_formula, 0.0), rev,
                         np.log1p(np.asarray(n_peaks, dtype=np.float64)), match])
    X[~valid[:, 0]] = 0.0
    return X


class IdentityModel(ClassifierMixin, BaseEstimator):
    """Calibrated probability that the best hit is the query's compound (logistic model on :data:`FEATURES`).

    Parameters
    ----------
    C : float, default 1.0
        Inverse regularisation strength of the logistic regression.

    Attributes
    ----------
    classes_ : ndarray [False, True]
    mean_, scale_ : ndarray
        Feature standardisation.
    coef_ : ndarray [n_features]
    intercept_ : float
    threshold_ : float or None
        The default decision threshold, set by :func:`~nps_id.models.identity_data.fit_identity_model` from the
        cross-fitted curve of its training data (None when fitted directly).
    """

    def __init__(self, C: float = 1.0) -> None:
        self.C = C

    def _design(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        # the score enters also through its logit-like tail: identity evidence grows steeply near 1
        return np.column_stack([X, -np.log1p(1e-3 - np.minimum(X[:, :1], 1.0))])

    def fit(self, X: np.ndarray, y: np.ndarray) -> "IdentityModel":
        """Fit on features `X` (:func:`identity_features`) and labels `y` (True: the best hit is the compound)."""
        from sklearn.linear_model import LogisticRegression

        D = self._design(X)
        y = np.asarray(y).astype(bool)
        if np.unique(y).size < 2:
            raise ValueError("identity training data need both true and false identifications")
        self.mean_ = D.mean(axis=0)
        self.scale_ = np.where(D.std(axis=0) > 0, D.std(axis=0), 1.0)
        lr = LogisticRegression(C=self.C, max_iter=2000).fit((D - self.mean_) / self.scale_, y)
        self.coef_ = lr.coef_[0].astype(np.float64)
        self.intercept_ = float(lr.intercept_[0])
        self.classes_ = np.array([False, True])
        self.n_features_in_ = int(np.asarray(X).shape[1])
        self.threshold_: float | None = None
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "coef_")
        return ((self._design(X) - self.mean_) / self.scale_) @ self.coef_ + self.intercept_

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """[P(not the compound), P(the compound)] per query; 0 where a query has no hit (all-zero row)."""
        X = np.asarray(X, dtype=np.float64)
        p = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        p = np.where(np.all(X == 0, axis=1), 0.0, p)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.predict_proba(X)[:, 1] >= 0.5

    # ------------------------------------------------------------------ storage (plain JSON, no pickle)
    def to_state(self) -> dict[str, Any]:
        """The fitted model as JSON-able numbers."""
        return {"C": self.C, "features": list(FEATURES), "mean": self.mean_.tolist(), "scale": self.scale_.tolist(),
                "coef": self.coef_.tolist(), "intercept": self.intercept_, "threshold": self.threshold_}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "IdentityModel":
        """Rebuild a fitted model from :meth:`to_state` (checks the feature list and shapes)."""
        if list(state.get("features", [])) != list(FEATURES):
            raise ValueError(f"identity model features {state.get('features')} differ from {list(FEATURES)}")
        m = cls(C=float(state["C"]))
        m.mean_ = np.asarray(state["mean"], dtype=np.float64)
        m.scale_ = np.asarray(state["scale"], dtype=np.float64)
        m.coef_ = np.asarray(state["coef"], dtype=np.float64)
        m.intercept_ = float(state["intercept"])
        t = state.get("threshold")
        m.threshold_ = None if t is None else float(t)
        if not (m.mean_.shape == m.scale_.shape == m.coef_.shape == (len(FEATURES) + 1,)):
            raise ValueError("identity model state has the wrong shape")
        m.classes_ = np.array([False, True])
        m.n_features_in_ = len(FEATURES)
        return m
