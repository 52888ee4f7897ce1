"""The classify pipeline, its output contract, the CLI, the defaults in the cache and the demo."""

from __future__ import annotations

import csv
import io
import json
import logging
import multiprocessing
import os
from pathlib import Path

import numpy as np
import pytest

import nps_id
from nps_id.classify import FIELDS, ResultTable
from nps_id.cli import main

pytestmark = pytest.mark.realdata

DEMO_NAMES = ("Fentanyl", "Cocaine", "1-(2-Phenethyl)-4-piperidone", "Ketamine", "Caffeine",
              "para-Methoxyfentanyl", "4-Fluoropentedrone", "FUB-144", "Phenazepam", "Cyclopentyl fentanyl")


def _subset(spectra: list, step: int = 6) -> list:
    """Every `step`-th real spectrum plus the demo's compounds (CI-sized)."""
    keep = [s for i, s in enumerate(spectra) if i % step == 0 or s.name in DEMO_NAMES]
    return keep


@pytest.fixture(scope="module")
def small_library(swgdrug_spectra, tmp_path_factory) -> Path:
    """A labelled library of ~460 real SWGDRUG spectra, saved to HDF5."""
    from nps_id.chem.labels import label_library
    from nps_id.spectra import SpectralLibrary

    lib = SpectralLibrary.from_spectra(_subset(swgdrug_spectra))
    label_library(lib, save=False)
    path = tmp_path_factory.mktemp("lib") / "small.h5"
    lib.save(path)
    return path


@pytest.fixture(scope="module")
def small_data(swgdrug_spectra, tmp_path_factory) -> Path:
    """A reference-data folder with one small MSP file (for building the defaults quickly)."""
    from nps_id.spectra.io import save_spectra

    folder = tmp_path_factory.mktemp("data")
    save_spectra(_subset(swgdrug_spectra, step=8), folder / "small_ref.msp")
    return folder


def _write_bad_batch(folder: Path, good: list) -> dict[str, int]:
    """The bad-input batch of the issue; returns the number of rows expected per file."""
    from nps_id.spectra.io import save_spectra

    folder.mkdir(parents=True, exist_ok=True)
    save_spectra(good, folder / "a_good.msp")
    (folder / "b_corrupt.msp").write_bytes(
        b"NAME: corrupt one\nNum Peaks: 3\n41 100\n\x00\x93garbage\n57 20\n\nNAME: fine after corrupt\n"
        b"Num Peaks: 2\n41 100\n57 999\n\n"
    )
    (folder / "c_empty.msp").write_text("NAME: empty spectrum\nNum Peaks: 0\n\n")
    (folder / "d_unknown.xyz").write_text("this is not a spectrum\n")
    (folder / "e_nan.msp").write_text("NAME: has nan\nNum Peaks: 2\n41 nan\n57 999\n\n")
    (folder / "f_truncated.msp.gz").write_bytes(b"\x1f\x8b\x08\x00broken")
    return {"a_good.msp": len(good), "b_corrupt.msp": 2, "c_empty.msp": 1, "d_unknown.xyz": 1,
            "e_nan.msp": 1, "f_truncated.msp.gz": 1}


