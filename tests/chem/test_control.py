"""Tests of nps_id.chem.control: listed precursors, control status, analogues, fentanyl-related substances."""

from __future__ import annotations

import pytest

from nps_id.chem.classes import classify
from nps_id.chem.control import (
    ANALOGUE_SIMILARITY,
    analogue_report,
    control_status,
    fentanyl_related,
    listed_precursors,
    load_controlled,
    nearest_controlled,
    shared_scaffold,
)

FENTANYL = "CCC(=O)N(c1ccccc1)C1CCN(CCc2ccccc2)CC1"


def test_every_listed_entry_is_classified_as_its_listed_class():
    for entry in load_controlled():
        assert classify(entry.smiles).drug_class == entry.drug_class, entry.name


@pytest.mark.parametrize(
    "name, year",
    [("NPP", 2017), ("ANPP", 2017), ("4-AP", 2022), ("1-boc-4-AP", 2022), ("Norfentanyl", 2022),
     ("4-Piperidone", 2024), ("1-boc-4-piperidone", 2024)],
)
def test_fentanyl_precursors_of_table_one_with_their_year(name, year):
    entry = {e.name: e for e in listed_precursors()}[name]
    assert entry.year == year
    assert entry.drug_class == "fentanyl_precursor"
    result = control_status(entry.smiles)
    assert result.status == "listed_precursor"
    assert result.note == f"listed precursor (1988 Convention, Table I, since {year})"


def test_ats_precursors_are_listed():
    names = {e.name for e in listed_precursors() if e.drug_class == "ats_precursor"}
    for expected in ("APAAN", "APAA", "MAPA", "PMK glycidic acid", "PMK methyl glycidate", "Safrole"):
        assert expected in names
    # pseudoephedrine is listed with ephedrine (same connectivity, other stereoisomer)
    assert control_status("CN[C@@H](C)[C@@H](O)c1ccccc1").status == "listed_precursor"


def test_unlisted_precursor_analogue_is_reported_as_close_analogue():
    res = control_status("Fc1ccc(NC2CCN(CCc3ccccc3)CC2)cc1")  # para-fluoro ANPP
    assert res.status == "precursor_analogue"
    assert res.nearest == "ANPP"
    assert res.similarity >= ANALOGUE_SIMILARITY
    assert "close analogue of a listed precursor (ANPP" in res.note


def test_controlled_substance_salt_and_labelled_standard_are_listed():
    assert control_status(FENTANYL + ".Cl").status == "controlled"
    d5 = "[2H]c1c([2H])c([2H])c(CCN2CCC(N(C(=O)CC)c3ccccc3)CC2)c([2H])c1[2H]"
    assert control_status(d5).listed_name == "Fentanyl"


def test_tramadol_is_on_the_list_but_not_internationally_controlled():
    res = control_status("CN(C)CC1CCCCC1(O)c1cccc(OC)c1")
    assert res.status == "not_internationally_controlled"


def test_unrelated_compound_is_not_listed():
    res = control_status("Cn1c(=O)c2c(ncn2C)n(C)c1=O")  # caffeine
    assert res.status == "not_listed"
    assert res.similarity < ANALOGUE_SIMILARITY


def test_unlisted_cathinone_is_a_controlled_analogue():
    res = control_status("CNC(C)C(=O)c1ccccc1C")  # 2-MMC, not listed (3-MMC and 4-MMC are)
    assert res.status == "controlled_analogue"
    assert classify("CNC(C)C(=O)c1ccccc1C").drug_class == "synthetic_cathinone"


@pytest.mark.parametrize(
    "smiles, modifications",
    [
        (FENTANYL, ()),
        ("CCCCC(=O)N(c1ccccc1)C1CCN(CCc2ccccc2)CC1", ("E",)),  # valerylfentanyl
        ("CCC(=O)N(c1ccccc1F)C1CCN(CCc2ccccc2)CC1", ("D",)),  # ortho-fluorofentanyl
        ("CCC(=O)N(c1ccccc1)C1CCN(CCc2cccs2)CC1", ("A",)),  # thiofentanyl
        ("CCC(=O)N(c1ccccc1)C1CCN(CC(O)c2ccccc2)CC1", ("B",)),  # beta-hydroxyfentanyl
        ("CCC(=O)N(c1ccccc1)C1CCN(CCc2ccccc2)CC1C", ("C",)),  # 3-methylfentanyl
        ("CCC(=O)N(c1ccccc1)C1(C(=O)OC)CCN(CCc2ccccc2)CC1", ("C",)),  # carfentanil
        ("COCC(=O)N(c1ccccc1F)C1CCN(CCc2ccccc2)CC1", ("D", "E")),  # ocfentanil
        ("CCC(=O)N(c1ccccc1)C1(COC)CCN(CCc2cccs2)CC1", ("A", "C")),  # sufentanil
    ],
)
def test_fentanyl_related_modifications(smiles, modifications):
    res = fentanyl_related(smiles)
    assert res.matches
    assert res.modifications == modifications


@pytest.mark.parametrize(
    "smiles",
    [
        "CCC(=O)N(c1ccccc1)C1CCN(Cc2ccccc2)CC1",  # benzylfentanyl: one-carbon link
        "CCC(=O)N(c1ccccc1)C1(C(=O)OC)CCN(CCC(=O)OC)CC1",  # remifentanil: no ring on the link
        "c1ccc(NC2CCN(CCc3ccccc3)CC2)cc1",  # ANPP: no acyl group
        "CN(C)CC1CCCCC1(O)c1cccc(OC)c1",  # tramadol
    ],
)
def test_outside_the_fentanyl_related_definition(smiles):
    assert not fentanyl_related(smiles).matches


def test_unlisted_fentanyl_related_substance_gets_that_status():
    res = control_status("CCCCCC(=O)N(c1ccccc1)C1CCN(CCc2ccccc2)CC1")  # hexanoylfentanyl, not listed
    assert res.status == "fentanyl_related"
    assert "modification E" in res.note


def test_nearest_controlled_and_analogue_report():
    query = "CCC(=O)N(c1ccccc1F)C1CCN(CCc2ccccc2)CC1C"  # 2-fluoro-3-methylfentanyl, not listed
    near = nearest_controlled(query, k=3)
    assert len(near) == 3
    assert near[0].similarity >= near[1].similarity >= near[2].similarity
    assert near[0].drug_class == "fentanyl_analogue"
    report = analogue_report(query, k=2)
    assert report.drug_class == "fentanyl_analogue"
    assert report.fentanyl_related.modifications == ("C", "D")
    assert [n.name for n in report.neighbours] == [n.name for n in near[:2]]
    assert all("N(" in n.scaffold for n in report.neighbours)


def test_shared_scaffold_of_fentanyl_and_acetylfentanyl_is_acetylfentanyl_sized():
    scaffold = shared_scaffold(FENTANYL, "CC(=O)N(c1ccccc1)C1CCN(CCc2ccccc2)CC1")
    from rdkit import Chem

    assert Chem.MolFromSmarts(scaffold).GetNumAtoms() == 24  # all of acetylfentanyl's heavy atoms


def test_custom_reference_list(tmp_path):  # the older list format (drug_class, kind, control) is still read
    path = tmp_path / "list.csv"
    path.write_text("name,smiles,drug_class,kind,control,year\n"
                    "Caffeine,Cn1c(=O)c2c(ncn2C)n(C)c1=O,other,drug,national list,\n")
    res = control_status("Cn1c(=O)c2c(ncn2C)n(C)c1=O", path=path)
    assert res.status == "controlled" and res.note == "controlled (national list)"
