"""``classify`` on GC-MS runs: one row per component, damaged runs skipped with a reason, the run options,
the report's chromatogram; and the national-list column of identified rows."""

from __future__ import annotations

import csv
import os
import shutil
import stat
from pathlib import Path

import pytest

import nps_id
from nps_id.cli import main

pytestmark = pytest.mark.realdata

RUN = Path(os.environ.get("NPS_ID_RUNS", Path(__file__).resolve().parents[1].parent / "shared" / "runs")) \
    / "agilent_yellow.D"


@pytest.fixture(scope="module")
def yellow() -> Path:
    """The real Agilent run (../shared/runs/agilent_yellow.D)."""
    if not (RUN / "data.ms").exists():
        pytest.fail(f"real run not found at {RUN}; set NPS_ID_RUNS or put shared/ beside the project")
    return RUN


@pytest.fixture(scope="module")
def library(swgdrug_spectra, tmp_path_factory) -> Path:
    """Every 10th real SWGDRUG spectrum, labelled, saved to HDF5."""
    from nps_id.chem.labels import label_library
    from nps_id.spectra import SpectralLibrary

    lib = SpectralLibrary.from_spectra(swgdrug_spectra[::10])
    label_library(lib, save=False)
    path = tmp_path_factory.mktemp("lib") / "every10.h5"
    lib.save(path)
    return path


def _copy_run(src: Path, dst: Path) -> Path:
    """A writable copy of a run (the shared one is read-only)."""
    shutil.copytree(src, dst)
    for root, dirs, files in os.walk(dst):
        for entry in dirs + files:
            p = Path(root) / entry
            p.chmod(p.stat().st_mode | stat.S_IWUSR | stat.S_IRUSR)
    dst.chmod(dst.stat().st_mode | stat.S_IWUSR)
    return dst


def test_run_gives_one_row_per_component_and_a_report_with_its_chromatogram(yellow, library, tmp_path):
    from nps_id.runs import find_components, read_run

    components = find_components(read_run(yellow))
    table = nps_id.classify([yellow], library=library, model=False, progress=False)

    assert len(table) == len(components) >= 5
    for row, comp in zip(table, components):
        assert row["status"] == "ok" and row["source_file"] == str(yellow)
        assert row["index"] == comp.number and row["query_id"] == comp.spectrum.metadata["name"]
        assert row["retention_time"] == pytest.approx(comp.rt)
        assert row["area_share"] == pytest.approx(comp.area_share)
        assert row["retention_index"] is None  # no ladder
        assert row["top_hit_name"]
    assert sum(r["area_share"] for r in table) == pytest.approx(1.0)
    # the table carries the run's TIC (not its scans x m/z matrix) and components for the report
    run, comps = table.runs[str(yellow)]
    assert run.n_mz == 1 and run.n_scans == components.run.n_scans and len(comps) == len(components)

    csv_rows = list(csv.DictReader(table.to_csv().splitlines()))
    assert float(csv_rows[0]["retention_time"]) == pytest.approx(components[0].rt, abs=1e-4)

    table.to_html(tmp_path / "report.html")
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert html.count('alt="total ion chromatogram of agilent_yellow.D"') == 1
    assert 'src="data:image/png;base64,' in html
    # the chromatogram comes above the run's first component, whose mirror plot follows
    assert html.index("total ion chromatogram") < html.index('id="q-0"') < html.index('alt="mirror plot of query 1"')
    assert html.count('alt="mirror plot of query') == len(table)


