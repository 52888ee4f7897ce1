"""The international control lists as data, and how a structure is matched to them.

``nps_id/chem/data/international.csv`` holds one row per substance with a structure: the Schedules of
the Single Convention on Narcotic Drugs, 1961 (I, II, IV; Schedule III lists preparations, not
substances), the Schedules of the Convention on Psychotropic Substances, 1971 (I-IV), and Tables I and
II of the 1988 Convention against Illicit Traffic (precursors). A few substances kept for reference
that are *not* under international control (tramadol, tapentadol, ketamine, and dextromethorphan and
dextrorphan, which the 1961 Convention excludes by name) have instrument ``none``. Columns:

``name, smiles, instrument, schedule, year, decision, effective, remarks``

``instrument`` is ``1961``, ``1971``, ``1988`` or ``none``; ``schedule`` a Roman numeral, or two joined
by " and " (``I and IV``); ``year`` the year of the decision that put the substance in that schedule
(or of the Convention's adoption for substances in its original text); ``decision`` the Commission on
Narcotic Drugs (CND) decision number and ``effective`` the date it took effect (ISO), each empty where
not established. A national list uses the same columns with its own instrument and schedule names
(an optional ``kind`` column, ``drug``/``precursor``/``reference``, says what a row is; by default
``1988`` rows are precursors, ``none`` rows references and all others drugs). The older format
``name, smiles, drug_class, kind, control, year`` is read as well.

How a structure is matched (its parent structure: salts, solvents and isotope labels removed):

1. the same standard InChIKey as an entry (stereochemistry included): that entry;
2. the same InChIKey connectivity (a stereoisomer, or stereochemistry not given): an entry drawn
   without stereochemistry designates all its stereoisomers, and Schedules whose text covers
   stereoisomers (1961: all; 1971: Schedule I) cover those of their stereo-specific entries; a
   query without stereochemistry matches every entry of its connectivity and the note names them;
3. an ester or ether of a substance of Schedule I of the 1961 Convention that is not itself listed
   elsewhere (the Schedule's esters-and-ethers clause): the substance's skeleton with carbon
   substituents on its hydroxyl (or carboxyl) oxygens only.
"""

from __future__ import annotations

import csv
import hashlib
import logging
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
from rdkit import Chem, DataStructs

from nps_id.chem.classes import classify_mol
from nps_id.chem.fingerprints import fingerprint_generator
from nps_id.chem.structure import inchikey, parent_structure, quiet_rdkit
from nps_id.errors import ChemistryError

__all__ = [
    "INSTRUMENTS",
    "STEREOISOMER_CLAUSE",
    "ESTER_ETHER_CLAUSE",
    "ControlledEntry",
    "ListMatch",
    "ControlList",
    "read_entries",
    "control_list",
    "schedule_counts",
    "list_checksum",
]

log = logging.getLogger(__name__)

#: instrument code -> how it is cited
INSTRUMENTS: dict[str, str] = {"1961": "1961 Convention", "1971": "1971 Convention", "1988": "1988 Convention"}

#: (instrument, schedule) whose text covers the stereoisomers of its substances
STEREOISOMER_CLAUSE = frozenset({("1961", "I"), ("1961", "II"), ("1961", "IV"), ("1971", "I")})

#: (instrument, schedule) whose text covers the esters and ethers of its substances
ESTER_ETHER_CLAUSE = frozenset({("1961", "I")})

_FP = {"kind": "morgan", "n_bits": 2048, "radius": 2}
_KIND_ORDER = {"drug": 0, "precursor": 1, "reference": 2}
_NO_STEREO = "UHFFFAOY"  # start of the second InChIKey block when there is no stereo (or isotope) layer