def test_bad_input_does_not_stop_the_batch(tmp_path, small_library, swgdrug_spectra, identity_only):
    good = [s for s in swgdrug_spectra if s.name in ("Fentanyl", "Cocaine", "Ketamine")][:3]
    expected = _write_bad_batch(tmp_path / "case", good)
    table = nps_id.classify(tmp_path / "case", library=small_library, model=identity_only, progress=False)

    assert isinstance(table, ResultTable)
    per_file: dict[str, int] = {}
    for row in table:
        per_file[Path(row["source_file"]).name] = per_file.get(Path(row["source_file"]).name, 0) + 1
        assert set(row) == set(FIELDS)
    assert per_file == expected  # every file and record has its row(s)
    # input order: files sorted, records in file order
    names = [Path(r["source_file"]).name for r in table]
    assert names == sorted(names)
    by_file = {n: [r for r in table if Path(r["source_file"]).name == n] for n in expected}
    # good items all have results
    for row, s in zip(by_file["a_good.msp"], good):
        assert row["status"] == "ok" and row["error"] is None
        assert row["query_id"] == s.name and row["top_hit_name"] == s.name and row["identified"] is True
    assert [r["index"] for r in by_file["a_good.msp"]] == list(range(len(good)))
    # the corrupt file: record 0 skipped with its reason, record 1 still classified
    bad, fine = by_file["b_corrupt.msp"]
    assert bad["status"] == "skipped" and bad["index"] == 0 and bad["error"].startswith("bad record (line 4)")
    assert fine["status"] == "ok" and fine["index"] == 1 and fine["query_id"] == "fine after corrupt"
    assert "empty spectrum" in by_file["c_empty.msp"][0]["error"]
    assert "unreadable format" in by_file["d_unknown.xyz"][0]["error"]
    assert by_file["d_unknown.xyz"][0]["index"] is None
    assert "NaN" in by_file["e_nan.msp"][0]["error"]
    assert "gzip data end early" in by_file["f_truncated.msp.gz"][0]["error"]  # named, with what to do
    for row in table:
        if row["status"] == "skipped":
            assert row["error"] and row["identified"] is False and row["verdict"] is None
    s = table.summary()
    assert s["queries"] == len(good) + 1 and s["skipped"] == 5 and sum(s["skip_reasons"].values()) == 5
    assert s["identified"] + s["isomer"] + s["classified"] + s["unknown"] == s["queries"]


def test_cli_writes_csv_and_json_with_the_contract(tmp_path, small_library, swgdrug_spectra, caplog):
    good = [s for s in swgdrug_spectra if s.name in ("Cocaine", "Caffeine")]
    expected = _write_bad_batch(tmp_path / "case", good)
    out_csv, out_json = tmp_path / "r.csv", tmp_path / "r.json"
    caplog.set_level("INFO")
    args = ["classify", str(tmp_path / "case"), "-l", str(small_library), "--no-model", "--no-progress"]
    assert main(args + ["-o", str(out_csv)]) == 0
    assert "skipped" in caplog.text and "identified" in caplog.text  # the summary
    rows = list(csv.DictReader(out_csv.open(encoding="utf-8")))
    assert len(rows) == sum(expected.values())
    assert tuple(rows[0]) == FIELDS
    for needed in ("source_file", "index", "query_id", "status", "error", "identified", "top_hit_name",
                   "top_hit_score", "class", "probability", "control_status"):
        assert needed in rows[0]
    assert {r["status"] for r in rows} == {"ok", "skipped"}
    assert all(r["identified"] in ("true", "false") for r in rows)
    assert main(args + ["-o", str(out_json)]) == 0
    doc = json.loads(out_json.read_text(encoding="utf-8"))
    assert doc["fields"] == list(FIELDS) and len(doc["rows"]) == len(rows)
    assert [r["query_id"] or "" for r in doc["rows"]] == [r["query_id"] for r in rows]
    assert doc["summary"]["skipped"] == 5


def test_cli_nothing_readable_exits_nonzero(tmp_path, small_library, caplog, capsys):
    case = tmp_path / "case"
    case.mkdir()
    (case / "x.xyz").write_text("nope")
    (case / "e.msp").write_text("NAME: e\nNum Peaks: 0\n\n")
    rc = main(["classify", str(case), "-l", str(small_library), "--no-model", "--no-progress"])
    assert rc == 1
    assert "no spectrum could be read" in caplog.text
    out = capsys.readouterr().out  # the rows still go to stdout, with their reasons
    assert out.count("skipped") == 2
    assert main(["classify", str(tmp_path / "missing.msp"), "-l", str(tmp_path / "nolib.h5")]) == 1
    assert "library build" in caplog.text


