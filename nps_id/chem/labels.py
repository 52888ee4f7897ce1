"""Label spectra by the structure they carry: class, EWA groups and control status.

:func:`label_smiles` is the core: it takes one SMILES per spectrum and returns label columns. Many
spectra share a structure, so each distinct (SMILES, is-derivative) pair is worked out once and the
answer is spread back. :func:`label_library` does the same for a
:class:`~nps_id.spectra.library.SpectralLibrary` and stores the columns in it.

What a record is labelled as
----------------------------
* no SMILES: every label is "" (unknown), similarity NaN;
* an unparsable SMILES: class ``"invalid"`` and the reason in ``chem_error``;
* a deuterated or 13C-labelled standard: its unlabelled parent (isotope labels are removed);
* a derivative (``is_derivative`` true): its underivatised parent. Silyl groups (TMS, TBDMS) are
  always removed; TFA, PFP, HFB, TPC and acetyl groups only on records flagged as derivatives, since
  acetyl groups belong to many real drugs (a TMS derivative of a cathinone is a cathinone).

``national_status`` is filled only when a national control list is configured (``national_list=`` or
the ``NPS_ID_NATIONAL_LIST`` environment variable; see :func:`nps_id.chem.control.national_status`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["LABEL_COLUMNS", "label_smiles", "label_library"]

log = logging.getLogger(__name__)

#: the columns :func:`label_smiles` returns, in order
LABEL_COLUMNS: tuple[str, ...] = (
    "chem_class",
    "chem_rule",
    "ewa_group",
    "effect_group",
    "control_status",
    "control_note",
    "nearest_controlled",
    "controlled_similarity",
    "fentanyl_related",
    "national_status",
    "chem_error",
)

_TRUE = {"true", "1", "yes", "y", "t"}


def _flag(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    return str(value).strip().lower() in _TRUE


def _label_one(smiles: str, derivative: bool, national: str | None = None) -> tuple:
    from nps_id.chem.classes import classify_mol
    from nps_id.chem.control import _control_labels
    from nps_id.chem.structure import parent_structure
    from nps_id.errors import ChemistryError

    try:
        mol = parent_structure(smiles, derivative=derivative)
    except ChemistryError as exc:
        return ("invalid", "", "", "", "", "", "", float("nan"), "", "", str(exc))
    cls = classify_mol(mol)
    status, note, nearest, similarity, frs, nat = _control_labels(mol, cls.drug_class, national)
    return (cls.drug_class, cls.rule, cls.ewa_group, cls.effect_group, status, note, nearest, similarity, frs,
            nat, "")


def _national_path(national_list: str | None) -> str | None:
    from nps_id.chem.control import national_list_path

    return national_list_path(national_list)


def _label_many(keys: Sequence[tuple[str, bool]], national: str | None = None) -> list[tuple]:
    return [_label_one(s, d, national) for s, d in keys]


def label_smiles(
    smiles: Sequence[str] | np.ndarray,
    *,
    derivative: Sequence[Any] | np.ndarray | None = None,
    n_jobs: int | None = None,
    national_list: str | None = None,
) -> dict[str, np.ndarray]:
    """Label structures with class, EWA groups and control status.

    Parameters
    ----------
    smiles : sequence of str
        One SMILES per record; "" (or None) where a record has none.
    derivative : sequence of bool or str, optional
        Per record, whether it is a derivative (``True``/``"True"``/``"1"``); see the module docstring.
    n_jobs : int, optional
        Worker processes for the distinct structures (joblib; ``None`` = 1, ``-1`` = all cores).
    national_list : str, optional
        A national control list (CSV) for the ``national_status`` column; default: the file named by
        ``NPS_ID_NATIONAL_LIST``, if set (else the column is "").

    Returns
    -------
    dict of str -> numpy.ndarray
        The columns of :data:`LABEL_COLUMNS`, each of length ``len(smiles)``: object arrays of str,
        except ``controlled_similarity`` (float64, NaN where unknown).

    Examples
    --------
    >>> label_smiles(["CNC(C)C(=O)c1ccc(C)cc1", ""])["chem_class"].tolist()
    ['synthetic_cathinone', '']
    """
    values = ["" if s is None else str(s).strip() for s in smiles]
    n = len(values)
    flags = [False] * n if derivative is None else [_flag(d) for d in derivative]
    if len(flags) != n:
        raise ValueError(f"derivative has {len(flags)} values for {n} structures; give one per structure.")
    keys = [(s, d) for s, d in zip(values, flags)]
    unique = sorted({k for k in keys if k[0]})
    national = _national_path(national_list)
    n_jobs = 1 if n_jobs is None else int(n_jobs)
    if n_jobs == 1 or len(unique) < 200:
        results = _label_many(unique, national)
    else:
        from joblib import Parallel, delayed, effective_n_jobs

        n_chunks = min(len(unique), 8 * effective_n_jobs(n_jobs))
        bounds = np.linspace(0, len(unique), n_chunks + 1).astype(int)
        parts = Parallel(n_jobs=n_jobs)(delayed(_label_many)(unique[a:b], national)
                                        for a, b in zip(bounds[:-1], bounds[1:]))
        results = [r for part in parts for r in part]
    lookup = dict(zip(unique, results))
    empty = ("", "", "", "", "", "", "", float("nan"), "", "", "")
    rows = [lookup.get(k, empty) if k[0] else empty for k in keys]
    out: dict[str, np.ndarray] = {}
    for j, name in enumerate(LABEL_COLUMNS):
        if name == "controlled_similarity":
            out[name] = np.fromiter((r[j] for r in rows), dtype=np.float64, count=n)
        else:
            col = np.empty(n, dtype=object)
            col[:] = [r[j] for r in rows]
            out[name] = col
    invalid = int(sum(1 for r in results if r[0] == "invalid"))
    log.info("labelled %d records (%d distinct structures, %d unparsable, %d without structure)",
             n, len(unique), invalid, sum(1 for k in keys if not k[0]))
    return out


def label_library(library: Any, *, n_jobs: int | None = None, prefix: str = "",
                  national_list: str | None = None, save: bool = True) -> dict[str, int]:
    """Label every spectrum of a spectral library and store the labels as library columns.

    The one labeller of the package: library build, the default library, training, evaluation and ``classify``
    (for a library that has structures but no labels yet) all call it.

    Parameters
    ----------
    library : nps_id.spectra.library.SpectralLibrary
        Needs ``column(name)`` (the ``"smiles"`` column, and ``"is_derivative"`` when present) and
        ``set_column(name, values)``.
    n_jobs : int, optional
        See :func:`label_smiles`.
    prefix : str, default ""
        Put before each column name (to keep several labellings side by side).
    national_list : str, optional
        See :func:`label_smiles`.
    save : bool, default True
        Also write the columns into the library's file (when it has one); False: in memory only.

    Returns
    -------
    dict of str -> int
        How many spectra fall in each class ("" = no structure).
    """
    smiles = library.column("smiles")
    try:
        derivative = library.column("is_derivative")
    except (KeyError, ValueError, LookupError):
        derivative = None
    if derivative is not None and len(derivative) != len(smiles):
        derivative = None
    cols = label_smiles(smiles, derivative=derivative, n_jobs=n_jobs, national_list=national_list)
    for name, values in cols.items():
        library.set_column(prefix + name, values, save=save)
    classes, counts = np.unique(cols["chem_class"].astype(str), return_counts=True)
    return {str(c): int(k) for c, k in zip(classes, counts)}
