"""Structures: read SMILES / InChI / molblock, standardise, and describe (InChIKey, formula, mass).

Everything here works on RDKit molecules. Parsing never floods the log: RDKit's own messages are held
back by :func:`quiet_rdkit`, and an unparsable structure raises :class:`~nps_id.errors.ChemistryError`
that quotes the input and says what to check.

Standardisation (:func:`standardize`) keeps the largest organic fragment (drops counter-ions and
solvent: a hydrochloride or citrate salt becomes the free base), neutralises charges where a neutral
form exists, and, on request, picks RDKit's canonical tautomer. The drug-class rules of
:mod:`nps_id.chem.classes` are written to be tautomer-tolerant, so classification does not need it.

:func:`parent_structure` goes one step further, to the compound a spectrum is *of*: isotope labels are
removed (a deuterated internal standard is classified as its unlabelled parent), silyl groups (TMS,
TBDMS) are taken off O, N and S, and, when the caller says the record is a derivative, the acyl groups
of the usual derivatising reagents (TFA, PFP, HFB, TPC, acetyl) are taken off as well.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from rdkit import Chem, rdBase
from rdkit.Chem import Descriptors, rdMolDescriptors
from rdkit.Chem.MolStandardize import rdMolStandardize

from nps_id.errors import ChemistryError

__all__ = [
    "Structure",
    "quiet_rdkit",
    "read_structure",
    "standardize",
    "parent_structure",
    "remove_derivatisation",
    "describe",
    "inchikey",
    "formula",
    "monoisotopic_mass",
    "to_mol",
]


@contextlib.contextmanager
def quiet_rdkit() -> Iterator[None]:
    """Hold back RDKit's log messages (warnings and errors) inside the ``with`` block.

    Examples
    --------
    >>> with quiet_rdkit():
    ...     mol = Chem.MolFromSmiles("not a smiles")
    """
    blocker = rdBase.BlockLogs()
    try:
        yield
    finally:
        del blocker


def _looks_like_molblock(text: str) -> bool:
    return "\n" in text and ("M  END" in text or "V2000" in text or "V3000" in text)


def read_structure(text: str, fmt: str | None = None) -> Chem.Mol:
    """Parse a structure given as SMILES, InChI or an MDL molblock.

    Parameters
    ----------
    text : str
        The structure. ``"InChI=..."`` is read as InChI, text with a ``M  END`` line as a molblock,
        anything else as SMILES.
    fmt : {"smiles", "inchi", "molblock"}, optional
        Force the format instead of guessing it.

    Returns
    -------
    rdkit.Chem.Mol
        The parsed, sanitised molecule (not yet standardised).

    Raises
    ------
    ChemistryError
        If the text is empty or cannot be parsed; the message quotes the input.
    """
    if not isinstance(text, str):
        raise ChemistryError(f"Expected a structure as text (SMILES, InChI or molblock), got {type(text).__name__}.")
    stripped = text.strip()
    if not stripped:
        raise ChemistryError("Empty structure: give a SMILES, InChI or molblock.")
    if fmt is None:
        if stripped.startswith("InChI="):
            fmt = "inchi"
        elif _looks_like_molblock(text):
            fmt = "molblock"
        else:
            fmt = "smiles"
    with quiet_rdkit():
        if fmt == "smiles":
            mol = Chem.MolFromSmiles(stripped)
        elif fmt == "inchi":
            mol = Chem.MolFromInchi(stripped)
        elif fmt == "molblock":
            mol = Chem.MolFromMolBlock(text)
        else:
            raise ChemistryError(f"Unknown structure format {fmt!r}; use 'smiles', 'inchi' or 'molblock'.")
    if mol is None or mol.GetNumAtoms() == 0:
        shown = stripped if len(stripped) <= 80 else stripped[:77] + "..."
        raise ChemistryError(
            f"Could not parse {fmt} {shown!r}: check the valences, ring closures and brackets, "
            "or give the structure as InChI or a molblock instead."
        )
    return mol


def to_mol(structure: str | Chem.Mol) -> Chem.Mol:
    """Return ``structure`` as a molecule: RDKit molecules pass through, text is parsed."""
    if isinstance(structure, Chem.Mol):
        return structure
    return read_structure(structure)


@lru_cache(maxsize=1)
def _standardizers() -> tuple:
    # RDKit standardiser objects are built once per process (they are not picklable, so never stored
    # on anything that is).
    chooser = rdMolStandardize.LargestFragmentChooser(preferOrganic=True)
    uncharger = rdMolStandardize.Uncharger(canonicalOrder=True)
    tautomers = rdMolStandardize.TautomerEnumerator()
    return chooser, uncharger, tautomers


def standardize(mol: Chem.Mol | str, *, tautomer: bool = False) -> Chem.Mol:
    """Standardise a structure: clean up, keep the largest organic fragment, neutralise.

    Parameters
    ----------
    mol : rdkit.Chem.Mol or str
        The structure (text is parsed with :func:`read_structure`).
    tautomer : bool, default False
        Also replace the structure by RDKit's canonical tautomer (slow on large molecules; InChIKeys
        already treat mobile hydrogens alike, so this matters only for SMILES-based comparisons).

    Returns
    -------
    rdkit.Chem.Mol
        A new molecule; the input is not changed.

    Raises
    ------
    ChemistryError
        If the structure cannot be parsed or standardised.
    """
    mol = to_mol(mol)
    chooser, uncharger, tautomers = _standardizers()
    with quiet_rdkit():
        try:
            out = rdMolStandardize.Cleanup(mol)
            out = chooser.choose(out)
            out = uncharger.uncharge(out)
            if tautomer:
                out = tautomers.Canonicalize(out)
        except Exception as exc:  # RDKit raises several unrelated types here
            raise ChemistryError(f"Could not standardise {Chem.MolToSmiles(mol)!r}: {exc}") from exc
    return out


# Derivatising groups, each written as "attachment atom first": the first atom is kept (it gets its
# hydrogen back), all other matched atoms are removed.
_SILYL = (
    "[#7,#8,#16]-[Si;X4](-[CH3])(-[CH3])-C(-[CH3])(-[CH3])-[CH3]",  # TBDMS
    "[#7,#8,#16]-[Si;X4](-[CH3])(-[CH3])-[CH3]",  # TMS
)
_ACYL = (
    "[#7,#8]-C(=O)-[CH1]1-[CH2]-[CH2]-[CH2]-N1-C(=O)-C(F)(F)F",  # TPC (N-trifluoroacetylprolyl)
    "[#7,#8]-C(=O)-C(F)(F)-C(F)(F)-C(F)(F)F",  # HFB
    "[#7,#8]-C(=O)-C(F)(F)-C(F)(F)F",  # PFP
    "[#7,#8]-C(=O)-C(F)(F)F",  # TFA
    "[#7,#8]-C(=O)-[CH3]",  # acetyl
)


@lru_cache(maxsize=1)
def _derivative_patterns() -> tuple[tuple[Chem.Mol, ...], tuple[Chem.Mol, ...]]:
    return tuple(Chem.MolFromSmarts(s) for s in _SILYL), tuple(Chem.MolFromSmarts(s) for s in _ACYL)


def _strip_groups(mol: Chem.Mol, patterns: tuple[Chem.Mol, ...]) -> tuple[Chem.Mol, int]:
    removed = 0
    for pattern in patterns:
        for _ in range(20):  # a molecule carries a handful of groups at most
            match = mol.GetSubstructMatch(pattern)
            if not match:
                break
            rw = Chem.RWMol(mol)
            anchor = rw.GetAtomWithIdx(match[0])
            anchor.SetNumExplicitHs(anchor.GetNumExplicitHs() + 1)
            for idx in sorted(match[1:], reverse=True):
                rw.RemoveAtom(idx)
            out = rw.GetMol()
            try:
                Chem.SanitizeMol(out)
            except Exception:  # leave the molecule as it was rather than break it
                return mol, removed
            mol = out
            removed += 1
    return mol, removed


def remove_derivatisation(mol: Chem.Mol, *, acyl: bool = False) -> tuple[Chem.Mol, int]:
    """Take derivatising groups off a structure.

    Parameters
    ----------
    mol : rdkit.Chem.Mol
        The (derivatised) structure.
    acyl : bool, default False
        Also remove TFA, PFP, HFB, TPC and acetyl groups from N and O. Off by default because acetyl
        and similar groups are part of many real drugs (acetylfentanyl, heroin); turn it on only for
        records known to be derivatives.

    Returns
    -------
    mol : rdkit.Chem.Mol
        The underivatised structure.
    n_removed : int
        How many groups were removed.
    """
    silyl, acyl_patterns = _derivative_patterns()
    with quiet_rdkit():
        mol, n = _strip_groups(mol, silyl)
        if acyl:
            mol, m = _strip_groups(mol, acyl_patterns)
            n += m
    return mol, n


def parent_structure(mol: Chem.Mol | str, *, derivative: bool = False, tautomer: bool = False) -> Chem.Mol:
    """Return the parent compound a record is about: standardised, unlabelled, underivatised.

    Parameters
    ----------
    mol : rdkit.Chem.Mol or str
        The structure.
    derivative : bool, default False
        The record is a derivative (e.g. ``IS_DERIVATIVE: True``): remove acyl derivatising groups too
        (see :func:`remove_derivatisation`). Silyl groups are always removed.
    tautomer : bool, default False
        Passed to :func:`standardize`.

    Returns
    -------
    rdkit.Chem.Mol
    """
    out = Chem.Mol(standardize(mol, tautomer=False))
    labelled = False
    for atom in out.GetAtoms():
        if atom.GetIsotope():
            atom.SetIsotope(0)
            labelled = True
    with quiet_rdkit():
        if labelled:
            out = Chem.RemoveHs(out)
        out, _ = remove_derivatisation(out, acyl=derivative)
    if tautomer:
        out = standardize(out, tautomer=True)
    return out


def inchikey(mol: Chem.Mol) -> str:
    """Standard InChIKey of a molecule ("" if InChI cannot represent it)."""
    with quiet_rdkit():
        return Chem.MolToInchiKey(mol) or ""


def formula(mol: Chem.Mol) -> str:
    """Molecular formula in Hill order, e.g. ``"C22H28N2O"``."""
    return rdMolDescriptors.CalcMolFormula(mol)


def monoisotopic_mass(mol: Chem.Mol) -> float:
    """Monoisotopic (exact) mass in Da."""
    return float(Descriptors.ExactMolWt(mol))


@dataclass(frozen=True)
class Structure:
    """A standardised structure and its identifiers.

    Attributes
    ----------
    smiles : str
        Canonical isomeric SMILES of the standardised structure.
    inchikey : str
        Standard InChIKey.
    formula : str
        Molecular formula (Hill order).
    monoisotopic_mass : float
        Exact mass in Da.
    input : str
        The text that was parsed.
    """

    smiles: str
    inchikey: str
    formula: str
    monoisotopic_mass: float
    input: str = ""

    @property
    def mol(self) -> Chem.Mol:
        """The structure as a new RDKit molecule."""
        return read_structure(self.smiles, "smiles")


def describe(structure: str | Chem.Mol, *, tautomer: bool = False) -> Structure:
    """Parse and standardise a structure and return its identifiers.

    Parameters
    ----------
    structure : str or rdkit.Chem.Mol
        SMILES, InChI, molblock or molecule.
    tautomer : bool, default False
        Use the canonical tautomer (see :func:`standardize`).

    Returns
    -------
    Structure

    Raises
    ------
    ChemistryError
        If the structure cannot be parsed.

    Examples
    --------
    >>> describe("CCC(=O)N(c1ccccc1)C1CCN(CCc2ccccc2)CC1.Cl").formula
    'C22H28N2O'
    """
    mol = standardize(structure, tautomer=tautomer)
    text = structure if isinstance(structure, str) else ""
    return Structure(
        smiles=Chem.MolToSmiles(mol),
        inchikey=inchikey(mol),
        formula=formula(mol),
        monoisotopic_mass=monoisotopic_mass(mol),
        input=text,
    )
