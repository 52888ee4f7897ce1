"""Ranking suspect structures against an unknown spectrum: the scores behind
:meth:`SubstructurePredictor.rank_suspects <nps_id.models.substructure.SubstructurePredictor.rank_suspects>`.

A suspect's total score adds three pieces of evidence:

- **fingerprint**: the log-likelihood of the suspect's substructure keys and Morgan bits under the bit
  probabilities the substructure model predicts from the spectrum (mean per bit, times 100);
- **mass** (times the model's ``mass_weight``): a molecular-ion peak at the suspect's nominal mass (GC-EI), or
  the precursor at its [M+H]+ (MS/MS), :func:`mass_scores`;
- **analogue** (times :data:`ANALOGUE_WEIGHT`, only when a library is given): how well the spectra of the suspect's
  nearest library analogues, shifted by the mass difference, explain the unknown (:mod:`nps_id.models.analogue`).

:func:`enumerate_fentanyl_suspects` gives a starting suspect list of fentanyl-like structures.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

__all__ = ["ANALOGUE_WEIGHT", "SuspectHit", "suspect_scores", "mass_scores", "enumerate_fentanyl_suspects"]

#: weight of the analogue evidence (in [0, 1], :mod:`nps_id.models.analogue`) in a suspect's total score, whose
#: fingerprint part is the mean per-bit log-likelihood times 100; chosen on the held-out fentanyl analogues of
#: ``benchmarks/eval_models.py`` (weights 20-100 gave the same median rank there; docs/models.md)
ANALOGUE_WEIGHT = 50.0


class SuspectHit:
    """One suspect of a ranking: rank (1 = best), SMILES, total score and its parts (``analogue_score``: the best
    shifted match of the suspect's library analogues, :mod:`nps_id.models.analogue`; 0 without a library)."""

    __slots__ = ("rank", "smiles", "score", "fingerprint_score", "mass_score", "analogue_score")

    def __init__(self, rank: int, smiles: str, score: float, fingerprint_score: float, mass_score: float,
                 analogue_score: float = 0.0) -> None:
        self.rank = rank
        self.smiles = smiles
        self.score = score
        self.fingerprint_score = fingerprint_score
        self.mass_score = mass_score
        self.analogue_score = analogue_score

    def as_dict(self) -> dict[str, Any]:
        """The hit as a plain dict (for JSON reports)."""
        return {k: getattr(self, k) for k in self.__slots__}

    def __repr__(self) -> str:
        return f"SuspectHit(rank={self.rank}, smiles={self.smiles!r}, score={self.score:.3f})"


def suspect_scores(model: Any, X: Any, smiles_list: Sequence[str], library: Any = None,
                   analogue_weight: float | None = None) -> dict[str, np.ndarray]:
    """Every suspect's score against every spectrum, and its parts (module docstring).

    Parameters
    ----------
    model : SubstructurePredictor
        Fitted.
    X : list of Spectrum or SpectralLibrary
    smiles_list : sequence of str
    library : SpectralLibrary, optional
        Reference spectra with structures for the analogue evidence (its spectra of the model's technique only).
    analogue_weight : float, optional
        Default :data:`ANALOGUE_WEIGHT`.

    Returns
    -------
    dict of ndarray, shape (n_spectra, n_suspects)
        ``total`` (``-inf`` for unparsable suspects), ``fingerprint``, ``mass``, ``analogue`` (0 without library).
    """
    from sklearn.utils.validation import check_is_fitted

    from nps_id.models.features import as_batch
    from nps_id.models.substructure import fingerprint_targets

    check_is_fitted(model, "net_")
    batch = as_batch(X)
    proba = np.clip(model.predict_proba(batch).astype(np.float64), 1e-4, 1 - 1e-4)
    fps, valid = fingerprint_targets(list(smiles_list), int(model.n_morgan))
    fps = fps.astype(np.float64)
    # log-likelihood of each suspect's bits under the predicted Bernoulli probabilities, per bit
    fp_score = (np.log(proba) @ fps.T + np.log1p(-proba) @ (1 - fps).T) / model.n_bits_ * 100.0
    mass = mass_scores(batch, smiles_list, model.mode)
    total = fp_score + float(model.mass_weight) * mass
    analogue = np.zeros_like(total)
    if library is not None:
        analogue = _analogue(model.mode, X, smiles_list, library)
        total = total + float(ANALOGUE_WEIGHT if analogue_weight is None else analogue_weight) * analogue
    total[:, ~valid] = -np.inf
    return {"total": total, "fingerprint": fp_score, "mass": mass, "analogue": analogue}


def _analogue(mode: str, X: Any, smiles_list: Sequence[str], library: Any) -> np.ndarray:
    from nps_id.models.analogue import analogue_evidence
    from nps_id.spectra.technique import MODEL_KIND, route_columns

    names, _ = route_columns(library)
    techniques = [t for t, kind in MODEL_KIND.items() if kind == mode]
    refs = library.select(np.flatnonzero(np.isin(names, techniques)))
    ei = mode == "ei"
    return analogue_evidence(X, refs, smiles_list, nominal=ei, metric="nist" if ei else "cosine")


def mass_scores(batch: Any, smiles_list: Sequence[str], mode: str) -> np.ndarray:
    """Molecular-mass evidence of every suspect for every spectrum (MS/MS: the precursor is [M+H]+ within 0.02;
    GC-EI: a molecular-ion peak at the suspect's nominal mass, 1 at >= 1 % of the base peak, down to 0)."""
    from rdkit.Chem import Descriptors

    from nps_id.models.features import binned_matrix
    from nps_id.models.substructure import _mols, _quiet_rdkit

    inv, mols = _mols(smiles_list)
    with _quiet_rdkit():
        masses = np.array([Descriptors.ExactMolWt(m) if m is not None else np.nan for m in mols])[inv]
    n = len(batch)
    out = np.zeros((n, masses.size))
    if mode == "msms":
        prec = batch.precursor_mz
        diff = np.abs(prec[:, None] - (masses[None, :] + 1.007276))
        out = np.where(np.isfinite(diff), np.where(diff < 0.02, 1.0, np.where(diff < 0.5, 0.0, -2.0)), 0.0)
    else:
        high = int(np.nanmax(masses)) + 2 if np.isfinite(masses).any() else 10
        binned = binned_matrix(batch, max(high, 10), 1.0)  # relative intensity, base peak 1
        nominal = np.where(np.isfinite(masses), np.rint(masses * 0.9995), 0).astype(np.int64)
        present = binned[:, nominal]
        # log evidence of a molecular ion: 0 at >= 1 % of the base peak, down to -2 when absent
        out = np.clip(np.log10(np.maximum(present, 1e-4) / 0.01), -2.0, 0.0) / 2.0 + 1.0
        out[:, ~np.isfinite(masses)] = 0.0
    return out


def enumerate_fentanyl_suspects() -> list[str]:
    """A suspect list of fentanyl-like structures (canonical SMILES), built combinatorially.

    Acyl group x N-substituent of the piperidine x substituent on the anilide ring, on the
    4-anilidopiperidine scaffold: 12 x 7 x 7 = 588 structures (fentanyl itself, acetyl-, butyryl-,
    acryl-, furanyl-, cyclopropyl-, methoxyacetyl-fentanyl, their thienyl / hydroxy / fluoro variants, ...).
    Meant as a starting list; a lab adds its own suspects.
    """
    from rdkit import Chem

    acyl = ["CCC(=O)", "CC(=O)", "CCCC(=O)", "CC(C)C(=O)", "C=CC(=O)", "o1cccc1C(=O)", "C1CC1C(=O)",
            "COCC(=O)", "CCCCC(=O)", "C1CCCC1C(=O)", "c1ccccc1C(=O)", "C1CCOC1C(=O)"]
    nsub = ["CCc2ccccc2", "CCc2cccs2", "CC(O)c2ccccc2", "Cc2ccccc2", "C(C)Cc2ccccc2", "CCc2ccc(F)cc2", "[H]"]
    aryl = ["", "2-F", "3-F", "4-F", "4-Cl", "2-C", "4-OC"]
    out: list[str] = []
    seen: set[str] = set()
    for a in acyl:
        for r in nsub:
            for sub in aryl:
                if sub:
                    pos, grp = sub.split("-")
                    ring = {"2": f"c1ccccc1{grp}", "3": f"c1cccc({grp})c1", "4": f"c1ccc({grp})cc1"}[pos]
                else:
                    ring = "c1ccccc1"
                acyl_smiles = a.replace("1", "9")  # ring-closure digits of the acyl part kept apart
                piperidine_n = f"N({r})" if r != "[H]" else "N"
                smi = f"{acyl_smiles}N({ring})C4CC{piperidine_n}CC4"
                m = Chem.MolFromSmiles(smi)
                if m is None:
                    continue
                can = Chem.MolToSmiles(m)
                if can not in seen:
                    seen.add(can)
                    out.append(can)
    return out
