"""Tests of nps_id.chem.classes on the reference table of named compounds."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from nps_id.chem.classes import CLASS_NAMES, RULES, TAXONOMY, classify
from nps_id.errors import ChemistryError

REFERENCE = Path(__file__).parent / "data" / "reference_compounds.csv"
ROWS = list(csv.DictReader(REFERENCE.open()))


def test_reference_table_covers_every_class_and_required_look_alikes():
    counts = Counter(r["expected_class"] for r in ROWS)
    assert set(counts) == set(CLASS_NAMES)
    names = {r["name"] for r in ROWS}
    for look_alike in ("Venlafaxine", "Tapentadol", "Tryptophan", "Phenylalanine", "Ondansetron", "Domperidone",
                       "Bupropion"):
        assert look_alike in names


@pytest.mark.parametrize("row", ROWS, ids=[r["name"] for r in ROWS])
def test_reference_compound_gets_its_expected_class(row):
    assert classify(row["smiles"]).drug_class == row["expected_class"]


def test_confusion_table_is_diagonal():
    confusion = Counter((r["expected_class"], classify(r["smiles"]).drug_class) for r in ROWS)
    off_diagonal = {k: v for k, v in confusion.items() if k[0] != k[1]}
    assert off_diagonal == {}


@pytest.mark.parametrize(
    "smiles, not_class",
    [
        ("CN(C)CC(c1ccc(OC)cc1)C1(O)CCCCC1", "tramadol"),  # venlafaxine
        ("CC[C@@H](c1cccc(O)c1)[C@@H](C)CN(C)C", "tramadol"),  # tapentadol
        ("N[C@@H](Cc1c[nH]c2ccccc12)C(=O)O", "tryptamine"),  # tryptophan
        ("N[C@@H](Cc1ccccc1)C(=O)O", "phenethylamine"),  # phenylalanine
        ("Cc1nccn1CC1CCc2c(C1=O)c1ccccc1n2C", "synthetic_cannabinoid"),  # ondansetron
        ("O=c1[nH]c2ccccc2n1CCCN1CCC(CC1)n1c(=O)[nH]c2cc(Cl)ccc21", "other_opioid"),  # domperidone
    ],
)
def test_look_alikes_do_not_match(smiles, not_class):
    assert classify(smiles).drug_class != not_class


def test_salt_and_deuterated_forms_keep_the_class():
    assert classify("CN(C)CC1CCCCC1(O)c1cccc(OC)c1.Cl").drug_class == "tramadol"
    assert classify("[2H]C([2H])([2H])NC(C)C(=O)c1ccc(C)cc1").drug_class == "synthetic_cathinone"


def test_derivatised_cathinone_is_classified_on_its_parent():
    n_tfa_mephedrone = "CN(C(=O)C(F)(F)F)C(C)C(=O)c1ccc(C)cc1"
    assert classify(n_tfa_mephedrone).drug_class != "synthetic_cathinone"
    assert classify(n_tfa_mephedrone, derivative=True).drug_class == "synthetic_cathinone"


def test_hallucinogenic_phenethylamines_get_their_effect_group():
    assert classify("COc1cc(CCN)c(OC)cc1Br").effect_group == "classic hallucinogens"  # 2C-B
    assert classify("CNC(C)Cc1ccccc1").effect_group == "stimulants"  # methamphetamine


def test_every_rule_names_a_class_of_the_taxonomy_with_groups():
    for rule in RULES:
        assert rule.drug_class in TAXONOMY
        assert rule.description
    for name, cls in TAXONOMY.items():
        if name not in ("other", "fentanyl_precursor", "ats_precursor"):
            assert cls.ewa_group and cls.effect_group


def test_result_carries_rule_and_groups():
    res = classify("CCC(=O)N(c1ccccc1)C1CCN(CCc2ccccc2)CC1")
    assert (res.drug_class, res.rule) == ("fentanyl_analogue", "4-anilidopiperidine")
    assert res.ewa_group == TAXONOMY["fentanyl_analogue"].ewa_group
    assert classify("Cn1c(=O)c2c(ncn2C)n(C)c1=O").rule == ""


def test_unparsable_structure_raises():
    with pytest.raises(ChemistryError):
        classify("C1CC")
