"""Control status: listed substances and precursors, nearest listed substances, analogues, national lists.

The list shipped with nps_id (``nps_id/chem/data/international.csv``, see :mod:`nps_id.chem.schedules`)
holds the substances under international control with their instrument, schedule and the decision
behind each entry, and a few substances kept for reference that are *not* under international control
(tramadol, tapentadol, ketamine). It is a curated starting point, not legal advice: a laboratory adds
its national list (same columns) with :func:`national_status` or the ``NPS_ID_NATIONAL_LIST``
environment variable, and may put any list in place of the shipped one (``path=``).

Questions answered for a structure:

1. Is it listed, or covered by a Schedule's own words (stereoisomers; esters and ethers of the 1961
   Convention's Schedule I)? See :meth:`nps_id.chem.schedules.ControlList.match`.
2. Does the class-wide definition of fentanyl-related substances used by some national laws cover
   it (:func:`fentanyl_related`)?
3. Which listed substances are nearest (Tanimoto on Morgan fingerprints, listed substances only), and
   which scaffold does it share with them (:func:`analogue_report`)? A structure of the same class as
   a listed substance and at least :data:`ANALOGUE_SIMILARITY` similar is reported as a close analogue.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rdkit import Chem
from rdkit.Chem import rdFMCS

from nps_id.chem.classes import classify_mol
from nps_id.chem.fentanyl_definition import FRS_MODIFICATIONS, FentanylRelated, fentanyl_related
from nps_id.chem.schedules import ControlledEntry, ListMatch, control_list
from nps_id.chem.structure import parent_structure, quiet_rdkit, read_structure

__all__ = [
    "ANALOGUE_SIMILARITY",
    "CONTROL_STATUSES",
    "FRS_MODIFICATIONS",
    "NATIONAL_LIST_ENV",
    "ControlledEntry",
    "Neighbour",
    "FentanylRelated",
    "ControlResult",
    "AnalogueReport",
    "load_controlled",
    "listed_precursors",
    "nearest_controlled",
    "fentanyl_related",
    "control_status",
    "national_list_path",
    "national_status",
    "shared_scaffold",
    "analogue_report",
]

#: Tanimoto similarity (Morgan radius 2, 2048 bits) from which a same-class structure is a "close analogue"
ANALOGUE_SIMILARITY = 0.5

#: environment variable naming a national control list (CSV) that labelling reports beside the international one
NATIONAL_LIST_ENV = "NPS_ID_NATIONAL_LIST"

#: the values ``control_status`` takes, in words
CONTROL_STATUSES: dict[str, str] = {
    "controlled": "listed in a schedule of the 1961 or 1971 Convention, or covered by the schedule's own "
                  "clause (stereoisomers; esters and ethers in Schedule I of the 1961 Convention)",
    "listed_precursor": "listed in Table I or II of the 1988 Convention",
    "fentanyl_related": "not listed by name; covered by the class-wide definition of fentanyl-related "
                        "substances that some national laws use (the Conventions list substances by name)",
    "precursor_analogue": "not listed; a close analogue of a listed precursor",
    "controlled_analogue": "not listed; a close analogue of a controlled substance",
    "not_internationally_controlled": "on the reference list but under no international control",
    "not_listed": "not listed and no close listed analogue",
}


@dataclass(frozen=True)
class Neighbour:
    """A listed substance near a query structure."""

    name: str
    similarity: float
    drug_class: str
    control: str
    scaffold: str = ""


@dataclass(frozen=True)
class ControlResult:
    """Control status of one structure (see :data:`CONTROL_STATUSES`).

    ``instrument``, ``schedule`` and ``year`` are those of the listed entry that decides (empty when
    none does); ``basis`` says how it matched (see :class:`nps_id.chem.schedules.ListMatch`).
    """

    status: str
    note: str
    listed_name: str = ""
    nearest: str = ""
    similarity: float = float("nan")
    fentanyl_related: FentanylRelated = field(default_factory=lambda: FentanylRelated(False))
    instrument: str = ""
    schedule: str = ""
    year: int | None = None
    basis: str = ""


@dataclass(frozen=True)
class AnalogueReport:
    """Everything :func:`analogue_report` finds out about one structure."""

    smiles: str
    drug_class: str
    control: ControlResult
    neighbours: tuple[Neighbour, ...]
    fentanyl_related: FentanylRelated


def _key(path: str | Path | None) -> str | None:
    return None if path is None else str(path)


def load_controlled(path: str | Path | None = None) -> tuple[ControlledEntry, ...]:
    """The entries of a control list.

    Parameters
    ----------
    path : str or Path, optional
        A CSV with the columns of :mod:`nps_id.chem.schedules`; default: the international list shipped
        with nps_id.
    """
    return control_list(_key(path)).entries


def listed_precursors(path: str | Path | None = None) -> tuple[ControlledEntry, ...]:
    """The listed precursors of a control list, oldest listing first."""
    entries = [e for e in load_controlled(path) if e.kind == "precursor"]
    return tuple(sorted(entries, key=lambda e: (e.year or 0, e.name)))


def nearest_controlled(structure: str | Chem.Mol, k: int = 3, *, path: str | Path | None = None,
                       derivative: bool = False) -> list[Neighbour]:
    """The ``k`` listed substances most similar to a structure (Morgan radius 2, Tanimoto).

    Only listed substances and precursors are ranked; entries kept for reference (not controlled) are not.
    """
    mol = parent_structure(structure, derivative=derivative)
    lst = control_list(_key(path))
    sims = np.where(lst.listed, lst.similarities(mol), -1.0)
    order = [i for i in np.argsort(-sims, kind="stable")[:k] if lst.listed[i]]
    return [Neighbour(lst.entries[i].name, float(sims[i]), lst.entries[i].drug_class, lst.entries[i].describe())
            for i in order]


_STATUS_OF_KIND = {"drug": "controlled", "precursor": "listed_precursor", "reference": "not_internationally_controlled"}


def _from_match(match: ListMatch, frs: FentanylRelated, sims: np.ndarray, nearest: str, sim: float) -> ControlResult:
    entry = match.entry
    if entry.kind == "reference":  # "nearest" stays the nearest *listed* substance
        return ControlResult(_STATUS_OF_KIND["reference"], match.note, entry.name, nearest, sim, frs,
                             basis=match.basis)
    own = float(sims[match.index])
    if match.basis == "other_stereoisomer":
        status = "precursor_analogue" if entry.kind == "precursor" else "controlled_analogue"
        return ControlResult(status, match.note, "", entry.name, own, frs, basis=match.basis)
    return ControlResult(_STATUS_OF_KIND[entry.kind], match.note, entry.name, entry.name, own, frs,
                         entry.instrument, entry.schedule, entry.year, match.basis)


def _control_for_parent(mol: Chem.Mol, drug_class: str, path: str | None) -> ControlResult:
    lst = control_list(path)
    sims = np.where(lst.listed, lst.similarities(mol), -1.0)
    best = int(np.argmax(sims)) if lst.listed.any() else -1
    nearest = lst.entries[best].name if best >= 0 else ""
    sim = float(sims[best]) if best >= 0 else float("nan")
    frs = fentanyl_related(mol) if drug_class == "fentanyl_analogue" else FentanylRelated(False)

    match = lst.match(mol)
    if match is not None:
        return _from_match(match, frs, sims, nearest, sim)
    if frs.matches:
        note = f"not listed internationally; {frs.explanation}"
        return ControlResult("fentanyl_related", note, "", nearest, sim, frs, basis="class_definition")
    # the nearest listed substance of the same class decides "close analogue"
    same = [i for i, e in enumerate(lst.entries) if e.drug_class == drug_class and lst.listed[i]]
    if same and drug_class != "other":
        j = max(same, key=lambda i: sims[i])
        if sims[j] >= ANALOGUE_SIMILARITY:
            e = lst.entries[j]
            if e.kind == "precursor":
                note = f"close analogue of a listed precursor ({e.name}, similarity {sims[j]:.2f})"
                return ControlResult("precursor_analogue", note, "", e.name, float(sims[j]), frs)
            note = f"not listed; close analogue of {e.name} (similarity {sims[j]:.2f})"
            return ControlResult("controlled_analogue", note, "", e.name, float(sims[j]), frs)
    return ControlResult("not_listed", "not listed", "", nearest, sim, frs)


def control_status(structure: str | Chem.Mol, *, derivative: bool = False,
                   path: str | Path | None = None) -> ControlResult:
    """Control status of a structure (see :data:`CONTROL_STATUSES`).

    Parameters
    ----------
    structure : str or rdkit.Chem.Mol
        The structure.
    derivative : bool, default False
        See :func:`nps_id.chem.structure.parent_structure`.
    path : str or Path, optional
        Control list to use instead of the shipped international one.

    Returns
    -------
    ControlResult

    Examples
    --------
    >>> control_status("c1ccc(NC2CCNCC2)cc1").note
    'listed precursor (1988 Convention, Table I, since 2022)'
    >>> control_status("CCCC(NC)C(=O)c1ccccc1").note
    'controlled (1971 Convention, Schedule II, since 2017)'
    """
    mol = parent_structure(structure, derivative=derivative)
    return _control_for_parent(mol, classify_mol(mol).drug_class, _key(path))


# -- national lists ---------------------------------------------------------------------------------------

def national_list_path(path: str | Path | None = None) -> str | None:
    """The national list to use: ``path`` if given, else the ``NPS_ID_NATIONAL_LIST`` variable, else None."""
    if path is not None and str(path):
        return str(Path(path).expanduser())
    env = os.environ.get(NATIONAL_LIST_ENV, "").strip()
    return str(Path(env).expanduser()) if env else None


def _national_for_parent(mol: Chem.Mol, path: str) -> ControlResult:
    match = control_list(path).match(mol)
    if match is None or match.basis == "other_stereoisomer":
        note = "not on the national list" if match is None else match.note
        return ControlResult("not_listed", note)
    entry = match.entry
    status = {"drug": "controlled", "precursor": "listed_precursor"}.get(entry.kind, "not_listed")
    return ControlResult(status, match.note, entry.name, entry.name, 1.0, instrument=entry.instrument,
                         schedule=entry.schedule, year=entry.year, basis=match.basis)


def national_status(structure: str | Chem.Mol, *, path: str | Path | None = None,
                    derivative: bool = False) -> ControlResult | None:
    """Status of a structure on a laboratory's national list; None when no list is configured.

    The list is a CSV with the columns of the international list (``name, smiles, instrument,
    schedule, year, decision, effective, remarks``; optional ``kind``), e.g. instrument ``BtMG`` and
    schedule ``Anlage II``. A structure matches an entry as for the international list (salts,
    stereoisomers of entries drawn without stereochemistry, stereochemistry not given); the 1961
    Convention's esters-and-ethers clause is not applied, and national generic definitions are not known.

    Parameters
    ----------
    structure : str or rdkit.Chem.Mol
        The structure.
    path : str or Path, optional
        The list; default: the file named by the ``NPS_ID_NATIONAL_LIST`` environment variable.
    derivative : bool, default False
        See :func:`nps_id.chem.structure.parent_structure`.

    Returns
    -------
    ControlResult or None
        ``status`` is ``controlled``, ``listed_precursor`` or ``not_listed``; ``note`` cites the list.
    """
    resolved = national_list_path(path)
    if resolved is None:
        return None
    return _national_for_parent(parent_structure(structure, derivative=derivative), resolved)


def _control_labels(mol: Chem.Mol, drug_class: str, national: str | None) -> tuple:
    """The control label values of one parent structure: (status, note, nearest, similarity,
    fentanyl_related, national_status), as :mod:`nps_id.chem.labels` stores them."""
    ctl = _control_for_parent(mol, drug_class, None)
    frs = ",".join(ctl.fentanyl_related.modifications) if ctl.fentanyl_related.matches else ""
    if ctl.fentanyl_related.matches and not frs:
        frs = "fentanyl"
    nat = _national_for_parent(mol, national).note if national else ""
    return ctl.status, ctl.note, ctl.nearest, ctl.similarity, frs, nat


# -- analogues ------------------------------------------------------------------------------------------

def shared_scaffold(a: str | Chem.Mol, b: str | Chem.Mol, *, timeout: int = 2) -> str:
    """The maximum common substructure of two structures (whole rings only), as SMILES.

    Returns "" when none is found within ``timeout`` seconds.
    """
    mols = [parent_structure(x) for x in (a, b)]
    with quiet_rdkit():
        res = rdFMCS.FindMCS(mols, ringMatchesRingOnly=True, completeRingsOnly=True, timeout=timeout)
    if not res.numAtoms:
        return ""
    query = Chem.MolFromSmarts(res.smartsString)
    try:
        return Chem.MolToSmiles(query)
    except Exception:  # some queries have no SMILES form
        return res.smartsString


def analogue_report(structure: str | Chem.Mol, k: int = 3, *, derivative: bool = False,
                    path: str | Path | None = None) -> AnalogueReport:
    """Class, control status, nearest listed substances with shared scaffold, and fentanyl-related status.

    Parameters
    ----------
    structure : str or rdkit.Chem.Mol
        The structure.
    k : int, default 3
        How many nearest listed substances to report.
    derivative : bool, default False
        See :func:`nps_id.chem.structure.parent_structure`.
    path : str or Path, optional
        Control list to use instead of the shipped international one.

    Returns
    -------
    AnalogueReport
    """
    mol = parent_structure(structure, derivative=derivative)
    key = _key(path)
    cls = classify_mol(mol).drug_class
    entries = load_controlled(path)
    neighbours = []
    for n in nearest_controlled(mol, k, path=path):
        entry = next(e for e in entries if e.name == n.name)
        scaffold = shared_scaffold(mol, read_structure(entry.smiles))
        neighbours.append(Neighbour(n.name, n.similarity, n.drug_class, n.control, scaffold))
    return AnalogueReport(Chem.MolToSmiles(mol), cls, _control_for_parent(mol, cls, key), tuple(neighbours),
                          fentanyl_related(mol))
