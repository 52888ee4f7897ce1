"""Drug classes: a documented taxonomy decided by substructure (SMARTS) rules.

Each class maps to the substance group of the UNODC Early Warning Advisory (EWA) on NPS and to its
effect group. A structure is classified by trying the rules of :data:`RULES` in order on its parent
structure (standardised, unlabelled, underivatised: see :func:`nps_id.chem.structure.parent_structure`);
the first rule that matches decides the class, and a structure that no rule matches is ``"other"``.
The order matters where classes nest: a fentanyl analogue is tried before the fentanyl precursors
(whose 4-anilinopiperidine core it contains), the ephedrines before the phenethylamines.

The rules are chemical, not legal: a medicine that is chemically a cathinone (bupropion) or a
tryptamine (sumatriptan) gets that class. Whether a substance is controlled is answered separately
by :mod:`nps_id.chem.control`. ``docs/chem.md`` describes every rule in words.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from rdkit import Chem

from nps_id.errors import ChemistryError

__all__ = ["DrugClass", "Rule", "ClassResult", "TAXONOMY", "RULES", "CLASS_NAMES", "classify", "classify_mol"]


@dataclass(frozen=True)
class DrugClass:
    """One class of the taxonomy.

    Attributes
    ----------
    name : str
        Label used everywhere (``"fentanyl_analogue"``).
    ewa_group : str
        UNODC EWA substance group ("" for precursors and unclassified structures, which are no NPS group).
    effect_group : str
        UNODC EWA effect group (the main one; a rule may name a more specific one).
    description : str
        One line for people.
    """

    name: str
    ewa_group: str
    effect_group: str
    description: str


_OPIOIDS = "synthetic opioids"
TAXONOMY: dict[str, DrugClass] = {
    c.name: c
    for c in (
        DrugClass("fentanyl_analogue", "other substances", _OPIOIDS,
                  "4-anilidopiperidines: fentanyl and its analogues"),
        DrugClass("fentanyl_precursor", "", "none (precursor)",
                  "precursors of fentanyl: 4-piperidones, 4-anilinopiperidines, norfentanyl"),
        DrugClass("tramadol", "other substances", _OPIOIDS,
                  "tramadol and its N- and O-desmethyl metabolites"),
        DrugClass("nitazene", "other substances", _OPIOIDS,
                  "2-benzylbenzimidazole opioids (nitazenes)"),
        DrugClass("other_opioid", "other substances", _OPIOIDS,
                  "other opioids: U-47700 type, AH-7921, MT-45, brorphine, morphinans, pethidine and "
                  "methadone types, tapentadol"),
        DrugClass("synthetic_cathinone", "synthetic cathinones", "stimulants",
                  "beta-keto phenethylamines (cathinones)"),
        DrugClass("synthetic_cannabinoid", "synthetic cannabinoids", "synthetic cannabinoid receptor agonists",
                  "indole/indazole-3-carbonyl SCRAs and classical CP/HU-type cannabinoids"),
        DrugClass("phytocannabinoid", "plant-based substances", "synthetic cannabinoid receptor agonists",
                  "cannabis constituents: THC, CBD, CBN and relatives"),
        DrugClass("phenethylamine", "phenethylamines", "stimulants",
                  "phenethylamines and amphetamines (2C, DOx and NBOMe: classic hallucinogens)"),
        DrugClass("tryptamine", "tryptamines", "classic hallucinogens", "3-(2-aminoethyl)indoles"),
        DrugClass("benzodiazepine", "other substances", "sedatives/hypnotics",
                  "1,4- and 1,5-benzodiazepines, triazolo-, imidazo- and thienodiazepines"),
        DrugClass("quinazolinone", "other substances", "sedatives/hypnotics",
                  "2-alkyl-3-aryl-quinazolin-4-ones: methaqualone and analogues"),
        DrugClass("arylcyclohexylamine", "phencyclidine-type substances", "dissociatives",
                  "1-aryl-cyclohexylamines: PCP, ketamine, methoxetamine"),
        DrugClass("piperazine", "piperazines", "stimulants", "1-benzyl- and 1-aryl-piperazines"),
        DrugClass("aminoindane", "aminoindanes", "stimulants", "2-aminoindanes"),
        DrugClass("ats_precursor", "", "none (precursor)",
                  "precursors of amphetamine-type stimulants: ephedrines, P-2-P, PMK, APAAN, glycidates, safrole"),
        DrugClass("other", "", "", "no rule matched"),
    )
}

#: class labels in taxonomy order
CLASS_NAMES: tuple[str, ...] = tuple(TAXONOMY)


@dataclass(frozen=True)
class Rule:
    """A substructure rule: the structure belongs to ``drug_class`` if any pattern matches.

    Attributes
    ----------
    name : str
        Short identifier, reported as the evidence for a class.
    drug_class : str
        Class label in :data:`TAXONOMY`.
    smarts : tuple of str
        SMARTS patterns; one match is enough.
    description : str
        The rule in words.
    effect_overrides : tuple of (str, str)
        ``(smarts, effect_group)`` pairs: when one matches as well, that effect group replaces the
        class's default (2C/DOx/NBOMe phenethylamines are hallucinogens, not stimulants).
    max_heavy_atoms : int, optional
        The rule applies only to structures with at most this many heavy atoms.
    """

    name: str
    drug_class: str
    smarts: tuple[str, ...]
    description: str
    effect_overrides: tuple[tuple[str, str], ...] = ()
    max_heavy_atoms: int | None = None


# -- building blocks -------------------------------------------------------------------------------------
_AMINE = "[NX3;!$(N-[#6]=[O,S,N]);!$(N-S(=O)=O);!$(N-a)]"  # basic amine: not amide, sulfonamide, aniline
_PIPERIDINE_C4 = "[C;R1]1-[C;R1]-[C;R1]-{n}-[C;R1]-[C;R1]-1"
_NSUB = "[$([CH3]),$([CH2][CH3]),$([CH2][CH2][CH3]),$([CH1]([CH3])[CH3]),$([CH2]c),$([CH2][CH]=[CH2]),$([OH])]"
_PEA_ARYL = "[$([c;r6]),$(c1cccs1),$(c1ccsc1)]"
_PEA_BETA = "[$([CH2;!R]),$([CH1;!R]-[OH]),$([CH1;!R]-[CH3]),$([CH1;!R]-O-[CH3])]"
_PEA_ALPHA = "[$([CH2;!R]),$([CH1;!R]-[CH3]),$([CH1;!R]-[CH2]-[CH3]),$([CX4;H0;!R](-[CH3])-[CH3])]"
_PEA_N = (
    "[NX3;H2;!$(N-[#6]=O)]",
    f"[NX3;H1;!$(N-[#6]=O);!$(N-a)]-{_NSUB}",
    f"[NX3;H0;!$(N-[#6]=O);!$(N-a)](-{_NSUB})-{_NSUB}",
)
_MORPHINAN_EPOXY = (
    "[#6]1~[#6]~[#6]2~[#6]3~[#6]~[#6]4~[#6]~[#6]~[#6]~[#6]5~[#6]~4~[#6]~2(~[#6]~[#6]~[#7]~3)~[#6](~[#6]~1)~[#8]~5"
)
_BENZODIOXOLE = "c1ccc2OCOc2c1"

RULES: tuple[Rule, ...] = (
    Rule("4-anilidopiperidine", "fentanyl_analogue",
         ("[#6](=O)-[NX3;!R](-a)-" + _PIPERIDINE_C4.format(n="[N;R1](-[CX4])"),),
         "an N-acyl-N-aryl-amino group on C4 of a piperidine whose ring N carries an sp3 carbon"),
    Rule("4-anilinopiperidine", "fentanyl_precursor",
         ("[NX3;H1;!R](-[c;r6]1:[c,n]:[c,n]:[c,n]:[c,n]:[c,n]:1)-" + _PIPERIDINE_C4.format(n="[N;R1]"),),
         "an N-aryl-amino group (not acylated) on C4 of a piperidine: ANPP, 4-AP, 1-boc-4-AP"),
    Rule("nor-4-anilidopiperidine", "fentanyl_precursor",
         ("[#6](=O)-[NX3;!R](-a)-" + _PIPERIDINE_C4.format(n="[N;R1;!$(N-!@[CX4])]"),),
         "a 4-anilidopiperidine whose ring N is free or carbamoylated: norfentanyl, 1-boc-norfentanyl"),
    Rule("4-piperidone", "fentanyl_precursor",
         ("O=[#6;R1]1-[CX4;R1]-[CH2;R1]-[NX3;R1;$([NH1]),$(N-C(=O)O),$(N-[CH2]-[CH2]-a),$(N-[CH2]-a)]"
          "-[CH2;R1]-[CX4;R1]-1",),
         "piperidin-4-one, free or with a Boc, phenethyl or benzyl group on N: 4-piperidone, NPP"),
    Rule("2-benzylbenzimidazole-1-ethylamine", "nitazene",
         (f"[CH2](-a)-c1:n:c2:c:c:c:c:c:2:n:1-[CH2]-[CH2]-{_AMINE}",),
         "a 2-benzylbenzimidazole with a 2-aminoethyl group on N1"),
    Rule("tramadol", "tramadol",
         ("[OX2H1]-[C;R1]1(-c2:c:c:c:c(-[OX2;$([OH1]),$(O-[CH3])]):c:2)"
          "-[C;R1](-[CH2]-[NX3,NX4+;$([NH2]),$([NH1]-[CH3]),$(N(-[CH3])-[CH3]),$([N+](-[CH3])(-[CH3])-[O-])])"
          "-[CX4;R1]-[CX4;R1]-[CX4;R1]-[CX4;R1]-1",),
         "1-(3-methoxy- or 3-hydroxyphenyl)-2-(aminomethyl)cyclohexan-1-ol with N-methyl, N,N-dimethyl "
         "or free amine, or the N-oxide: tramadol and its desmethyl metabolites"),
    Rule("U-type benzamide", "other_opioid",
         (f"{_AMINE}-[CH1;R1]1-[CH2;R1]-[CH2;R1]-[CH2;R1]-[CH2;R1]-[CH1;R1]-1-[NX3]-C(=O)-[$(c),$([CH2]-c)]",),
         "N-(2-aminocyclohexyl) benzamides and phenylacetamides: U-47700, U-49900, U-48800"),
    Rule("AH-7921 type", "other_opioid",
         (f"{_AMINE}-[C;R1]1(-[CH2]-[NX3]-C(=O)-[$(c),$([CH2]-c)])"
          "-[CH2;R1]-[CH2;R1]-[CH2;R1]-[CH2;R1]-[CH2;R1]-1",),
         "N-[(1-aminocyclohexyl)methyl] benzamides: AH-7921"),
    Rule("MT-45 type", "other_opioid",
         ("[CH1](-c)(-[CH2]-c)-N1-[CH2]-[CH2]-N(-[CX4;R])-[CH2]-[CH2]-1",),
         "1-cycloalkyl-4-(1,2-diarylethyl)piperazines: MT-45"),
    Rule("brorphine type", "other_opioid",
         ("[#8]=[#6]1~[#7]~[#6]2~[#6]~[#6]~[#6]~[#6]~[#6]~2~[#7]~1-[CH1]1-[CH2]-[CH2]-N(-[CH1](-[CH3])-c)"
          "-[CH2]-[CH2]-1",),
         "1-[1-(1-arylethyl)piperidin-4-yl]benzimidazol-2-ones: brorphine, orphine"),
    Rule("4,5-epoxymorphinan", "other_opioid", (_MORPHINAN_EPOXY,),
         "the 4,5-epoxymorphinan skeleton: morphine, codeine, heroin, oxycodone, naloxone"),
    Rule("pethidine type", "other_opioid",
         ("c-[C;R1]1(-[$(C(=O)-[#8,#6]),$(O-C(=O)-[#6])])-[CX4;R1]-[CX4;R1]-[NX3;R1](-[CX4])"
          "-[CX4;R1]-[CX4;R1]-1",),
         "4-aryl-piperidines with a 4-ester, 4-acyloxy or 4-ketone group: pethidine, prodines"),
    Rule("methadone type", "other_opioid",
         (f"[CX4](-c)(-c)(-C(=O)-[CH2]-[CH3])-[CX4]-[CX4]-{_AMINE}",),
         "4,4-diaryl-6-amino-heptan-3-ones: methadone"),
    Rule("tapentadol", "other_opioid",
         ("[CH3]-[CH2]-[CH1](-c1:c:c:c:c(-[OX2]):c:1)-[CH1](-[CH3])-[CH2]-[NX3]",),
         "3-(3-amino-1-ethyl-2-methylpropyl)phenols: tapentadol"),
    Rule("benzodiazepine", "benzodiazepine",
         ("[#6;R;!$([#6]=O)]1~[#7;R]~[CX4;R]~[#6;R]~[#7;R]~a2aaaaa2~1",
          "[#6;R;!$([#6]=O)]1~[#7;R]~[CX4;R]~[#6;R]~[#7;R]~a2aaaa2~1",
          "[#6;R]1(=O)~[CX4;R]~[#6;R](=O)~[#7;R]~a2aaaaa2~[#7;R]~1"),
         "a 1,4-diazepine (C3 sp3, C5 not a carbonyl) fused to a benzene or thiophene ring, or a "
         "1,5-benzodiazepine-2,4-dione"),
    Rule("indole/indazole-3-carbonyl", "synthetic_cannabinoid",
         ("[CX3;!R](=O)-c1:[c,n]:n(-[CX4;!$([CH3])]):c2:a:a:a:a:c:1:2",),
         "an indole, indazole or azaindole with a 3-carbonyl (ketone, amide or ester, not in a ring) and an "
         "alkyl tail (not methyl) on N1: JWH-018, AB-CHMINACA, 5F-MDMB-PICA, PB-22"),
    Rule("pyrrole-3-aroyl", "synthetic_cannabinoid",
         ("[CX3;!R](=O)(-a)-c1:c:n(-[CH2]-[CH2]-[CH2]):c:c:1",),
         "a 3-aroylpyrrole with a C3+ alkyl tail on N: JWH-030, JWH-145, JWH-307"),
    Rule("dimethylheptyl phenol", "synthetic_cannabinoid",
         ("[OX2]-c1:c:c(-C(-[CH3])(-[CH3])-[CH2]-[CH2]-[CH2,CH3]):c:c:c:1",),
         "a phenol with a 1,1-dimethylalkyl chain meta to the oxygen: CP-47,497, HU-210"),
    Rule("alkylresorcinol terpenoid", "phytocannabinoid",
         ("[CH2;!R](-[CH2]-[CH3,CH2])-c1:c:c(-[OX2]):c(-[#6]):c(-[OX2]):c:1",),
         "a 5-alkylresorcinol (free or as a pyran ether) carrying a terpenoid carbon at C2: THC, CBD, CBN, CBG"),
    Rule("2-alkyl-3-aryl-quinazolin-4-one", "quinazolinone",
         ("[#8]=[#6]1~[#6]2~[#6]~[#6]~[#6]~[#6]~[#6]~2~[#7]~[#6](-[#6;!a])~[#7]~1-a",),
         "methaqualone and its analogues: etaqualone, mebroqualone, afloqualone"),
    Rule("beta-keto phenethylamine", "synthetic_cathinone",
         (f"a-[CX3;!R](=O)-[CX4;H1,H2]-{_AMINE}",),
         "an aryl ketone with a basic amine on a CH or CH2 alpha carbon"),
    Rule("arylcyclohexylamine", "arylcyclohexylamine",
         (f"{_AMINE}-[CX4;R1]1(-a)-[#6;R1]-[#6;R1]-[#6;R1]-[#6;R1]-[#6;R1]-1",),
         "a cyclohexane (or cyclohexanone) carbon bearing both an aryl group and a basic amine"),
    Rule("2-aminoindane", "aminoindane",
         (f"{_AMINE}-[CH1;R1]1-[CH2]-c2:c:c:c:c:c:2-[CH2]-1",),
         "an amine on C2 of indane"),
    Rule("benzyl/aryl piperazine", "piperazine",
         ("[NX3;R1;$([NH1]),$(N-[CH3])]1-[CH2;R1]-[CH2;R1]-[NX3;R1](-[$(c1:c:c:c:c:c:1),$([CH2]-c1:c:c:c:c:c:1)])"
          "-[CH2;R1]-[CH2;R1]-1",),
         "a piperazine with a phenyl or benzyl group on one N and H or methyl on the other, at most 22 heavy "
         "atoms in all (larger arylpiperazines are medicines: fluoroquinolones, imatinib)",
         max_heavy_atoms=22),
    Rule("tryptamine", "tryptamine",
         (f"{_AMINE}-[$([CH2;!R]),$([CH1;!R]-[CH3]),$([CH1;!R]-[CH2]-[CH3])]-[CH2;!R]-c1:c:[nX3]:c2:c:c:c:c:c:1:2",),
         "an indole with a 2-aminoethyl (or 2-aminopropyl) chain on C3; amino acids and amides excluded"),
    Rule("ephedrine type", "ats_precursor",
         ("[OX2H1]-[CH1](-c1:c:c:c:c:c:1)-[CH1](-[CH3])-[NX3;$([NH2]),$([NH1]-[CH3])]",),
         "1-phenyl-2-(methyl)amino-propan-1-ols: ephedrine, pseudoephedrine, norephedrine"),
    Rule("aryl-2-propanone", "ats_precursor",
         ("a-[CH2]-C(=O)-[CH3]",),
         "1-aryl-propan-2-ones: P-2-P, 3,4-MDP-2-P (PMK)"),
    Rule("alpha-acetyl arylacetic acid derivative", "ats_precursor",
         ("a-[CH1](-[$(C#N),$(C(=O)-[NH2]),$(C(=O)-O-[CH3]),$(C(=O)-O-[CH2]-[CH3])])-C(=O)-[CH3]",),
         "2-aryl-3-oxobutanenitrile, -amide and -esters: APAAN, APAA, MAPA"),
    Rule("aryl methylglycidate", "ats_precursor",
         ("a-[CH1]1-[OX2]-[C]-1(-[CH3])-C(=O)-[OX2]",),
         "3-aryl-2-methyloxirane-2-carboxylic acids and esters: PMK and BMK glycidic acid and glycidates"),
    Rule("safrole type", "ats_precursor",
         ("[CH2]=[CH1]-[CH2]-" + _BENZODIOXOLE, "[CH3]-[CH1]=[CH1]-" + _BENZODIOXOLE, "[CH1](=O)-" + _BENZODIOXOLE),
         "safrole, isosafrole and piperonal"),
    Rule("phenylacetic acid", "ats_precursor",
         ("[OX2H1]-C(=O)-[CH2]-c1:[cH]:[cH]:[cH]:[cH]:[cH]:1",),
         "phenylacetic acid (ring not substituted)"),
    Rule("aryl nitroalkene", "ats_precursor",
         ("a-[CH1]=[CX3]-[N+](=O)-[O-]",),
         "1-aryl-2-nitroalkenes (nitrostyrenes): phenyl-2-nitropropene"),
    Rule("phenethylamine", "phenethylamine",
         tuple(f"{_PEA_ARYL}-{_PEA_BETA}-{_PEA_ALPHA}-{n}" for n in _PEA_N),
         "an aryl-CH2-CH(R)-N chain: small alpha group (H, methyl, ethyl, gem-dimethyl), beta carbon "
         "CH2 or CH-OH/OMe/Me, basic N with H, C1-C3 alkyl, allyl, benzyl or OH",
         effect_overrides=(
             ("[CX4]-c1:c(-O-[CH3]):c:c:c(-O-[CH3]):c:1", "classic hallucinogens"),
             ("[CX4]-c1:c:c(-O-[CH3]):c(-O-[CH3]):c(-O-[CH3]):c:1", "classic hallucinogens"),
         )),
)


@dataclass(frozen=True)
class ClassResult:
    """The class of one structure.

    Attributes
    ----------
    drug_class : str
        Class label (``"other"`` when no rule matched).
    rule : str
        Name of the rule that decided it ("" for ``"other"``).
    ewa_group : str
        UNODC EWA substance group.
    effect_group : str
        UNODC EWA effect group.
    """

    drug_class: str
    rule: str
    ewa_group: str
    effect_group: str


def _compile(smarts: str) -> Chem.Mol:
    from nps_id.chem.structure import quiet_rdkit

    with quiet_rdkit():
        pattern = Chem.MolFromSmarts(smarts)
    if pattern is None:  # a bug in the rule table, not in the user's input
        raise ChemistryError(f"Invalid SMARTS in the class rules: {smarts!r}")
    return pattern


@lru_cache(maxsize=1)
def _compiled() -> tuple[tuple[Rule, tuple[Chem.Mol, ...], tuple[tuple[Chem.Mol, str], ...]], ...]:
    return tuple(
        (rule, tuple(_compile(s) for s in rule.smarts), tuple((_compile(s), e) for s, e in rule.effect_overrides))
        for rule in RULES
    )


def classify_mol(mol: Chem.Mol) -> ClassResult:
    """Classify an already standardised parent structure (see :func:`classify` for text input).

    Parameters
    ----------
    mol : rdkit.Chem.Mol
        Parent structure (:func:`nps_id.chem.structure.parent_structure`).

    Returns
    -------
    ClassResult
    """
    n_heavy = mol.GetNumHeavyAtoms()
    for rule, patterns, overrides in _compiled():
        if rule.max_heavy_atoms is not None and n_heavy > rule.max_heavy_atoms:
            continue
        if any(mol.HasSubstructMatch(p) for p in patterns):
            cls = TAXONOMY[rule.drug_class]
            effect = next((e for p, e in overrides if mol.HasSubstructMatch(p)), cls.effect_group)
            return ClassResult(cls.name, rule.name, cls.ewa_group, effect)
    other = TAXONOMY["other"]
    return ClassResult(other.name, "", other.ewa_group, other.effect_group)


def classify(structure: str | Chem.Mol, *, derivative: bool = False) -> ClassResult:
    """Classify a structure (SMILES, InChI, molblock or molecule).

    Parameters
    ----------
    structure : str or rdkit.Chem.Mol
        The structure as given; it is standardised first (salts, charges, isotope labels, silyl groups).
    derivative : bool, default False
        The structure is a derivative (TFA, PFP, HFB, TPC, acetyl); classify the underivatised parent.

    Returns
    -------
    ClassResult

    Raises
    ------
    ChemistryError
        If the structure cannot be parsed.

    Examples
    --------
    >>> classify("CN(C)CC1CCCCC1(O)c1cccc(OC)c1").drug_class
    'tramadol'
    """
    from nps_id.chem.structure import parent_structure

    return classify_mol(parent_structure(structure, derivative=derivative))
