"""Molecular fingerprints as a scikit-learn transformer, and Tanimoto similarity search.

:class:`FingerprintTransformer` turns structures (SMILES, InChI, molblocks or RDKit molecules) into a
fingerprint matrix with RDKit's ``rdFingerprintGenerator``. RDKit generators cannot be pickled, so the
estimator keeps only its parameters and builds a generator inside each ``transform`` call (cheap); that
is also what lets ``n_jobs`` workers each build their own.

Kinds
-----
============  ====================================================  ============
kind          what                                                  count form
============  ====================================================  ============
``morgan``    Morgan / ECFP (``radius`` 2 is ECFP4)                 yes
``fcfp``      Morgan on pharmacophoric feature invariants (FCFP)    yes
``atompair``  atom pairs                                            yes
``torsion``   topological torsions                                  yes
``rdkit``     RDKit path fingerprint (paths of 1..``max_path`` bonds)  yes
``maccs``     the 167 MACCS keys                                    no
============  ====================================================  ============
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator, rdMolDescriptors
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from nps_id.chem.structure import quiet_rdkit, read_structure, standardize
from nps_id.errors import ChemistryError

__all__ = ["KINDS", "FingerprintTransformer", "fingerprint_generator", "bit_vectors", "tanimoto_search",
           "tanimoto_matrix"]

#: fingerprint kinds understood by :class:`FingerprintTransformer`
KINDS: tuple[str, ...] = ("morgan", "fcfp", "atompair", "torsion", "rdkit", "maccs")
_MACCS_BITS = 167


def fingerprint_generator(
    kind: str = "morgan",
    *,
    n_bits: int = 2048,
    radius: int = 2,
    max_path: int = 7,
    include_chirality: bool = False,
) -> Any:
    """Build an RDKit fingerprint generator (``None`` for ``"maccs"``, which has no generator).

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    n_bits : int
        Fingerprint length.
    radius : int
        Morgan/FCFP radius.
    max_path : int
        Longest path for ``"rdkit"``.
    include_chirality : bool
        Let chirality change the bits (Morgan, FCFP, atom pair, torsion).

    Raises
    ------
    ValueError
        For an unknown kind.
    """
    if kind == "morgan":
        return rdFingerprintGenerator.GetMorganGenerator(
            radius=radius, fpSize=n_bits, includeChirality=include_chirality)
    if kind == "fcfp":
        return rdFingerprintGenerator.GetMorganGenerator(
            radius=radius, fpSize=n_bits, includeChirality=include_chirality,
            atomInvariantsGenerator=rdFingerprintGenerator.GetMorganFeatureAtomInvGen())
    if kind == "atompair":
        return rdFingerprintGenerator.GetAtomPairGenerator(fpSize=n_bits, includeChirality=include_chirality)
    if kind == "torsion":
        return rdFingerprintGenerator.GetTopologicalTorsionGenerator(
            fpSize=n_bits, includeChirality=include_chirality)
    if kind == "rdkit":
        return rdFingerprintGenerator.GetRDKitFPGenerator(maxPath=max_path, fpSize=n_bits)
    if kind == "maccs":
        return None
    raise ValueError(f"Unknown fingerprint kind {kind!r}; choose one of {', '.join(KINDS)}.")


def _as_structures(X: Any) -> list[Any]:
    """Flatten X (list, 1-D array, or a 2-D array with one column) into a list of structures."""
    if isinstance(X, (str, Chem.Mol)):
        raise ChemistryError("Expected a sequence of structures, got a single one; wrap it in a list.")
    if hasattr(X, "to_numpy"):  # pandas Series / DataFrame
        X = X.to_numpy()
    arr = np.asarray(X, dtype=object) if not isinstance(X, np.ndarray) else X
    if arr.ndim == 2:
        if arr.shape[1] != 1:
            raise ValueError(
                f"Expected structures in one column, got an array of shape {arr.shape}; "
                "pass a 1-D sequence of SMILES or a single column.")
        arr = arr[:, 0]
    elif arr.ndim != 1:
        raise ValueError(f"Expected a 1-D sequence of structures, got an array of shape {arr.shape}.")
    items = list(arr)
    for i, item in enumerate(items):
        if not isinstance(item, (str, Chem.Mol)):
            raise ValueError(
                f"Item {i} is a {type(item).__name__}, not a structure: pass SMILES, InChI, molblocks or "
                "RDKit molecules.")
    return items


def _to_mol(item: str | Chem.Mol, index: int, do_standardize: bool) -> Chem.Mol | None:
    try:
        mol = item if isinstance(item, Chem.Mol) else read_structure(item)
        return standardize(mol) if do_standardize else mol
    except ChemistryError:
        return None


def _fingerprint_rows(items: Sequence[Any], params: dict[str, Any]) -> tuple[np.ndarray, list[int]]:
    """Fingerprint a chunk of structures; returns the matrix and the indices that failed to parse."""
    kind, counts = params["kind"], params["counts"]
    gen = fingerprint_generator(kind, n_bits=params["n_bits"], radius=params["radius"],
                                max_path=params["max_path"], include_chirality=params["include_chirality"])
    width = _MACCS_BITS if kind == "maccs" else params["n_bits"]
    out = np.zeros((len(items), width), dtype=np.uint32 if counts else np.uint8)
    failed = []
    with quiet_rdkit():
        for i, item in enumerate(items):
            mol = _to_mol(item, i, params["standardize"])
            if mol is None:
                failed.append(i)
                continue
            if kind == "maccs":
                fp = rdMolDescriptors.GetMACCSKeysFingerprint(mol)
                row = np.zeros(width, dtype=np.uint8)
                DataStructs.ConvertToNumpyArray(fp, row)
                out[i] = row
            elif counts:
                out[i] = gen.GetCountFingerprintAsNumPy(mol)
            else:
                out[i] = gen.GetFingerprintAsNumPy(mol)
    return out, failed


class FingerprintTransformer(TransformerMixin, BaseEstimator):
    """Structures -> fingerprint matrix (scikit-learn transformer over ``rdFingerprintGenerator``).

    Parameters
    ----------
    kind : {"morgan", "fcfp", "atompair", "torsion", "rdkit", "maccs"}, default "morgan"
        Fingerprint kind (see the module docstring).
    n_bits : int, default 2048
        Fingerprint length (ignored for ``"maccs"``, which has 167 keys).
    radius : int, default 2
        Morgan/FCFP radius.
    counts : bool, default False
        Count fingerprint (uint32) instead of bits (uint8). Not available for ``"maccs"``.
    max_path : int, default 7
        Longest path for ``"rdkit"``.
    include_chirality : bool, default False
        Let chirality change the fingerprint.
    standardize : bool, default True
        Standardise structures first (largest fragment, neutralised).
    on_error : {"raise", "zeros"}, default "raise"
        What to do with a structure that cannot be parsed: raise
        :class:`~nps_id.errors.ChemistryError` naming its position, or give it a row of zeros.
    n_jobs : int, optional
        Worker processes for ``transform`` (joblib; ``None`` = 1, ``-1`` = all cores).

    Attributes
    ----------
    n_features_out_ : int
        Number of output columns.

    Examples
    --------
    >>> fp = FingerprintTransformer(kind="morgan", n_bits=1024)
    >>> fp.fit_transform(["CCO", "c1ccccc1"]).shape
    (2, 1024)
    """

    def __init__(
        self,
        kind: str = "morgan",
        n_bits: int = 2048,
        radius: int = 2,
        counts: bool = False,
        max_path: int = 7,
        include_chirality: bool = False,
        standardize: bool = True,
        on_error: str = "raise",
        n_jobs: int | None = None,
    ) -> None:
        self.kind = kind
        self.n_bits = n_bits
        self.radius = radius
        self.counts = counts
        self.max_path = max_path
        self.include_chirality = include_chirality
        self.standardize = standardize
        self.on_error = on_error
        self.n_jobs = n_jobs

    def _validate_params_(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Unknown fingerprint kind {self.kind!r}; choose one of {', '.join(KINDS)}.")
        if self.kind == "maccs" and self.counts:
            raise ValueError("MACCS keys have no count form; use counts=False or another kind.")
        if not isinstance(self.n_bits, (int, np.integer)) or self.n_bits < 1:
            raise ValueError(f"n_bits must be a positive integer, got {self.n_bits!r}.")
        if not isinstance(self.radius, (int, np.integer)) or self.radius < 0:
            raise ValueError(f"radius must be a non-negative integer, got {self.radius!r}.")
        if not isinstance(self.max_path, (int, np.integer)) or self.max_path < 1:
            raise ValueError(f"max_path must be a positive integer, got {self.max_path!r}.")
        if self.on_error not in ("raise", "zeros"):
            raise ValueError(f"on_error must be 'raise' or 'zeros', got {self.on_error!r}.")

    def fit(self, X: Any, y: Any = None) -> FingerprintTransformer:
        """Check the parameters and the input; nothing is learnt from the data.

        Parameters
        ----------
        X : sequence of str or rdkit.Chem.Mol, or array of shape (n_samples, 1)
            Structures.
        y : ignored

        Returns
        -------
        self
        """
        self._validate_params_()
        items = _as_structures(X)
        if not items:
            raise ValueError("Found array with 0 sample(s) (shape=(0,)) while a minimum of 1 is required.")
        self.n_features_out_ = _MACCS_BITS if self.kind == "maccs" else int(self.n_bits)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Fingerprint the structures.

        Parameters
        ----------
        X : sequence of str or rdkit.Chem.Mol, or array of shape (n_samples, 1)
            Structures.

        Returns
        -------
        numpy.ndarray of shape (n_samples, n_features_out_)
            uint8 bits, or uint32 counts when ``counts=True``.

        Raises
        ------
        ChemistryError
            If a structure cannot be parsed and ``on_error="raise"``.
        """
        check_is_fitted(self, "n_features_out_")
        self._validate_params_()
        items = _as_structures(X)
        params = self.get_params()
        n_jobs = 1 if self.n_jobs is None else int(self.n_jobs)
        if n_jobs == 1 or len(items) < 64:
            out, failed = _fingerprint_rows(items, params)
        else:
            from joblib import Parallel, delayed, effective_n_jobs

            n_chunks = min(len(items), 4 * effective_n_jobs(n_jobs))
            bounds = np.linspace(0, len(items), n_chunks + 1).astype(int)
            parts = Parallel(n_jobs=n_jobs)(
                delayed(_fingerprint_rows)(items[a:b], params) for a, b in zip(bounds[:-1], bounds[1:]))
            out = np.concatenate([p[0] for p in parts])
            failed = [a + i for (a, _), p in zip(zip(bounds[:-1], bounds[1:]), parts) for i in p[1]]
        if failed and self.on_error == "raise":
            shown = items[failed[0]]
            shown = shown if isinstance(shown, str) else "<molecule>"
            raise ChemistryError(
                f"{len(failed)} structure(s) could not be parsed, the first at position {failed[0]}: "
                f"{shown!r}. Fix or drop them, or use on_error='zeros'.")
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the output columns, e.g. ``morgan_0 ... morgan_2047``."""
        check_is_fitted(self, "n_features_out_")
        return np.asarray([f"{self.kind}_{i}" for i in range(self.n_features_out_)], dtype=object)

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.one_d_array = True
        tags.transformer_tags.preserves_dtype = []
        return tags


def bit_vectors(structures: Iterable[str | Chem.Mol], *, kind: str = "morgan", n_bits: int = 2048,
                radius: int = 2) -> list[Any]:
    """RDKit bit vectors of several structures, for :func:`DataStructs.BulkTanimotoSimilarity`.

    Raises
    ------
    ChemistryError
        If a structure cannot be parsed.
    """
    gen = fingerprint_generator(kind, n_bits=n_bits, radius=radius)
    fps = []
    with quiet_rdkit():
        for s in structures:
            mol = standardize(s)
            fps.append(rdMolDescriptors.GetMACCSKeysFingerprint(mol) if gen is None else gen.GetFingerprint(mol))
    return fps


def tanimoto_search(
    query: str | Chem.Mol,
    targets: Sequence[str | Chem.Mol] | Sequence[Any],
    *,
    top_k: int = 5,
    kind: str = "morgan",
    n_bits: int = 2048,
    radius: int = 2,
) -> list[tuple[int, float]]:
    """Most similar structures of ``targets`` to ``query`` by Tanimoto similarity.

    Parameters
    ----------
    query : str or rdkit.Chem.Mol
        The query structure.
    targets : sequence
        Structures (SMILES, molecules) or bit vectors already made by :func:`bit_vectors` with the same
        settings (pass those when searching the same set many times).
    top_k : int, default 5
        How many hits to return.
    kind, n_bits, radius
        Fingerprint settings (see :func:`fingerprint_generator`).

    Returns
    -------
    list of (int, float)
        ``(index into targets, similarity)``, most similar first; ties keep target order.
    """
    if len(targets) == 0:
        return []
    fps = targets if isinstance(targets[0], DataStructs.ExplicitBitVect) else bit_vectors(
        targets, kind=kind, n_bits=n_bits, radius=radius)
    (qfp,) = bit_vectors([query], kind=kind, n_bits=n_bits, radius=radius)
    sims = np.asarray(DataStructs.BulkTanimotoSimilarity(qfp, fps))
    order = np.argsort(-sims, kind="stable")[:top_k]
    return [(int(i), float(sims[i])) for i in order]


def tanimoto_matrix(A: np.ndarray, B: np.ndarray | None = None) -> np.ndarray:
    """Tanimoto similarity between the rows of two bit (0/1) or count matrices, vectorised.

    For bits this is ``|a & b| / |a | b|``; for counts the min/max generalisation
    ``sum(min) / sum(max)`` is *not* used, the dot-product form ``a.b / (a.a + b.b - a.b)`` is
    (equal to the bit form on 0/1 data).

    Parameters
    ----------
    A : numpy.ndarray of shape (n, d)
    B : numpy.ndarray of shape (m, d), optional
        Defaults to ``A``.

    Returns
    -------
    numpy.ndarray of shape (n, m), float64
        Two empty fingerprints have similarity 0.
    """
    A = np.asarray(A, dtype=np.float64)
    B = A if B is None else np.asarray(B, dtype=np.float64)
    if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[1]:
        raise ValueError(f"Expected two 2-D matrices with the same number of columns, got {A.shape} and {B.shape}.")
    dot = A @ B.T
    denom = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - dot
    with np.errstate(invalid="ignore", divide="ignore"):
        sim = np.where(denom > 0, dot / denom, 0.0)
    return sim
