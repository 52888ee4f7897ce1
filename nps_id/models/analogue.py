"""Analogue evidence for suspect structures: do the spectra of a suspect's nearest library analogues, shifted by
the mass difference, explain the unknown?

A new fentanyl analogue is rarely in a library, but its neighbours are: the compound with one methyl less, the
propionyl instead of the butyryl amide. For every suspect structure, :func:`analogue_evidence` takes the
`n_neighbours` library spectra whose structures are most similar to it (Tanimoto on Morgan bits, radius 2) and
scores the unknown against each of them with the hybrid score of :mod:`nps_id.spectra.search.hybrid` at one fixed
shift, the suspect's mass minus the reference's (nominal masses for GC-EI): peaks match directly, or shifted by
that difference, and the score is weighed by how much of both spectra the matches explain. The evidence of a
suspect is its best neighbour's score, in [0, 1].

The idea is the one of hybrid search turned around: hybrid search asks which reference explains the unknown at some
shift; here each suspect *predicts* the shift, and a suspect whose predicted shift lets an analogue's spectrum
explain the unknown is supported. Wrong suspects of the same mass (positional isomers) get the same shift and are
told apart only by which analogues are their neighbours.

:class:`~nps_id.models.substructure.SubstructurePredictor` adds this evidence to its suspect scores when given a
library (``rank_suspects(spectrum, suspects, library=lib)``). Measured on held-out fentanyl analogues
(``benchmarks/eval_models.py --estimator``, docs/models.md).

The pure piece, :func:`neighbour_shifts`, is tested on its own (``tests/models/test_analogue.py``).
"""

from __future__ import annotations

import logging
from typing import Any, Sequence

import numpy as np

__all__ = ["N_NEIGHBOURS", "structure_bits", "neighbour_shifts", "analogue_evidence"]

logger = logging.getLogger(__name__)

#: library analogues scored per suspect
N_NEIGHBOURS = 20
#: rows of (query, analogue, shift) scored at once (bounds memory: ~40 bytes per peak match)
_ROWS_PER_CHUNK = 400_000