def test_folder_with_a_damaged_run_goes_on(yellow, library, swgdrug_spectra, tmp_path):
    from nps_id.spectra.io import save_spectra

    case = tmp_path / "case"
    case.mkdir()
    good = _copy_run(yellow, case / "a_good.D")
    bad = _copy_run(yellow, case / "b_cut.D")
    data = (bad / "data.ms").read_bytes()
    (bad / "data.ms").write_bytes(data[: len(data) // 2])
    save_spectra(swgdrug_spectra[:3], case / "c_spectra.msp")

    table = nps_id.classify(case, library=library, model=False, progress=False)

    by_file: dict[str, list] = {}
    for row in table:
        by_file.setdefault(Path(row["source_file"]).name, []).append(row)
    # nothing from inside the .D folders (tic_front.csv, acqmeth.txt, ...) is read as a spectrum file
    assert set(by_file) == {"a_good.D", "b_cut.D", "c_spectra.msp"}
    assert len(by_file["a_good.D"]) >= 5 and all(r["status"] == "ok" for r in by_file["a_good.D"])
    assert all(r["retention_time"] is not None for r in by_file["a_good.D"])
    [cut] = by_file["b_cut.D"]
    assert cut["status"] == "skipped" and cut["index"] is None
    assert "data.ms" in cut["error"] and "truncated" in cut["error"]
    assert [r["status"] for r in by_file["c_spectra.msp"]] == ["ok"] * 3
    assert all(r["retention_time"] is None and r["area_share"] is None for r in by_file["c_spectra.msp"])
    assert list(table.runs) == [str(good)]


def test_cli_on_a_run_with_a_ladder_and_the_options_checked_first(yellow, library, tmp_path, capsys):
    out = tmp_path / "out.csv"
    ladder = tmp_path / "alkanes.csv"
    ladder.write_text("carbons,minutes\n10,1.0\n14,5.0\n18,9.0\n")
    assert main(["classify", str(yellow), "-l", str(library), "--no-model", "-o", str(out), "--no-progress",
                 "--ladder", str(ladder), "--min-area-share", "0.05", "--report", str(tmp_path / "r.html")]) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert rows and all(r["status"] == "ok" and float(r["area_share"]) >= 0.05 for r in rows)
    assert all(1000 < float(r["retention_index"]) < 1800 for r in rows)
    assert "total ion chromatogram" in (tmp_path / "r.html").read_text(encoding="utf-8")

    # refused at parse time, before the (missing) library is even looked at
    for bad in (["--min-area-share", "2"], ["--ladder", str(tmp_path / "missing.csv")]):
        with pytest.raises(SystemExit) as exc:
            main(["classify", str(yellow), "-l", str(tmp_path / "nolib.h5"), "-o", str(tmp_path / "x.csv"), *bad])
        assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "not a fraction in [0, 1)" in err and "cannot read the alkane ladder" in err
    assert not (tmp_path / "x.csv").exists()
    with pytest.raises(ValueError, match="min_area_share"):
        nps_id.classify([yellow], library=tmp_path / "nolib.h5", model=False, min_area_share=2)


def test_national_status_of_identified_rows(library, swgdrug_spectra, identity_only, tmp_path, monkeypatch):
    from nps_id.errors import ChemistryError

    queries = [s for s in swgdrug_spectra[::10] if s.metadata.get("smiles")][:4]  # library spectra themselves
    monkeypatch.delenv("NPS_ID_NATIONAL_LIST", raising=False)
    table = nps_id.classify(queries, library=library, model=identity_only, progress=False)
    assert table[0]["verdict"] == "identified" and table.column("national_status") == [None] * len(queries)

    national = tmp_path / "national.csv"
    national.write_text("name,smiles,instrument,schedule,year\n"
                        f"{queries[0].name},{queries[0].metadata['smiles']},Example Act,Schedule 1,2001\n")
    monkeypatch.setenv("NPS_ID_NATIONAL_LIST", str(national))
    table = nps_id.classify(queries, library=library, model=identity_only, progress=False)
    assert table[0]["national_status"] == "controlled (Example Act, Schedule 1, since 2001)"
    for row in table[1:]:
        assert row["national_status"] == ("not on the national list" if row["verdict"] == "identified" else None)
    assert "Example Act" in table.to_csv().splitlines()[1]

    broken = tmp_path / "broken.csv"
    broken.write_text("name,smiles,instrument,schedule\nBroken,C1CC,Example Act,1\n")
    monkeypatch.setenv("NPS_ID_NATIONAL_LIST", str(broken))
    with pytest.raises(ChemistryError, match="line 2"):  # a bad list stops the run before any work
        nps_id.classify(queries, library=tmp_path / "nolib.h5", model=identity_only, progress=False)
