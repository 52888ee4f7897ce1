"""Tests of ``python -m nps_id chem classify``."""

from __future__ import annotations

import csv
import subprocess
import sys

from nps_id.cli import main

REQUIRED = ("smiles", "class", "ewa_group", "effect_group", "control_status", "nearest_controlled", "similarity")


def test_classify_csv_keeps_rows_in_order(tmp_path, monkeypatch):
    monkeypatch.delenv("NPS_ID_NATIONAL_LIST", raising=False)
    src = tmp_path / "in.csv"
    rows = [
        {"id": "a", "smiles": "CN(C)CC1CCCCC1(O)c1cccc(OC)c1"},  # tramadol
        {"id": "b", "smiles": "C1CC"},  # unparsable
        {"id": "c", "smiles": "O=C1CCN(CCc2ccccc2)CC1"},  # NPP
        {"id": "d", "smiles": "CN(C)CC(c1ccc(OC)cc1)C1(O)CCCCC1"},  # venlafaxine
    ]
    with src.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["id", "smiles"])
        writer.writeheader()
        writer.writerows(rows)
    out = tmp_path / "out.csv"
    assert main(["chem", "classify", "--input", str(src), "-o", str(out)]) == 0
    got = list(csv.DictReader(out.open()))
    assert [r["id"] for r in got] == ["a", "b", "c", "d"]
    for column in REQUIRED + ("error",):
        assert column in got[0]
    assert [r["class"] for r in got] == ["tramadol", "invalid", "fentanyl_precursor", "other"]
    assert got[1]["error"] and not got[0]["error"]
    assert got[2]["control_status"] == "listed_precursor"
    assert got[2]["control_note"] == "listed precursor (1988 Convention, Table I, since 2017)"
    # tramadol is not under international control: its nearest *listed* substance is something else
    assert got[0]["control_status"] == "not_internationally_controlled"
    assert got[0]["nearest_controlled"] != "Tramadol" and float(got[0]["similarity"]) < 1.0
    assert got[0]["national_status"] == ""  # no national list configured


def test_classify_smiles_arguments_to_stdout():
    proc = subprocess.run(
        [sys.executable, "-m", "nps_id", "-q", "chem", "classify", "CNC(C)C(=O)c1ccc(C)cc1", "c1ccccc1"],
        capture_output=True, text=True, check=True)
    got = list(csv.DictReader(proc.stdout.splitlines()))
    assert [r["class"] for r in got] == ["synthetic_cathinone", "other"]
    assert got[0]["nearest_controlled"] == "Mephedrone"


def test_missing_smiles_column_is_an_error(tmp_path, caplog):
    src = tmp_path / "in.csv"
    src.write_text("structure\nCCO\n")
    assert main(["chem", "classify", "--input", str(src)]) == 1
    assert "--smiles-column" in caplog.text
    assert main(["chem", "classify", "--input", str(src), "--smiles-column", "structure",
                 "-o", str(tmp_path / "o.csv")]) == 0


def test_command_module_imports_only_argparse():
    code = ("import sys, nps_id.commands.chem; "
            "print(any(m.startswith(('rdkit', 'numpy', 'sklearn')) for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