@dataclass(frozen=True)
class ControlledEntry:
    """One substance of a control list.

    Attributes
    ----------
    name, smiles : str
        Name and structure.
    drug_class : str
        Class of the structure (:func:`nps_id.chem.classes.classify_mol`), worked out when the list is read.
    kind : {"drug", "precursor", "reference"}
        Controlled substance, listed precursor, or kept for reference only (not controlled).
    control : str
        Where it is listed, e.g. ``"1971 Convention, Schedule II"``; for references, what the list says.
    year : int or None
        Year of the decision that placed it in ``schedule`` (or of the Convention's adoption).
    instrument, schedule : str
        E.g. ``"1961"`` and ``"I and IV"``; "" in lists of the older format.
    decision, effective, remarks : str
        CND decision number, date it took effect, free remarks ("" where not established).
    """

    name: str
    smiles: str
    drug_class: str
    kind: str
    control: str
    year: int | None = None
    instrument: str = ""
    schedule: str = ""
    decision: str = ""
    effective: str = ""
    remarks: str = ""

    @property
    def schedules(self) -> tuple[str, ...]:
        """The schedules (or tables) one by one, e.g. ``("I", "IV")``."""
        return tuple(s.strip() for s in self.schedule.split(" and ") if s.strip())

    def citation(self) -> str:
        """Instrument, schedule and source, e.g. ``"1971 Convention, Schedule II, since 2017"``."""
        parts = [self.control]
        if self.year:
            parts.append(f"since {self.year}")
        if self.decision:
            parts.append(f"CND decision {self.decision}" if self.instrument in INSTRUMENTS else self.decision)
        if self.effective:
            parts.append(f"in force {self.effective}")
        if "verify" in self.remarks.lower():  # compiled without the decision's text at hand: say so
            parts.append("not yet checked against the published decision")
        return ", ".join(parts)

    def describe(self) -> str:
        """The status in words, e.g. ``"listed precursor (1988 Convention, Table I, since 2022)"``."""
        if self.kind == "precursor":
            return f"listed precursor ({self.citation()})"
        if self.kind == "reference":
            return self.control
        return f"controlled ({self.citation()})"


@dataclass(frozen=True)
class ListMatch:
    """How a structure matches a control list.

    Attributes
    ----------
    entry : ControlledEntry
        The entry that decides.
    basis : {"listed", "stereoisomer", "stereo_unspecified", "ester_ether", "other_stereoisomer"}
        Same substance; a stereoisomer covered by the entry or its Schedule; stereochemistry not given;
        an ester or ether under the 1961 Schedule I clause; a stereoisomer the entry does *not* cover.
    note : str
        The status in words with its source.
    index : int
        Position of ``entry`` in the list.
    """

    entry: ControlledEntry
    basis: str
    note: str
    index: int = -1


def _control_text(instrument: str, schedule: str) -> str:
    if instrument in INSTRUMENTS:
        word = "Table" if instrument == "1988" else "Schedule"
        plural = "s" if " and " in schedule else ""
        return f"{INSTRUMENTS[instrument]}, {word}{plural} {schedule}"
    return ", ".join(p for p in (instrument, schedule) if p)


def _entry(row: dict[str, str], where: str) -> dict:
    """The keyword arguments of ControlledEntry (all but ``drug_class``) from one CSV row."""
    get = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}.get
    name, smiles = get("name", ""), get("smiles", "")
    if not name or not smiles:
        raise ChemistryError(f"{where}: every row needs a name and a SMILES.")
    year_text = get("year", "")
    try:
        year = int(year_text) if year_text else None
    except ValueError as exc:
        raise ChemistryError(f"{where}: year {year_text!r} of {name!r} is not a whole number.") from exc
    if "instrument" in {k.strip().lower() for k in row if k}:
        instrument, schedule, remarks = get("instrument", ""), get("schedule", ""), get("remarks", "")
        reference = instrument.lower() in ("", "none")
        kind = get("kind", "") or ("reference" if reference else "precursor" if instrument == "1988" else "drug")
        control = (remarks or "not controlled") if kind == "reference" else _control_text(instrument, schedule)
        return dict(name=name, smiles=smiles, kind=kind, control=control, year=year,
                    instrument="none" if reference else instrument, schedule=schedule,
                    decision=get("decision", ""), effective=get("effective", ""), remarks=remarks)
    return dict(name=name, smiles=smiles, kind=get("kind", "") or "drug", control=get("control", ""), year=year)


