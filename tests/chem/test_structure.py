"""Tests of nps_id.chem.structure: parsing, standardisation, identifiers, parents of labelled/derivatised records."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import pytest
from rdkit import Chem

from nps_id.chem.structure import (
    describe,
    parent_structure,
    quiet_rdkit,
    read_structure,
    remove_derivatisation,
    standardize,
)
from nps_id.errors import ChemistryError

REFERENCE = Path(__file__).parent / "data" / "reference_compounds.csv"
FENTANYL = "CCC(=O)N(c1ccccc1)C1CCN(CCc2ccccc2)CC1"


def _smiles(mol: Chem.Mol) -> str:
    return Chem.MolToSmiles(mol)


def test_reference_table_formulas_match_the_named_compounds():
    # every reference SMILES parses and its formula is the one noted for the named compound
    rows = list(csv.DictReader(REFERENCE.open()))
    assert len(rows) >= 150
    assert len({r["name"] for r in rows}) == len(rows)
    for row in rows:
        expected = row["notes"].split(";")[0].strip()
        assert describe(row["smiles"]).formula == expected, row["name"]


def test_describe_fentanyl_hydrochloride_gives_free_base_identifiers():
    s = describe(FENTANYL + ".Cl")
    assert s.formula == "C22H28N2O"
    assert s.inchikey == "PJMPHNIQZUBGLI-UHFFFAOYSA-N"
    assert s.monoisotopic_mass == pytest.approx(336.2202, abs=1e-3)
    assert s.smiles == _smiles(Chem.MolFromSmiles(FENTANYL))


def test_inchi_and_molblock_read_the_same_structure():
    mol = Chem.MolFromSmiles(FENTANYL)
    from_inchi = read_structure(Chem.MolToInchi(mol))
    from_block = read_structure(Chem.MolToMolBlock(mol))
    assert _smiles(from_inchi) == _smiles(mol) == _smiles(from_block)


@pytest.mark.parametrize("bad", ["C1CC", "c1cccc1", "not a smiles", "", "   ", "InChI=1S/garbage"])
def test_unparsable_structure_raises_chemistry_error_quoting_the_input(bad):
    with pytest.raises(ChemistryError) as err:
        read_structure(bad)
    assert isinstance(err.value, ValueError)
    if bad.strip():
        assert bad.strip()[:20] in str(err.value)


def test_parse_errors_do_not_flood_the_log(caplog, capfd):
    with caplog.at_level(logging.DEBUG):
        for _ in range(20):
            with pytest.raises(ChemistryError):
                read_structure("C1CC(")
    out, err = capfd.readouterr()
    assert "SMILES Parse Error" not in err + out
    assert not [r for r in caplog.records if "rdApp" in r.name]


def test_quiet_rdkit_restores_logging_afterwards(capfd):
    with quiet_rdkit():
        Chem.MolFromSmiles("C1CC")
    assert "SMILES Parse Error" not in capfd.readouterr().err
    Chem.MolFromSmiles("C1CC")
    assert "SMILES Parse Error" in capfd.readouterr().err


def test_standardize_neutralises_and_keeps_largest_organic_fragment():
    assert _smiles(standardize("[NH3+]C(C)Cc1ccccc1.OS(=O)(=O)[O-]")) == "CC(N)Cc1ccccc1"
    assert _smiles(standardize("O=C([O-])c1ccccc1.[Na+]")) == "O=C(O)c1ccccc1"
    # a quaternary ammonium has no neutral form and stays charged
    assert _smiles(standardize("C[N+](C)(C)C.[Cl-]")) == "C[N+](C)(C)C"


def test_standardize_canonical_tautomer_merges_tautomers():
    keto = standardize("CC(=O)C", tautomer=True)
    enol = standardize("CC(O)=C", tautomer=True)
    assert _smiles(keto) == _smiles(enol)


def test_parent_of_deuterated_standard_is_the_unlabelled_compound():
    labelled = "[2H]c1c([2H])c([2H])c(CCN2CCC(N(C(=O)CC)c3ccccc3)CC2)c([2H])c1[2H]"
    assert _smiles(parent_structure(labelled)) == _smiles(Chem.MolFromSmiles(FENTANYL))
    assert _smiles(parent_structure("[13CH3]C(=O)O")) == "CC(=O)O"


def test_silyl_groups_are_always_removed():
    psilocin_di_tms = "CN(C)CCc1cn([Si](C)(C)C)c2cccc(O[Si](C)(C)C)c12"
    assert _smiles(parent_structure(psilocin_di_tms)) == _smiles(Chem.MolFromSmiles("CN(C)CCc1c[nH]c2cccc(O)c12"))
    tbdms = "CC(NC)C(O[Si](C)(C)C(C)(C)C)c1ccccc1"
    assert _smiles(parent_structure(tbdms)) == _smiles(Chem.MolFromSmiles("CC(NC)C(O)c1ccccc1"))
    # a cyclic siloxane is no silyl derivative and is left alone
    siloxane = "C[Si]1(C)O[Si](C)(C)O[Si](C)(C)O1"
    assert _smiles(parent_structure(siloxane)) == _smiles(Chem.MolFromSmiles(siloxane))


@pytest.mark.parametrize(
    "derivative, parent",
    [
        ("CCCN(C(=O)C(F)(F)F)C(C)Cc1ccc(OC)cc1", "CCCNC(C)Cc1ccc(OC)cc1"),  # TFA
        ("CCCN(C(=O)C(F)(F)C(F)(F)F)C(C)Cc1ccc(OC)cc1", "CCCNC(C)Cc1ccc(OC)cc1"),  # PFP
        ("CN(C(=O)C(F)(F)C(F)(F)C(F)(F)F)C(C)Cc1ccccc1", "CNC(C)Cc1ccccc1"),  # HFB
        ("CN(C(C)Cc1ccccc1)C(=O)C1CCCN1C(=O)C(F)(F)F", "CNC(C)Cc1ccccc1"),  # TPC
        ("CN(C(C)=O)C(C)C(=O)c1ccc(C)c(C)c1", "CNC(C)C(=O)c1ccc(C)c(C)c1"),  # acetyl
    ],
)
def test_acyl_derivatives_are_removed_only_when_flagged(derivative, parent):
    assert _smiles(parent_structure(derivative, derivative=True)) == _smiles(Chem.MolFromSmiles(parent))
    assert _smiles(parent_structure(derivative)) != _smiles(Chem.MolFromSmiles(parent))


def test_acetylfentanyl_keeps_its_acetyl_unless_flagged():
    acetylfentanyl = "CC(=O)N(c1ccccc1)C1CCN(CCc2ccccc2)CC1"
    assert _smiles(parent_structure(acetylfentanyl)) == _smiles(Chem.MolFromSmiles(acetylfentanyl))
    _, n = remove_derivatisation(Chem.MolFromSmiles(acetylfentanyl))
    assert n == 0