def test_python_api_on_spectra_objects(small_library, swgdrug_spectra, identity_only):
    from nps_id.spectra import SpectralLibrary

    queries = [s for s in swgdrug_spectra if s.name in ("Ketamine", "Cocaine")]
    table = nps_id.classify(queries, library=SpectralLibrary.open(small_library), model=identity_only, top_k=3)
    assert len(table) == len(queries)
    assert [r["source_file"] for r in table] == ["<memory>"] * len(queries)
    assert [r["index"] for r in table] == list(range(len(queries)))
    for row, q in zip(table, queries):
        assert row["top_hit_name"] == q.name and row["top_hit_match_factor"] >= 990 and row["verdict"] == "identified"
        assert row["class"] == {"Ketamine": "arylcyclohexylamine", "Cocaine": "other"}[q.name]
        assert row["technique"] == "gc_ei" and 0.5 < row["identity_probability"] <= 1 and row["identity"] == q.name
    assert len(table.details[0].hits) == 3
    text = table.to_csv()
    assert text.splitlines()[0] == ",".join(FIELDS)
    assert "ResultTable(" in repr(table)


def test_spectra_the_library_cannot_search_keep_their_row_with_the_reason(small_library, swgdrug_spectra,
                                                                         identity_only):
    from nps_id.spectra import Spectrum, SpectralLibrary

    ir = Spectrum(np.linspace(400.0, 4000.0, 901), np.random.default_rng(0).random(901).astype(np.float32), kind="ir")
    msms = Spectrum([91.05, 188.14], [100.0, 1000.0], precursor_mz=337.23)  # the small library is EI only
    lib = SpectralLibrary.open(small_library)
    assert np.isnan(np.asarray(lib.precursor_mz, dtype=float)).all()
    full_scan = Spectrum([281.2, 303.2], [1.0, 2.0], metadata={"ionization": "ESI", "ms_level": "MS"})
    table = nps_id.classify([ir, msms, swgdrug_spectra[0], full_scan], library=lib, model=identity_only)
    rows = list(table)
    assert rows[0]["status"] == "skipped" and "IR spectra are read" in rows[0]["error"]
    assert rows[1]["status"] == "skipped" and "holds no MS/MS" in rows[1]["error"]
    assert rows[2]["status"] == "ok" and rows[2]["identified"] is True
    assert rows[3]["status"] == "skipped" and "full-scan" in rows[3]["error"] and rows[3]["technique"] == "full_scan"
    without = nps_id.classify([swgdrug_spectra[0]], library=lib, model=False)
    assert without[0]["verdict"] == "unknown" and without[0]["top_hit_name"] == swgdrug_spectra[0].name
    assert any("candidates only" in n for n in without.notes)


def test_unidentified_query_gets_a_class_and_the_nearest_controlled(small_library, swgdrug_spectra):
    """A compound withheld from the library is not identified; the model's class is reported instead."""
    from nps_id.spectra import SpectralLibrary

    lib = SpectralLibrary.open(small_library)
    names = lib.column("name")
    query = next(s for s in swgdrug_spectra if s.name == "Cyclopentyl fentanyl")
    keep = ~np.isin(names, ["Cyclopentyl fentanyl", "Cyclopentyl fentanyl-d5"])
    sub = lib.select(keep)
    sub.save(small_library.parent / "withheld.h5")
    model = _default_model_for(small_library.parent)
    table = nps_id.classify([query], library=small_library.parent / "withheld.h5", model=model,
                            min_identity_probability=1.0, min_isomer_probability=1.0)
    row = table[0]
    assert row["status"] == "ok" and row["identified"] is False
    assert row["verdict"] in ("classified", "unknown")
    assert row["predicted_class"] and 0 <= row["probability"] <= 1
    assert table.details[0].probabilities
    if row["verdict"] == "classified":
        assert row["class"] == row["predicted_class"]


def _default_model_for(folder: Path) -> Path:
    """The model the defaults would train (through the same adapter), written into `folder`."""
    from nps_id.defaults import _train_default_model
    from nps_id.spectra import SpectralLibrary

    lib = SpectralLibrary.open(folder / "small.h5")
    return folder / _train_default_model(lib, folder, False)


