"""The class-wide definition of fentanyl-related substances, read structurally.

Some national laws (for example the United States' class-wide scheduling of fentanyl-related
substances) control every substance structurally related to fentanyl by one or more of a fixed set of
modifications, listed here as :data:`FRS_MODIFICATIONS`. The international Conventions list fentanyl
analogues by name only, so a structure that fits this definition but is not listed is *not* under
international control; :func:`fentanyl_related` answers only the structural question.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from rdkit import Chem

from nps_id.chem.structure import parent_structure

__all__ = ["FRS_MODIFICATIONS", "FentanylRelated", "fentanyl_related"]

#: the structural modifications of fentanyl that the class-wide definition allows, by letter
FRS_MODIFICATIONS: dict[str, str] = {
    "A": "the phenyl of the phenethyl group replaced by another monocycle (substituted or not)",
    "B": "substitution on the phenethyl group (ethyl linker or its phenyl ring)",
    "C": "substitution on the piperidine ring",
    "D": "the aniline ring replaced by another aromatic monocycle or substituted",
    "E": "the N-propionyl group replaced by another acyl group",
}


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