def read_entries(text: str, source: str = "control list") -> list[tuple[ControlledEntry, Chem.Mol]]:
    """Parse a control list (CSV text) into entries with their parent structures.

    Raises
    ------
    ChemistryError
        If a row lacks a name or SMILES, or its SMILES cannot be parsed; the message names the row.
    """
    out = []
    for n, row in enumerate(csv.DictReader(text.splitlines()), start=2):
        kwargs = _entry(row, f"{source}, line {n}")
        try:
            mol = parent_structure(kwargs["smiles"])
        except ChemistryError as exc:
            raise ChemistryError(f"{source}, line {n} ({kwargs['name']}): {exc}") from exc
        if kwargs["kind"] not in _KIND_ORDER:
            raise ChemistryError(f"{source}, line {n}: kind {kwargs['kind']!r} is not one of drug, precursor, "
                                 "reference.")
        out.append((ControlledEntry(drug_class=classify_mol(mol).drug_class, **kwargs), mol))
    return out


def _has_stereo(key: str) -> bool:
    return not key.split("-")[1].startswith(_NO_STEREO) if key.count("-") == 2 else False


class ControlList:
    """A control list ready for matching: entries, their InChIKeys and fingerprints.

    Parameters
    ----------
    entries : list of (ControlledEntry, rdkit.Chem.Mol)
        As returned by :func:`read_entries`.
    """

    def __init__(self, entries: list[tuple[ControlledEntry, Chem.Mol]]) -> None:
        self.entries = tuple(e for e, _ in entries)
        gen = fingerprint_generator(**_FP)
        self._keys, self._by_conn, self._stereo, fps = [], {}, [], []
        for i, (entry, mol) in enumerate(entries):
            key = inchikey(mol)
            self._keys.append(key)
            self._stereo.append(_has_stereo(key))
            self._by_conn.setdefault(key[:14], []).append(i)
            with quiet_rdkit():
                fps.append(gen.GetFingerprint(mol))
        self._fps = fps
        self.listed = np.array([e.kind != "reference" for e in self.entries], dtype=bool)
        self._clause = []  # (entry index, pattern mol, indices of its hydroxyl oxygens, pattern fingerprint)
        for i, (entry, mol) in enumerate(entries):
            if entry.kind == "drug" and any((entry.instrument, s) in ESTER_ETHER_CLAUSE for s in entry.schedules):
                oxygens = frozenset(a.GetIdx() for a in mol.GetAtoms()
                                    if a.GetAtomicNum() == 8 and a.GetTotalNumHs() == 1 and a.GetDegree() == 1)
                if oxygens:
                    self._clause.append((i, mol, oxygens, Chem.PatternFingerprint(mol)))

    def __len__(self) -> int:
        return len(self.entries)

    def similarities(self, mol: Chem.Mol) -> np.ndarray:
        """Tanimoto similarity (Morgan radius 2, 2048 bits) of a structure to every entry."""
        with quiet_rdkit():
            fp = fingerprint_generator(**_FP).GetFingerprint(mol)
        return np.asarray(DataStructs.BulkTanimotoSimilarity(fp, self._fps))

    def _best(self, idx: list[int]) -> int:
        return min(idx, key=lambda i: (_KIND_ORDER[self.entries[i].kind], i))

    def _covers(self, i: int) -> bool:
        entry = self.entries[i]
        return not self._stereo[i] or any((entry.instrument, s) in STEREOISOMER_CLAUSE for s in entry.schedules)

    def match(self, mol: Chem.Mol) -> ListMatch | None:
        """How a parent structure matches the list (see the module docstring); None if it does not."""
        key = inchikey(mol)
        group = self._by_conn.get(key[:14], []) if key else []
        if not group:
            return self._ester_ether(mol)
        exact = [i for i in group if self._keys[i] == key]
        if not _has_stereo(key):
            i = self._best(exact or group)
            others = [j for j in group if j != i]
            note = self.entries[i].describe()
            if others:
                note += "; stereochemistry not given: also " + "; ".join(
                    f"{self.entries[j].name}: {self.entries[j].describe()}" for j in others)
            return ListMatch(self.entries[i], "listed" if exact else "stereo_unspecified", note, i)
        if exact:
            i = self._best(exact)
            return ListMatch(self.entries[i], "listed", self.entries[i].describe(), i)
        covering = [i for i in group if self.entries[i].kind != "reference" and self._covers(i)]
        if covering:
            i = self._best(covering)
            entry = self.entries[i]
            if not self._stereo[i]:
                return ListMatch(entry, "listed", entry.describe(), i)
            note = f"{entry.describe()}: a stereoisomer of {entry.name}, covered by the Schedule's stereoisomer clause"
            return ListMatch(entry, "stereoisomer", note, i)
        references = [i for i in group if self.entries[i].kind == "reference" and not self._stereo[i]]
        if references:
            i = self._best(references)
            return ListMatch(self.entries[i], "listed", self.entries[i].describe(), i)
        i = self._best(group)
        entry = self.entries[i]
        note = (f"not listed: a stereoisomer of {entry.name}, which is listed as that stereoisomer only "
                f"({entry.citation()})")
        return ListMatch(entry, "other_stereoisomer", note, i)

    def _ester_ether(self, mol: Chem.Mol) -> ListMatch | None:
        if not self._clause:
            return None
        with quiet_rdkit():
            query_fp = Chem.PatternFingerprint(mol)
        for i, pattern, oxygens, pattern_fp in self._clause:
            if pattern.GetNumAtoms() >= mol.GetNumAtoms() or not DataStructs.AllProbeBitsMatch(pattern_fp, query_fp):
                continue
            for hit in mol.GetSubstructMatches(pattern, useChirality=False, maxMatches=20):
                kind = _ester_or_ether(mol, pattern, hit, oxygens)
                if kind:
                    entry = self.entries[i]
                    note = (f"controlled ({entry.control}: an {kind} of {entry.name}; the Schedule covers the esters "
                            "and ethers of its substances)")
                    return ListMatch(entry, "ester_ether", note, i)
        return None


