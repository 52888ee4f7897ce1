"""Control status: listed substances and precursors, nearest controlled analogues, fentanyl-related substances.

The reference list ``nps_id/chem/data/controlled.csv`` holds internationally controlled substances
(1961 and 1971 Conventions), the precursors of Table I of the 1988 Convention with the year each was
listed, and a few substances kept for reference that are *not* under international control (tramadol,
tapentadol, ketamine). It is a curated starting point, not legal advice: national lists differ, and
a laboratory should put its own list in its place (:func:`load_controlled` takes a path).

Three questions are answered for a structure:

1. Is it listed? Compared by the InChIKey connectivity block of the parent structure (so salts,
   stereoisomers and deuterated standards of a listed substance count as listed; the Conventions list
   stereoisomers with their parent).
2. Does a class-wide definition of fentanyl-related substances cover it
   (:func:`fentanyl_related`)?
3. What are its nearest listed substances (Tanimoto on Morgan fingerprints), and what scaffold does
   it share with them (:func:`analogue_report`)? A structure of the same class as a listed substance
   and at least :data:`ANALOGUE_SIMILARITY` similar is reported as a close analogue.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFMCS

from nps_id.chem.classes import classify_mol
from nps_id.chem.fingerprints import fingerprint_generator
from nps_id.chem.structure import inchikey, parent_structure, quiet_rdkit, read_structure

__all__ = [
    "ANALOGUE_SIMILARITY",
    "CONTROL_STATUSES",
    "FRS_MODIFICATIONS",
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
    "shared_scaffold",
    "analogue_report",
]

#: Tanimoto similarity (Morgan radius 2, 2048 bits) from which a same-class structure is a "close analogue"
ANALOGUE_SIMILARITY = 0.5

#: the values ``control_status`` takes, in words
CONTROL_STATUSES: dict[str, str] = {
    "controlled": "listed in a schedule of the 1961 or 1971 Convention",
    "listed_precursor": "listed in Table I of the 1988 Convention",
    "fentanyl_related": "covered by the class-wide definition of fentanyl-related substances",
    "precursor_analogue": "not listed; a close analogue of a listed precursor",
    "controlled_analogue": "not listed; a close analogue of a controlled substance",
    "not_internationally_controlled": "on the reference list but under no international control",
    "not_listed": "not listed and no close listed analogue",
}

#: the structural modifications of fentanyl that the class-wide definition allows, by letter
FRS_MODIFICATIONS: dict[str, str] = {
    "A": "the phenyl of the phenethyl group replaced by another monocycle (substituted or not)",
    "B": "substitution on the phenethyl group (ethyl linker or its phenyl ring)",
    "C": "substitution on the piperidine ring",
    "D": "the aniline ring replaced by another aromatic monocycle or substituted",
    "E": "the N-propionyl group replaced by another acyl group",
}

_FP = {"kind": "morgan", "n_bits": 2048, "radius": 2}


@dataclass(frozen=True)
class ControlledEntry:
    """One substance of the reference list.

    Attributes
    ----------
    name, smiles, drug_class : str
        Name, structure and class (as decided by :mod:`nps_id.chem.classes`).
    kind : {"drug", "precursor", "reference"}
        Controlled drug, listed precursor, or kept for reference only (not internationally controlled).
    control : str
        Where it is listed, e.g. ``"1988 Convention, Table I"``.
    year : int or None
        Year of listing (precursors).
    """

    name: str
    smiles: str
    drug_class: str
    kind: str
    control: str
    year: int | None = None

    def describe(self) -> str:
        """Control status in words, e.g. ``"listed precursor (1988 Convention, Table I, since 2022)"``."""
        if self.kind == "precursor":
            since = f", since {self.year}" if self.year else ""
            return f"listed precursor ({self.control}{since})"
        if self.kind == "reference":
            return self.control
        return f"controlled ({self.control})"


@dataclass(frozen=True)
class Neighbour:
    """A listed substance near a query structure."""

    name: str
    similarity: float
    drug_class: str
    control: str
    scaffold: str = ""


@dataclass(frozen=True)
class FentanylRelated:
    """Whether a structure falls under the class-wide definition of fentanyl-related substances.

    Attributes
    ----------
    matches : bool
        It is fentanyl or a fentanyl-related substance by the definition.
    modifications : tuple of str
        Letters of :data:`FRS_MODIFICATIONS` that apply (empty for fentanyl itself).
    explanation : str
        The answer in words.
    """

    matches: bool
    modifications: tuple[str, ...] = ()
    explanation: str = ""


@dataclass(frozen=True)
class ControlResult:
    """Control status of one structure (see :data:`CONTROL_STATUSES`)."""

    status: str
    note: str
    listed_name: str = ""
    nearest: str = ""
    similarity: float = float("nan")
    fentanyl_related: FentanylRelated = field(default_factory=lambda: FentanylRelated(False))


@dataclass(frozen=True)
class AnalogueReport:
    """Everything :func:`analogue_report` finds out about one structure."""

    smiles: str
    drug_class: str
    control: ControlResult
    neighbours: tuple[Neighbour, ...]
    fentanyl_related: FentanylRelated


def _connectivity(mol: Chem.Mol) -> str:
    return inchikey(mol).split("-")[0]


@lru_cache(maxsize=4)
def _load(path: str | None) -> tuple[tuple[ControlledEntry, ...], dict[str, int], tuple]:
    if path is None:
        text = resources.files("nps_id.chem").joinpath("data/controlled.csv").read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    entries, keys, fps = [], {}, []
    gen = fingerprint_generator(**_FP)
    for row in csv.DictReader(text.splitlines()):
        entry = ControlledEntry(
            name=row["name"], smiles=row["smiles"], drug_class=row["drug_class"], kind=row["kind"],
            control=row["control"], year=int(row["year"]) if row.get("year") else None)
        mol = parent_structure(entry.smiles)
        keys.setdefault(_connectivity(mol), len(entries))
        with quiet_rdkit():
            fps.append(gen.GetFingerprint(mol))
        entries.append(entry)
    return tuple(entries), keys, tuple(fps)


def load_controlled(path: str | Path | None = None) -> tuple[ControlledEntry, ...]:
    """The reference list of controlled substances and precursors.

    Parameters
    ----------
    path : str or Path, optional
        A CSV with columns ``name, smiles, drug_class, kind, control, year``; default: the list shipped
        with nps_id.
    """
    return _load(None if path is None else str(path))[0]


def listed_precursors(path: str | Path | None = None) -> tuple[ControlledEntry, ...]:
    """The listed precursors of the reference list, oldest listing first."""
    entries = [e for e in load_controlled(path) if e.kind == "precursor"]
    return tuple(sorted(entries, key=lambda e: (e.year or 0, e.name)))


def _similarities(mol: Chem.Mol, path: str | None) -> np.ndarray:
    _, _, fps = _load(path)
    with quiet_rdkit():
        fp = fingerprint_generator(**_FP).GetFingerprint(mol)
    return np.asarray(DataStructs.BulkTanimotoSimilarity(fp, list(fps)))


def nearest_controlled(structure: str | Chem.Mol, k: int = 3, *, path: str | Path | None = None,
                       derivative: bool = False) -> list[Neighbour]:
    """The ``k`` listed substances most similar to a structure (Morgan radius 2, Tanimoto).

    Entries kept only for reference (not internationally controlled) are included; their ``control``
    says so.
    """
    mol = parent_structure(structure, derivative=derivative)
    key = None if path is None else str(path)
    entries = _load(key)[0]
    sims = _similarities(mol, key)
    order = np.argsort(-sims, kind="stable")[:k]
    return [Neighbour(entries[i].name, float(sims[i]), entries[i].drug_class, entries[i].describe())
            for i in order]


# -- class-wide definition of fentanyl-related substances -------------------------------------------------

_FRS_CORE = (
    "[#6:1](=[O:2])-[NX3;!R:3](-[a:4])-[C;R1:5]1-[C;R1:6]-[C;R1:7]-[N;R1:8](-[CX4;!R:9]-[CX4;!R:10]-[*;R:11])"
    "-[C;R1:12]-[C;R1:13]-1"
)


@lru_cache(maxsize=1)
def _frs_pattern() -> Chem.Mol:
    return Chem.MolFromSmarts(_FRS_CORE)


def _ring_of(mol: Chem.Mol, idx: int) -> tuple[int, ...] | None:
    """The atoms of the single ring holding ``idx``, or None if it is in no ring or a fused system."""
    info = mol.GetRingInfo()
    rings = [r for r in info.AtomRings() if idx in r]
    if len(rings) != 1:
        return None
    ring = rings[0]
    if any(info.NumAtomRings(a) != 1 for a in ring):
        return None
    return ring


def _is_plain_benzene(mol: Chem.Mol, ring: tuple[int, ...], attached: set[int]) -> tuple[bool, bool]:
    """(ring is a benzene, ring carries substituents other than the atoms in ``attached``)."""
    benzene = len(ring) == 6 and all(
        mol.GetAtomWithIdx(a).GetAtomicNum() == 6 and mol.GetAtomWithIdx(a).GetIsAromatic() for a in ring)
    ring_set = set(ring)
    substituted = any(
        n.GetIdx() not in ring_set and n.GetIdx() not in attached
        for a in ring for n in mol.GetAtomWithIdx(a).GetNeighbors())
    return benzene, substituted


def _side_atoms(mol: Chem.Mol, start: int, blocked: set[int]) -> set[int]:
    """Atoms reachable from ``start`` without passing through ``blocked``."""
    seen, stack = {start}, [start]
    while stack:
        for n in mol.GetAtomWithIdx(stack.pop()).GetNeighbors():
            j = n.GetIdx()
            if j not in seen and j not in blocked:
                seen.add(j)
                stack.append(j)
    return seen


def _frs_modifications(mol: Chem.Mol, m: dict[int, int]) -> tuple[str, ...] | None:
    mods = []
    # A/B: the ring at the end of the two-carbon linker, and substituents on the linker
    ring = _ring_of(mol, m[11])
    if ring is None:
        return None
    benzene, substituted = _is_plain_benzene(mol, ring, {m[10]})
    if not benzene:
        mods.append("A")
    linker_subs = any(
        n.GetIdx() not in (m[8], m[10]) for n in mol.GetAtomWithIdx(m[9]).GetNeighbors()
    ) or any(n.GetIdx() not in (m[9], m[11]) for n in mol.GetAtomWithIdx(m[10]).GetNeighbors())
    if linker_subs or (benzene and substituted):
        mods.append("B")
    # C: substituents on the piperidine ring
    piperidine = {m[i] for i in (5, 6, 7, 8, 12, 13)}
    allowed = piperidine | {m[3], m[9]}
    if any(n.GetIdx() not in allowed for a in piperidine for n in mol.GetAtomWithIdx(a).GetNeighbors()):
        mods.append("C")
    # D: the aniline ring must be an aromatic monocycle; anything but plain phenyl is a modification
    aryl = _ring_of(mol, m[4])
    if aryl is None or not all(mol.GetAtomWithIdx(a).GetIsAromatic() for a in aryl):
        return None
    benzene, substituted = _is_plain_benzene(mol, aryl, {m[3]})
    if not benzene or substituted:
        mods.append("D")
    # E: the acyl group must be exactly propionyl for fentanyl
    acyl = _side_atoms(mol, m[1], {m[3]})
    symbols = sorted(mol.GetAtomWithIdx(a).GetSymbol() for a in acyl)
    propionyl = symbols == ["C", "C", "C", "O"] and not any(mol.GetAtomWithIdx(a).IsInRing() for a in acyl) and all(
        mol.GetAtomWithIdx(a).GetDegree() <= 2 for a in acyl if a != m[1])
    if not propionyl:
        mods.append("E")
    return tuple(mods)


def fentanyl_related(structure: str | Chem.Mol, *, derivative: bool = False) -> FentanylRelated:
    """Does the class-wide definition of fentanyl-related substances cover a structure?

    The definition (as in class-wide scheduling orders) covers substances structurally related to
    fentanyl by one or more of the modifications of :data:`FRS_MODIFICATIONS`, and nothing else: the
    4-anilidopiperidine core, the amide and the two-carbon link from the piperidine N to a monocycle
    must all stay. Benzylfentanyl (one-carbon link), remifentanil (no ring on the link) and
    structures with a fused aniline ring are outside it.

    Parameters
    ----------
    structure : str or rdkit.Chem.Mol
        The structure.
    derivative : bool, default False
        See :func:`nps_id.chem.structure.parent_structure`.

    Returns
    -------
    FentanylRelated
    """
    mol = parent_structure(structure, derivative=derivative)
    best: tuple[str, ...] | None = None
    for match in mol.GetSubstructMatches(_frs_pattern(), uniquify=False, maxMatches=50):
        mapping = {qa.GetAtomMapNum(): match[qa.GetIdx()] for qa in _frs_pattern().GetAtoms()}
        mods = _frs_modifications(mol, mapping)
        if mods is not None and (best is None or len(mods) < len(best)):
            best = mods
    if best is None:
        return FentanylRelated(False, (), "outside the definition: no 4-anilidopiperidine core with an "
                                          "N-(2-(monocyclyl)ethyl) group")
    if not best:
        return FentanylRelated(True, (), "fentanyl itself")
    words = "; ".join(f"{c}: {FRS_MODIFICATIONS[c]}" for c in best)
    return FentanylRelated(True, best, f"fentanyl-related substance by modification {', '.join(best)} ({words})")


# -- control status ----------------------------------------------------------------------------------------

def _control_for_parent(mol: Chem.Mol, drug_class: str, path: str | None) -> ControlResult:
    entries, keys, _ = _load(path)
    sims = _similarities(mol, path)
    best = int(np.argmax(sims)) if len(sims) else -1
    nearest = entries[best].name if best >= 0 else ""
    sim = float(sims[best]) if best >= 0 else float("nan")
    frs = fentanyl_related(mol) if drug_class == "fentanyl_analogue" else FentanylRelated(False)

    idx = keys.get(_connectivity(mol))
    if idx is not None:
        entry = entries[idx]
        status = {"precursor": "listed_precursor", "drug": "controlled"}.get(entry.kind,
                                                                            "not_internationally_controlled")
        return ControlResult(status, entry.describe(), entry.name, entry.name, 1.0, frs)
    if frs.matches:
        return ControlResult("fentanyl_related", frs.explanation, "", nearest, sim, frs)
    # the nearest listed substance of the same class decides "close analogue"
    same = [i for i, e in enumerate(entries) if e.drug_class == drug_class and e.kind != "reference"]
    if same and drug_class != "other":
        j = max(same, key=lambda i: sims[i])
        if sims[j] >= ANALOGUE_SIMILARITY:
            e = entries[j]
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
        Reference list to use instead of the shipped one.

    Returns
    -------
    ControlResult

    Examples
    --------
    >>> control_status("c1ccc(NC2CCNCC2)cc1").note
    'listed precursor (1988 Convention, Table I, since 2022)'
    """
    mol = parent_structure(structure, derivative=derivative)
    return _control_for_parent(mol, classify_mol(mol).drug_class, None if path is None else str(path))


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
        Reference list to use instead of the shipped one.

    Returns
    -------
    AnalogueReport
    """
    mol = parent_structure(structure, derivative=derivative)
    key = None if path is None else str(path)
    cls = classify_mol(mol).drug_class
    entries = _load(key)[0]
    neighbours = []
    for n in nearest_controlled(mol, k, path=path):
        entry = next(e for e in entries if e.name == n.name)
        scaffold = shared_scaffold(mol, read_structure(entry.smiles))
        neighbours.append(Neighbour(n.name, n.similarity, n.drug_class, n.control, scaffold))
    return AnalogueReport(Chem.MolToSmiles(mol), cls, _control_for_parent(mol, cls, key), tuple(neighbours),
                          fentanyl_related(mol))
