"""Tests of nps_id.chem.schedules: the international list as data, and matching structures to it.

The expectations are hand-written tables in ``tests/chem/data`` (their SMILES are drawn independently
of the shipped list: other atom orders, Kekule forms, salts, stereo forms) and are checked through the
public functions only.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from nps_id.chem.control import control_status, load_controlled, nearest_controlled, national_status
from nps_id.chem.schedules import list_checksum, schedule_counts
from nps_id.chem.structure import inchikey, parent_structure

DATA = Path(__file__).parent / "data"
LISTED = list(csv.DictReader((DATA / "control_expectations.csv").open(encoding="utf-8")))
LOOKALIKES = list(csv.DictReader((DATA / "control_lookalikes.csv").open(encoding="utf-8")))
UNDER_CONTROL = {"controlled", "listed_precursor"}


def test_expectation_tables_are_large_enough_and_cover_every_instrument():
    assert len(LISTED) >= 150 and len(LOOKALIKES) >= 50
    covered = {(r["instrument"], r["schedule"]) for r in LISTED}
    for needed in [("1961", "I"), ("1961", "II"), ("1961", "I and IV"), ("1971", "I"), ("1971", "II"),
                   ("1971", "III"), ("1971", "IV"), ("1988", "I"), ("1988", "II")]:
        assert needed in covered


@pytest.mark.parametrize("row", LISTED, ids=[r["name"] for r in LISTED])
def test_listed_substance_gets_its_instrument_and_schedule(row):
    res = control_status(row["smiles"])
    assert res.status in UNDER_CONTROL, res.note
    assert (res.instrument, res.schedule) == (row["instrument"], row["schedule"]), res.note
    word = "Table" if row["instrument"] == "1988" else "Schedule"
    assert f"{row['instrument']} Convention, {word}" in res.note


@pytest.mark.parametrize("row", LOOKALIKES, ids=[r["name"] for r in LOOKALIKES])
def test_unlisted_lookalike_is_never_reported_as_listed(row):
    res = control_status(row["smiles"])
    assert res.status in {"not_listed", "controlled_analogue", "precursor_analogue", "fentanyl_related"}, res.note
    assert not res.instrument and not res.listed_name


def test_every_entry_parses_and_has_a_unique_inchikey():
    entries = load_controlled()
    keys = [inchikey(parent_structure(e.smiles)) for e in entries]
    assert all(keys)
    assert len(set(keys)) == len(keys)
    assert len({e.name for e in entries}) == len(entries)


def test_every_entry_has_a_valid_instrument_schedule_and_source():
    this_year = 2100
    for e in load_controlled():
        if e.kind == "reference":
            assert e.instrument == "none" and "not under international control" in e.control, e.name
            continue
        allowed = {"1961": {"I", "II", "IV"}, "1971": {"I", "II", "III", "IV"}, "1988": {"I", "II"}}[e.instrument]
        assert e.schedules and set(e.schedules) <= allowed, e.name
        if e.instrument == "1961" and "IV" in e.schedules:
            assert "I" in e.schedules, e.name  # Schedule IV substances are all in Schedule I too
        assert e.kind == ("precursor" if e.instrument == "1988" else "drug"), e.name
        if e.year is not None:
            assert int(e.instrument) <= e.year < this_year, e.name
        if e.effective:
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", e.effective), e.name


def test_counts_per_convention_and_schedule():
    counts = schedule_counts()
    assert sum(v for (inst, _), v in counts.items() if inst == "1961") >= 120
    assert counts[("1971", "II")] >= 60 and counts[("1971", "IV")] >= 60
    assert counts[("1988", "I")] >= 25
    assert set(counts) >= {("1961", "I"), ("1961", "II"), ("1961", "IV"), ("1971", "I"), ("1971", "III"),
                           ("1988", "II"), ("none", "")}
    assert len(list_checksum()) == 64


@pytest.mark.parametrize("name, year", [("Pentedrone", 2017), ("Ethylone", 2017), ("4-MEC", 2017),
                                        ("XLR-11", 2017), ("Isotonitazene", 2021), ("Carfentanil", 2018)])
def test_recent_decisions_carry_their_year(name, year):
    entry = {e.name: e for e in load_controlled()}[name]
    res = control_status(entry.smiles)
    assert res.year == year
    assert f"since {year}" in res.note


def test_reference_substances_are_not_under_international_control():
    for smiles in ("CN(C)CC1CCCCC1(O)c1cccc(OC)c1",  # tramadol
                   "CCC(c1cccc(O)c1)C(C)CN(C)C",  # tapentadol
                   "CNC1(c2ccccc2Cl)CCCCC1=O"):  # ketamine
        res = control_status(smiles)
        assert res.status == "not_internationally_controlled"
        assert "not under international control" in res.note


def test_nearest_controlled_ranks_listed_substances_only():
    tramadol = "CN(C)CC1CCCCC1(O)c1cccc(OC)c1"
    names = [n.name for n in nearest_controlled(tramadol, k=10)]
    assert "Tramadol" not in names and "Tapentadol" not in names
    assert control_status(tramadol).nearest not in ("Tramadol", "Tapentadol", "Ketamine")


def test_dextromethorphan_is_excluded_but_levomethorphan_is_listed():
    dextro = "COc1ccc2c(c1)[C@]13CCCC[C@@H]1[C@H](C2)N(C)CC3"
    levo = "COc1ccc2c(c1)[C@@]13CCCC[C@H]1[C@@H](C2)N(C)CC3"
    assert control_status(dextro).status == "not_internationally_controlled"
    assert "excluded" in control_status(dextro).note
    assert control_status(levo).status == "controlled"
    flat = control_status("COc1ccc2CC3N(C)CCC4(CCCCC34)c2c1")
    assert flat.status == "controlled" and "stereochemistry not given" in flat.note
    assert "Dextromethorphan" in flat.note


def test_stereoisomer_not_covered_outside_a_stereoisomer_clause():
    # (1R,2R)-pseudoephedrine: Table I of the 1988 Convention lists ephedrine and pseudoephedrine as
    # single stereoisomers and has no stereoisomer clause
    res = control_status("CN[C@H](C)[C@H](O)c1ccccc1")
    assert res.status == "precursor_analogue"
    assert "listed as that stereoisomer only" in res.note


def test_stereoisomer_clause_of_1971_schedule_one():
    res = control_status("C[C@@H](N)C(=O)c1ccccc1")  # (R)-cathinone; the Schedule names the (S)-isomer
    assert res.status == "controlled" and res.basis == "stereoisomer"
    assert "stereoisomer clause" in res.note


def test_esters_and_ethers_of_1961_schedule_one_substances():
    res = control_status("CCC(=O)OC1C=CC2C3Cc4ccc(O)c5OC1C2(CCN3C)c45")  # 6-propionylmorphine
    assert res.status == "controlled" and res.basis == "ester_ether"
    assert "an ester of Morphine" in res.note and res.schedule == "I"
    # codeine is an ether of morphine, but Schedule II lists it: it keeps Schedule II
    assert control_status("COc1ccc2CC3N(C)CCC45C(Oc1c24)C(O)C=CC35").schedule == "II"
    # Schedule II has no such clause, but dihydrocodeine 6-butyrate is also an ester and ether of
    # dihydromorphine (Schedule I), and so covered by the Schedule I clause as worded
    res = control_status("CCCC(=O)OC1CCC2C3Cc4ccc(OC)c5OC1C2(CCN3C)c45")
    assert res.basis == "ester_ether" and "an ester and ether of Dihydromorphine" in res.note
    # a substituent elsewhere than on a hydroxyl oxygen is not an ester or ether
    assert control_status("CN1CCC23c4c5cc(C)c(O)c4OC2C(O)C=CC3C1C5").status != "controlled"


NATIONAL = ("name,smiles,instrument,schedule,year,decision,effective,remarks\n"
            "Tramadol,CN(C)CC1CCCCC1(O)c1cccc(OC)c1,Example Act,Schedule 2,2019,,2019-07-01,\n"
            "Ketamine,CNC1(c2ccccc2Cl)CCCCC1=O,Example Act,Schedule 1,,,,\n")


def test_national_list_by_path_and_by_environment(tmp_path, monkeypatch):
    path = tmp_path / "national.csv"
    path.write_text(NATIONAL)
    monkeypatch.delenv("NPS_ID_NATIONAL_LIST", raising=False)
    tramadol = "CN(C)CC1CCCCC1(O)c1cccc(OC)c1.Cl"
    assert national_status(tramadol) is None  # nothing configured
    res = national_status(tramadol, path=path)
    assert res.status == "controlled"
    assert res.note == "controlled (Example Act, Schedule 2, since 2019, in force 2019-07-01)"
    monkeypatch.setenv("NPS_ID_NATIONAL_LIST", str(path))
    assert national_status("CNC1(c2ccccc2Cl)CCCCC1=O").note == "controlled (Example Act, Schedule 1)"
    assert national_status("Cn1c(=O)c2c(ncn2C)n(C)c1=O").status == "not_listed"
    # the international status is unchanged by a national list
    assert control_status(tramadol).status == "not_internationally_controlled"


def test_bad_national_list_names_the_row(tmp_path):
    from nps_id.errors import ChemistryError

    path = tmp_path / "bad.csv"
    path.write_text("name,smiles,instrument,schedule\nBroken,C1CC,Example Act,1\n")
    with pytest.raises(ChemistryError, match="line 2"):
        national_status("CCO", path=path)
    with pytest.raises(ChemistryError, match="No control list"):
        national_status("CCO", path=tmp_path / "missing.csv")


def test_a_citation_says_when_the_listing_was_not_checked_against_the_decision():
    entries = load_controlled()
    unverified = [e for e in entries if "verify" in e.remarks.lower() and e.kind != "reference"]
    sourced = [e for e in entries if e.remarks.startswith("source:")]
    assert unverified and sourced
    assert all("not yet checked against the published decision" in e.describe() for e in unverified)
    assert not any("not yet checked" in e.describe() for e in sourced)