def structure_bits(smiles: Sequence[str], n_bits: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Morgan bits (radius 2) and monoisotopic masses of structures.

    Returns
    -------
    bits : ndarray of uint8, shape (n, n_bits)
        Zero rows where a SMILES does not parse.
    mass : ndarray of float64, shape (n,)
        NaN where a SMILES does not parse.
    """
    from rdkit.Chem import Descriptors

    from nps_id.chem.fingerprints import fingerprint_generator
    from nps_id.models.substructure import _mols, _quiet_rdkit

    inv, mols = _mols(smiles)
    gen = fingerprint_generator("morgan", n_bits=n_bits, radius=2)
    bits = np.zeros((len(mols), n_bits), dtype=np.uint8)
    mass = np.full(len(mols), np.nan)
    with _quiet_rdkit():
        for i, m in enumerate(mols):
            if m is not None:
                bits[i] = gen.GetFingerprintAsNumPy(m)
                mass[i] = Descriptors.ExactMolWt(m)
    return bits[inv], mass[inv]


def neighbour_shifts(suspect_bits: np.ndarray, suspect_mass: np.ndarray, ref_bits: np.ndarray, ref_mass: np.ndarray,
                     n_neighbours: int = N_NEIGHBOURS, nominal: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Each suspect's most similar references and the mass shift to each (a pure function).

    Parameters
    ----------
    suspect_bits, ref_bits : ndarray, shape (n_suspects, n_bits), (n_refs, n_bits)
        Structure bits (:func:`structure_bits`).
    suspect_mass, ref_mass : ndarray
        Monoisotopic masses (NaN: no structure).
    n_neighbours : int
        References per suspect (at most the number of references).
    nominal : bool
        Shifts between nominal masses (GC-EI spectra are matched at nominal mass), else exact differences.

    Returns
    -------
    neighbours : ndarray of int64, shape (n_suspects, m)
        Reference rows, most similar first (ties: lower row first).
    shift : ndarray of float64, shape (n_suspects, m)
        Suspect mass minus reference mass (Da); NaN where either has no mass.
    """
    from nps_id.chem.fingerprints import tanimoto_matrix

    m = min(int(n_neighbours), ref_bits.shape[0])
    if m < 1 or suspect_bits.shape[0] == 0:
        return np.zeros((suspect_bits.shape[0], 0), dtype=np.int64), np.zeros((suspect_bits.shape[0], 0))
    sim = tanimoto_matrix(suspect_bits, ref_bits)
    sim[:, ~np.isfinite(ref_mass)] = -1.0
    neighbours = np.argsort(-sim, axis=1, kind="stable")[:, :m]
    s_mass = np.rint(suspect_mass * 0.9995) if nominal else suspect_mass
    r_mass = np.rint(ref_mass * 0.9995) if nominal else ref_mass
    return neighbours.astype(np.int64), s_mass[:, None] - r_mass[neighbours]


def analogue_evidence(queries: Any, library: Any, smiles_list: Sequence[str], *, n_neighbours: int = N_NEIGHBOURS,
                      nominal: bool = True, metric: str = "nist") -> np.ndarray:
    """Score every suspect against every query by its library analogues' shifted spectra (module docstring).

    Parameters
    ----------
    queries : list of Spectrum, SpectralLibrary or PeakTable
        Unknown spectra of one technique.
    library : SpectralLibrary
        Reference spectra of the same technique with structures (``smiles`` column); rows without a parsable
        structure are not used.
    smiles_list : sequence of str
        The suspects.
    n_neighbours : int, default :data:`N_NEIGHBOURS`
    nominal : bool, default True
        Nominal-mass matching and shifts (GC-EI); False for MS/MS.
    metric : str, default "nist"
        Metric of the hybrid score ("nist" for GC-EI, "cosine" for MS/MS).

    Returns
    -------
    ndarray of float64, shape (n_queries, n_suspects)
        In [0, 1]; 0 for unparsable suspects, queries the library's processing empties, and libraries without
        structures.

    Notes
    -----
    Each call parses the library's structures and indexes its spectra once (about 2 s for 3,000 GC-EI references on
    2 cores; an MS/MS library of 70,000 takes tens of seconds): score many unknowns in one call
    (``score_suspects``) rather than one call per spectrum.
    """
    from nps_id.spectra.search.exact import MetricParams
    from nps_id.spectra.search.hybrid import shifted_scores
    from nps_id.spectra.search.index import SearchIndex

    s_bits, s_mass = structure_bits(list(smiles_list))
    smiles = np.asarray(library.column("smiles")).astype(str) if "smiles" in library.columns else np.full(len(library), "")
    rows = np.flatnonzero(smiles != "")
    n_q = len(queries)
    out = np.zeros((n_q, len(smiles_list)))
    if rows.size == 0 or n_q == 0 or not len(smiles_list):
        return out
    r_bits, r_mass = structure_bits(smiles[rows])
    usable = np.isfinite(r_mass)
    rows, r_bits, r_mass = rows[usable], r_bits[usable], r_mass[usable]
    if rows.size == 0:
        return out
    neighbours, shift = neighbour_shifts(s_bits, s_mass, r_bits, r_mass, n_neighbours, nominal)
    index = SearchIndex(library.select(rows), nominal=nominal)
    qt, kept = index.prepare(queries)
    params = MetricParams(metric)
    per_query = neighbours.size
    ok_shift = np.isfinite(shift).ravel()
    step = max(1, _ROWS_PER_CHUNK // max(per_query, 1))
    for start in range(0, kept.size, step):
        q = np.arange(start, min(start + step, kept.size))
        pq = np.repeat(q, per_query)
        pl = np.tile(neighbours.ravel(), q.size)
        sh = np.tile(np.where(ok_shift, shift.ravel(), 0.0), q.size)
        score = shifted_scores(qt, index.table, pq, pl, sh, params, min_shifted=0, unit=nominal)
        score = np.where(np.tile(ok_shift, q.size), score, 0.0)
        out[kept[q]] = score.reshape(q.size, *neighbours.shape).max(axis=2)
    out[:, ~np.isfinite(s_mass)] = 0.0
    return out