def _carbonyl(atom: Chem.Atom) -> bool:
    return any(b.GetBondType() == Chem.BondType.DOUBLE and b.GetOtherAtom(atom).GetAtomicNum() == 8
               for b in atom.GetBonds())


def _ester_or_ether(mol: Chem.Mol, pattern: Chem.Mol, hit: tuple[int, ...], oxygens: frozenset[int]) -> str:
    """"ester", "ether" or "ester and ether" if ``mol`` is the pattern with carbon groups on its hydroxyl
    oxygens only, else ""."""
    matched = set(hit)
    inside = sum(1 for b in mol.GetBonds() if b.GetBeginAtomIdx() in matched and b.GetEndAtomIdx() in matched)
    if inside != pattern.GetNumBonds():
        return ""
    kinds = set()
    for p_idx, q_idx in enumerate(hit):
        for neighbour in mol.GetAtomWithIdx(q_idx).GetNeighbors():
            if neighbour.GetIdx() in matched:
                continue
            if p_idx not in oxygens or neighbour.GetAtomicNum() != 6:
                return ""
            acid_side = pattern.GetAtomWithIdx(p_idx).GetNeighbors()[0]  # in the listed substance
            kinds.add("ester" if _carbonyl(neighbour) or _carbonyl(acid_side) else "ether")
    return " and ".join(sorted(kinds))


def _list_text(path: str | None) -> tuple[str, str]:
    if path is None:
        return resources.files("nps_id.chem").joinpath("data/international.csv").read_text(encoding="utf-8"), \
            "international.csv"
    p = Path(path).expanduser()
    if not p.is_file():
        raise ChemistryError(f"No control list at {str(p)!r}: give the path of a CSV with the columns name, smiles, "
                             "instrument, schedule (see docs/chem.md).")
    return p.read_text(encoding="utf-8"), str(p)


@lru_cache(maxsize=4)
def control_list(path: str | None = None) -> ControlList:
    """The control list at ``path`` (default: the international list shipped with nps_id), read once."""
    text, source = _list_text(path)
    entries = read_entries(text, source)
    log.debug("read %d entries from %s", len(entries), source)
    return ControlList(entries)


def schedule_counts(path: str | None = None) -> dict[tuple[str, str], int]:
    """Entries per (instrument, schedule); an entry in two schedules counts in each.

    Examples
    --------
    >>> schedule_counts()[("1988", "II")]
    6
    """
    counts: Counter = Counter()
    for entry in control_list(path).entries:
        for schedule in entry.schedules or ("",):
            counts[(entry.instrument, schedule)] += 1
    return dict(sorted(counts.items()))


def list_checksum(path: str | None = None) -> str:
    """SHA-256 of the list's text: put it in cache keys so that labels are redone when the list changes."""
    return hashlib.sha256(_list_text(path)[0].encode("utf-8")).hexdigest()