def test_defaults_build_once_reuse_and_rebuild_on_change(small_data, cache_dir, tmp_path):
    from nps_id.defaults import ensure_defaults, find_defaults

    data = tmp_path / "data"
    data.mkdir()
    (data / "ref.msp").write_bytes((small_data / "small_ref.msp").read_bytes())
    assert find_defaults(data) is None
    first = ensure_defaults(data, progress=False)
    assert first.built and first.library_path.is_file() and str(first.library_path).startswith(str(cache_dir))
    again = ensure_defaults(data, progress=False)
    assert not again.built and again.library_path == first.library_path
    manifest = json.loads((first.folder / "manifest.json").read_text())
    assert manifest["n_spectra"] > 300 and manifest["files"][0]["path"].endswith("ref.msp")
    # a changed data folder triggers a rebuild (and the stale defaults are removed)
    with (data / "ref.msp").open("a") as fh:
        fh.write("NAME: extra\nNum Peaks: 2\n41 100\n57 999\n\n")
    changed = ensure_defaults(data, progress=False)
    assert changed.built and changed.key != first.key and not first.folder.exists()
    from nps_id.spectra import SpectralLibrary

    assert len(SpectralLibrary.open(changed.library_path)) == manifest["n_spectra"] + 1


def _build_in_child(args: tuple[str, str]) -> tuple[str, bool]:
    data, cache = args
    os.environ["NPS_ID_CACHE"] = cache
    from nps_id.defaults import ensure_defaults

    d = ensure_defaults(data, progress=False)
    return str(d.library_path), d.built


def test_two_processes_building_the_defaults_at_once(small_data, cache_dir):
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        results = pool.map(_build_in_child, [(str(small_data), str(cache_dir))] * 2)
    paths = {p for p, _ in results}
    assert len(paths) == 1 and sorted(b for _, b in results) == [False, True]
    from nps_id.spectra import SpectralLibrary

    assert SpectralLibrary.open(paths.pop()).verify()
    leftovers = [p for p in (cache_dir / "defaults").iterdir() if "partial" in p.name]
    assert leftovers == []


def test_classify_with_defaults_and_demo(small_data, cache_dir, tmp_path, caplog):
    """No library or model given: the defaults are built from the data folder; the demo writes a report."""
    caplog.set_level("INFO")
    q = tmp_path / "q.msp"
    q.write_text("NAME: something\nNum Peaks: 3\n41 100\n57 999\n91 300\n\n")
    out = tmp_path / "out.csv"
    assert main(["classify", str(q), "--data", str(small_data), "-o", str(out), "--no-progress"]) == 0
    assert "first use" in caplog.text
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 1 and rows[0]["status"] == "ok" and rows[0]["predicted_class"]
    demo = tmp_path / "demo"
    assert main(["demo", "-o", str(demo), "--data", str(small_data), "--no-progress"]) == 0
    report = (demo / "report.html").read_text(encoding="utf-8")
    rows = list(csv.DictReader((demo / "results.csv").open()))
    assert report.count('class="result-row') == len(rows) >= 8
    verdicts = {r["verdict"] for r in rows}
    assert "identified" in verdicts and ({"classified", "unknown"} & verdicts)
    assert sum(r["status"] == "skipped" for r in rows) == 1


def test_result_table_csv_json_round_trip():
    rows = [
        {"source_file": "a,b.msp", "index": 0, "query_id": 'x "quoted"', "status": "ok", "identified": True,
         "top_hit_score": 0.91234567, "probability": float("nan"), "verdict": "identified"},
        {"source_file": "c.msp", "index": None, "status": "skipped", "error": "unreadable format: .xyz",
         "identified": False},
    ]
    t = ResultTable(rows)
    back = list(csv.DictReader(io.StringIO(t.to_csv())))
    assert back[0]["source_file"] == "a,b.msp" and back[0]["query_id"] == 'x "quoted"'
    assert back[0]["identified"] == "true" and back[0]["top_hit_score"] == "0.9123" and back[0]["probability"] == ""
    assert back[1]["index"] == ""
    doc = json.loads(t.to_json())
    assert doc["rows"][0]["probability"] is None and doc["rows"][1]["index"] is None
    assert doc["summary"]["skipped"] == 1 and doc["summary"]["identified"] == 1
    with pytest.raises(ValueError, match=".csv or .json"):
        t.save("x.txt")


