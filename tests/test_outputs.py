"""Result files safe to write and to open (issue 16, items 1, 7, 13, 14): UTF-8 with undecodable bytes kept
visible, no spreadsheet formulas in CSV cells, atomic writes into created folders, options checked before any
work, and inputs that are not regular files kept as skipped rows instead of being read."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import sys
from pathlib import Path

import pytest

from nps_id.classify import ResultTable
from nps_id.cli import main
from nps_id.textio import csv_cell, csv_text, json_text, output_format, visible, write_stdout, write_text_atomic

CAFE = b"caf\xe9".decode("utf-8", "surrogateescape")  # what a Latin-1 TITLE or file name becomes in Python
FORMULAS = ("=1+1", "+1+1", "-1+1", "@SUM(A1:A2)", "\t=1", "\r=1", "=HYPERLINK(\"http://x\",\"y\")")
MGF_LATIN1 = b"BEGIN IONS\nTITLE=caf\xe9\n41 100\n57 999\nEND IONS\n"


# ------------------------------------------------------------------------------------------ the helpers
def test_visible_escapes_undecodable_bytes_only():
    assert visible(CAFE) == "caf\\xe9"
    assert visible("café ✓") == "café ✓"
    assert visible("\ud800x") == "\\ud800x"


@pytest.mark.parametrize("text", FORMULAS)
def test_csv_cell_neutralises_formulas(text):
    assert csv_cell(text) == "'" + text
    rows = list(csv.reader(io.StringIO(csv_text(["h"], [[text]]), newline="")))
    assert rows == [["h"], ["'" + text]]


@pytest.mark.parametrize("value", ["-1.5", "+3e-2", "-7", "cocaine", "a=b", "", 3, -2.5, None, True])
def test_csv_cell_keeps_numbers_and_plain_text(value):
    assert csv_cell(value) == value


def test_json_text_keeps_the_escape_readable_and_nothing_else_changes():
    doc = json.loads(json_text({"name": CAFE, "formula": "=1+1", "é": "✓"}))
    assert doc == {"name": "caf\\xe9", "formula": "=1+1", "é": "✓"}


def test_write_text_atomic_creates_the_folder_writes_utf8_and_cleans_up(tmp_path, monkeypatch):
    target = tmp_path / "new" / "deeper" / "out.csv"
    write_text_atomic(target, f"{CAFE},é\n")
    assert target.read_bytes() == "caf\\xe9,é\n".encode()
    assert [p.name for p in target.parent.iterdir()] == ["out.csv"]

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_text_atomic(target, "new text\n")
    assert target.read_bytes() == "caf\\xe9,é\n".encode()  # the old file, whole
    assert [p.name for p in target.parent.iterdir()] == ["out.csv"]  # no temporary file left


def test_write_stdout_escapes_what_the_stream_cannot_hold():
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8", errors="strict")
    write_stdout(f"{CAFE}\n", stream)
    assert raw.getvalue() == b"caf\\xe9\n"
    latin = io.BytesIO()
    latin_stream = io.TextIOWrapper(latin, encoding="latin-1")
    write_stdout("✓ é\n", latin_stream)
    assert latin.getvalue() == b"\\u2713 \xe9\n"


@pytest.mark.parametrize("name,ok", [("a.csv", "csv"), ("A.JSON", "json"), ("a.xlsx", None), ("noext", None)])
def test_output_format(tmp_path, name, ok):
    if ok:
        assert output_format(tmp_path / name) == ok
    else:
        with pytest.raises(ValueError, match="name the file .csv or .json"):
            output_format(tmp_path / name)
    with pytest.raises(ValueError, match="is a folder"):
        output_format(tmp_path)


def test_result_table_writes_latin1_names_and_formulas_safely(tmp_path):
    rows = [{"source_file": f"/case/{CAFE}.mgf", "index": 0, "query_id": CAFE, "status": "ok", "verdict": "unknown",
             "top_hit_score": -0.5},
            {"source_file": "x.msp", "index": 1, "query_id": "=cmd|' /C calc'!A0", "status": "skipped",
             "error": "-bad record"}]
    from nps_id.classify.core import ClassifyOptions

    t = ResultTable(rows, options=ClassifyOptions())
    t.save(tmp_path / "r.csv")
    t.save(tmp_path / "r.json")
    t.to_html(tmp_path / "r.html")
    got = list(csv.DictReader((tmp_path / "r.csv").open(encoding="utf-8")))
    assert got[0]["query_id"] == "caf\\xe9" and got[0]["source_file"] == "/case/caf\\xe9.mgf"
    assert got[0]["top_hit_score"] == "-0.5"  # numbers stay numbers
    assert got[1]["query_id"] == "'=cmd|' /C calc'!A0" and got[1]["error"] == "'-bad record"
    doc = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert doc["rows"][0]["query_id"] == "caf\\xe9"
    assert doc["rows"][1]["query_id"] == "=cmd|' /C calc'!A0" and doc["rows"][1]["error"] == "-bad record"
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "caf\\xe9" in html and "=cmd|&#x27; /C calc&#x27;!A0" in html
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv", "r.html", "r.json"]


# ------------------------------------------------------------------------------------------ the commands
@pytest.fixture(scope="module")
def lib_path(swgdrug_spectra, tmp_path_factory) -> Path:
    from nps_id.spectra.library import SpectralLibrary

    path = tmp_path_factory.mktemp("outlib") / "lib.h5"
    SpectralLibrary.from_spectra(swgdrug_spectra[:300]).save(path)
    return path


def _formula_msp(path: Path) -> Path:
    path.write_text("NAME: =HYPERLINK(\"http://evil\",\"x\")\nNum Peaks: 3\n41 100\n57 999\n91 300\n\n"
                    "NAME: @SUM(1)\nNum Peaks: 2\n43 100\n58 999\n\n", encoding="utf-8")
    return path


@pytest.mark.realdata
def test_classify_writes_every_output_despite_a_latin1_title_and_file_name(tmp_path, lib_path, capfdbinary):
    case = tmp_path / "case"
    case.mkdir()
    (case / "l1.mgf").write_bytes(MGF_LATIN1)
    (case / os.fsdecode(b"n\xe4me.mgf")).write_bytes(MGF_LATIN1)
    out = tmp_path / "not" / "yet" / "r.csv"
    args = ["classify", str(case), "-l", str(lib_path), "--no-model", "--no-progress"]
    assert main(args + ["-o", str(out), "--report", str(tmp_path / "r.html")]) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["query_id"] for r in rows] == ["caf\\xe9", "caf\\xe9"]
    assert rows[1]["source_file"].endswith("n\\xe4me.mgf") and all(r["status"] == "ok" for r in rows)
    assert "caf\\xe9" in (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "plot failed" not in (tmp_path / "r.html").read_text(encoding="utf-8").lower()
    assert main(args + ["-o", str(tmp_path / "r.json")]) == 0
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["rows"][0]["query_id"] == "caf\\xe9"
    capfdbinary.readouterr()
    assert main(args) == 0  # CSV to standard output
    assert b"caf\\xe9" in capfdbinary.readouterr().out
    assert not list(tmp_path.rglob("*.partial"))


@pytest.mark.realdata
def test_classify_and_search_csv_cells_are_not_formulas_json_unchanged(tmp_path, lib_path):
    q = _formula_msp(tmp_path / "q.msp")
    assert main(["classify", str(q), "-l", str(lib_path), "--no-model", "--no-progress",
                 "-o", str(tmp_path / "c.csv")]) == 0
    ids = [r["query_id"] for r in csv.DictReader((tmp_path / "c.csv").open(encoding="utf-8"))]
    assert ids == ["'=HYPERLINK(\"http://evil\",\"x\")", "'@SUM(1)"]
    assert main(["search", str(q), "-l", str(lib_path), "-k", "1", "-o", str(tmp_path / "s.csv")]) == 0
    names = [r["query_name"] for r in csv.DictReader((tmp_path / "s.csv").open(encoding="utf-8"))]
    assert names == ["'=HYPERLINK(\"http://evil\",\"x\")", "'@SUM(1)"]
    assert main(["search", str(q), "-l", str(lib_path), "-k", "1", "-o", str(tmp_path / "s.json")]) == 0
    hits = json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))["hits"]
    assert [h["query_name"] for h in hits] == ["=HYPERLINK(\"http://evil\",\"x\")", "@SUM(1)"]


def test_chem_csv_cells_are_not_formulas_and_written_atomically(tmp_path, monkeypatch):
    monkeypatch.delenv("NPS_ID_NATIONAL_LIST", raising=False)
    src = tmp_path / "in.csv"
    src.write_bytes(b"id,smiles\n=1+1,CCO\ncaf\xe9,c1ccccc1,extra\n")
    out = tmp_path / "missing" / "out.csv"
    assert main(["chem", "classify", "--input", str(src), "-o", str(out)]) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["id"] for r in rows] == ["'=1+1", "caf\\xe9"]
    assert rows[1]["extra_1"] == "extra"  # a cell beyond the header is kept
    assert not list(out.parent.glob("*.partial"))
    with pytest.raises(SystemExit) as exc:
        main(["chem", "classify", "CCO", "-o", str(tmp_path / "x.json")])
    assert exc.value.code == 2


@pytest.mark.realdata
def test_search_writes_atomically_into_a_new_folder_with_a_latin1_title(tmp_path, lib_path):
    q = tmp_path / "l1.mgf"
    q.write_bytes(MGF_LATIN1)
    for name in ("h.csv", "h.json"):
        out = tmp_path / "a" / "b" / name
        assert main(["search", str(q), "-l", str(lib_path), "-k", "2", "-o", str(out)]) == 0
        text = out.read_text(encoding="utf-8")
        if name == "h.csv":
            assert [r["query_name"] for r in csv.DictReader(io.StringIO(text))] == ["caf\\xe9"] * 2
        else:
            assert [h["query_name"] for h in json.loads(text)["hits"]] == ["caf\\xe9"] * 2
    assert sorted(p.name for p in (tmp_path / "a" / "b").iterdir()) == ["h.csv", "h.json"]


@pytest.mark.parametrize("argv", [
    ["search", "q.msp", "-l", "lib.h5", "-o", "h.xlsx"],
    ["search", "q.msp", "-l", "lib.h5", "-k", "0"],
    ["search", "q.msp", "-l", "lib.h5", "--batch-size", "0"],
    ["search", "q.msp", "-l", "lib.h5", "--tolerance", "-1"],
    ["search", "q.msp", "-l", "lib.h5", "--candidates", "x"],
    ["classify", "q.msp", "-o", "x.xlsx"],
    ["classify", "q.msp", "--min-probability", "2"],
    ["classify", "q.msp", "-k", "0"],
    ["classify", "q.msp", "-j", "0"],
])
def test_bad_options_stop_before_any_work_with_one_line(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("python -m nps_id") and "error: argument" in err[-1]


@pytest.mark.realdata
def test_search_option_combinations_and_queries_are_checked(tmp_path, lib_path, caplog):
    q = tmp_path / "l1.mgf"
    q.write_bytes(MGF_LATIN1)
    base = ["search", str(q), "-l", str(lib_path)]
    assert main(base + ["--metric", "entropy", "--mode", "reverse"]) == 2
    assert "--mode reverse is defined for --metric cosine or nist" in caplog.text
    for mode in ("identity",):  # hybrid takes queries without precursor (GC-EI shifts)
        caplog.clear()
        assert main(base + ["--mode", mode]) == 2
        assert "1 of 1 queries have none" in caplog.text and "--mode similarity" in caplog.text
    caplog.clear()
    assert main(["search", str(tmp_path), "-l", str(lib_path)]) == 2
    assert "is a folder" in caplog.text and "(none)" not in caplog.text
    if os.path.exists("/dev/zero"):
        caplog.clear()
        assert main(["search", "/dev/zero", "-l", str(lib_path)]) == 1
        assert "not a regular file" in caplog.text


@pytest.mark.realdata
def test_search_counts_unreadable_records_and_queries_it_cannot_search(tmp_path, lib_path, caplog):
    caplog.set_level(logging.INFO)
    q = tmp_path / "q.mgf"
    q.write_text("BEGIN IONS\nTITLE=ei\n41 100\n57 999\nEND IONS\n"
                 "BEGIN IONS\nTITLE=bad\n41 x\nEND IONS\n"
                 "BEGIN IONS\nTITLE=ms2\nPEPMASS=337.2\nMSLEVEL=2\n91.05 100\n188.14 999\nEND IONS\n")
    assert main(["search", str(q), "-l", str(lib_path), "-o", str(tmp_path / "h.csv")]) == 0
    assert "searched 1 of 2 queries" in caplog.text and "1 not searched" in caplog.text
    assert "1 unreadable records skipped" in caplog.text
    caplog.clear()
    ms2 = tmp_path / "ms2.mgf"
    ms2.write_text("BEGIN IONS\nTITLE=ms2\nPEPMASS=337.2\nMSLEVEL=2\n91.05 100\n188.14 999\nEND IONS\n")
    assert main(["search", str(ms2), "-l", str(lib_path), "-o", str(tmp_path / "h2.csv")]) == 1
    assert "none of the 1 queries could be searched" in caplog.text and "holds no MS/MS" in caplog.text
    assert "could be read" not in caplog.text


@pytest.mark.realdata
def test_classify_says_the_library_lacks_the_technique_not_that_nothing_was_read(tmp_path, lib_path, caplog):
    ms2 = tmp_path / "ms2.mgf"
    ms2.write_text("BEGIN IONS\nTITLE=ms2\nPEPMASS=337.2\nMSLEVEL=2\n91.05 100\n188.14 999\nEND IONS\n")
    assert main(["classify", str(ms2), "-l", str(lib_path), "--no-model", "--no-progress",
                 "-o", str(tmp_path / "r.csv")]) == 1
    assert "no spectrum could be read" not in caplog.text
    assert "1 spectra were read, but none could be searched" in caplog.text and "msms" in caplog.text


@pytest.mark.realdata
@pytest.mark.skipif(not hasattr(os, "mkfifo") or not os.path.exists("/dev/zero"), reason="POSIX only")
def test_fifos_and_devices_get_a_skipped_row_and_are_never_read(tmp_path, lib_path):
    import nps_id

    case = tmp_path / "case"
    case.mkdir()
    (case / "a.mgf").write_bytes(MGF_LATIN1)
    os.mkfifo(case / "pipe.msp")  # reading it would block for ever
    (case / "zero.msp").symlink_to("/dev/zero")  # reading it would never end
    table = nps_id.classify([case, "/dev/zero"], library=lib_path, model=False, progress=False)
    by_file = {Path(r["source_file"]).name: r for r in table}
    assert by_file["a.mgf"]["status"] == "ok"
    assert "FIFO" in by_file["pipe.msp"]["error"] and by_file["pipe.msp"]["status"] == "skipped"
    assert "device" in by_file["zero.msp"]["error"] and "device" in by_file["zero"]["error"]
    assert len(table) == 4


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))