def test_cli_help_stays_light():
    import subprocess
    import sys

    code = ("import sys; from nps_id.cli import build_parser; p = build_parser(); p.parse_args(['classify', 'x']); "
            "print([m for m in ('numpy', 'matplotlib', 'rdkit', 'h5py', 'dask') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.realdata
def test_search_indexes_are_stored_beside_the_library_and_reused(tmp_path, small_library, swgdrug_spectra, caplog,
                                                                 monkeypatch):
    import shutil

    from nps_id.spectra import SpectralLibrary
    from nps_id.spectra.search import SearchIndex
    from nps_id.spectra.search.index import index_path

    lib_file = tmp_path / "lib.h5"
    shutil.copy(small_library, lib_file)
    queries = [s for s in swgdrug_spectra if s.name in ("Ketamine", "Cocaine")]
    built = "built stage-1 matrix"
    with caplog.at_level(logging.INFO, logger="nps_id"):
        first = nps_id.classify(queries, library=SpectralLibrary.open(lib_file), model=False)
    assert built in caplog.text
    stored = index_path(lib_file) / "gc_ei"
    assert json.loads((stored / "meta.json").read_text())["matrices"]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="nps_id"):
        second = nps_id.classify(queries, library=SpectralLibrary.open(lib_file), model=False)
    assert built not in caplog.text  # memory-mapped from the stored index
    assert [r["top_hit_name"] for r in second] == [r["top_hit_name"] for r in first] == [q.name for q in queries]
    # a folder that cannot be written: classification goes on with an in-memory index
    shutil.rmtree(index_path(lib_file))
    monkeypatch.setattr(SearchIndex, "save", lambda self, path=None: (_ for _ in ()).throw(PermissionError("read-only")))
    with caplog.at_level(logging.INFO, logger="nps_id"):
        third = nps_id.classify(queries, library=SpectralLibrary.open(lib_file), model=False)
    assert "not stored" in caplog.text
    assert [r["top_hit_name"] for r in third] == [q.name for q in queries]


def test_user_library_built_from_msp_with_smiles_gives_classes_for_identified_hits(tmp_path, swgdrug_spectra,
                                                                                    identity_only):
    """`library build` labels a library that has structures; `classify -l` then reports the hit's class."""
    from nps_id.models.io import save_model
    from nps_id.spectra import SpectralLibrary
    from nps_id.spectra.io import save_spectra

    names = ("Fentanyl", "Ketamine", "Cocaine", "Mephedrone", "JWH-018")
    refs = [s for s in swgdrug_spectra if s.name in names and s.metadata.get("smiles")]
    others = [s for s in swgdrug_spectra[::25] if s.metadata.get("smiles")]
    save_spectra(refs + others, tmp_path / "inhouse.msp")
    assert main(["library", "build", str(tmp_path / "inhouse.msp"), "-o", str(tmp_path / "inhouse.h5"),
                 "--no-progress"]) == 0
    lib = SpectralLibrary.open(tmp_path / "inhouse.h5")
    assert "chem_class" in lib.columns and (lib.column("chem_class") != "").all()
    save_model(tmp_path / "model", identity=identity_only.identity)
    save_spectra(refs, tmp_path / "case.msp")
    out = tmp_path / "r.csv"
    assert main(["classify", str(tmp_path / "case.msp"), "-l", str(tmp_path / "inhouse.h5"), "-m",
                 str(tmp_path / "model"), "-o", str(out), "--no-progress"]) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    expected = {"Fentanyl": "fentanyl_analogue", "Ketamine": "arylcyclohexylamine", "Cocaine": "other",
                "Mephedrone": "synthetic_cathinone", "JWH-018": "synthetic_cannabinoid"}
    assert len(rows) == len(refs)
    for row in rows:
        assert row["verdict"] == "identified" and row["top_hit_name"] == row["query_id"]
        assert row["class"] == expected[row["query_id"]] and row["class"] != "unclassified compound"
        assert row["control_status"] and float(row["identity_probability"]) >= 0.5
