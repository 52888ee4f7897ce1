"""The entry point: format by extension, gzip, save/load, options, reports across files."""

from __future__ import annotations

from pathlib import Path

import pytest

from nps_id.errors import UnknownFormatError
from nps_id.spectra.io import (
    FORMATS,
    ReadReport,
    detect_format,
    find_spectrum_files,
    iter_spectra,
    load_spectra,
    save_spectra,
)
from nps_id.spectra.spectrum import Spectrum

SPECTRA = [
    Spectrum([41.0, 57.0], [10.0, 999.0], metadata={"name": "a"}),
    Spectrum([91.0], [5.0], precursor_mz=120.5, metadata={"name": "b", "charge": "1+"}),
]


@pytest.mark.parametrize(
    "name, fmt",
    [("x.msp", "msp"), ("X.MGF.gz", "mgf"), ("run.mzML", "mzml"), ("a.jdx", "jcamp"), ("a.dx", "jcamp"),
     ("a.csv", "csv"), ("a.tsv", "csv"), ("a.txt.gz", "csv")],
)
def test_detect_format(name: str, fmt: str) -> None:
    assert detect_format(name) == fmt


def test_every_registered_reader_exists() -> None:
    import importlib

    for fmt, (module, reader, writer) in FORMATS.items():
        mod = importlib.import_module(module)
        assert callable(getattr(mod, reader)), fmt
        if writer:
            assert callable(getattr(mod, writer)), fmt


@pytest.mark.parametrize("name", ["lib.msp", "lib.msp.gz", "lib.mgf", "lib.mgf.gz"])
def test_save_and_load(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    assert save_spectra(SPECTRA, path) == 2
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")
    assert load_spectra(path) == SPECTRA
    assert list(iter_spectra(path)) == SPECTRA


def test_unknown_extension_and_unwritable_format(tmp_path: Path) -> None:
    with pytest.raises(UnknownFormatError, match="known extensions"):
        load_spectra(tmp_path / "x.raw")
    with pytest.raises(UnknownFormatError, match="cannot tell"):
        detect_format("noextension")
    with pytest.raises(UnknownFormatError, match="not write"):
        save_spectra(SPECTRA, tmp_path / "x.mzML")
    with pytest.raises(UnknownFormatError, match="unknown format"):
        load_spectra(tmp_path / "x.msp", format="nope")


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_spectra(tmp_path / "missing.msp")
    with pytest.raises(IsADirectoryError):
        load_spectra(tmp_path, format="msp")


def test_options_reach_the_reader_and_bad_options_fail(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("100 1\n200 2\n", encoding="utf-8")
    assert load_spectra(path, kind="raman")[0].kind == "raman"
    with pytest.raises(TypeError):
        load_spectra(tmp_path / "x.msp", kind="ir")  # MSP takes no options
    with pytest.raises(ValueError, match="on_error"):
        load_spectra(path, on_error="ignore")


def test_one_report_for_many_files(tmp_path: Path) -> None:
    save_spectra(SPECTRA, tmp_path / "a.msp")
    (tmp_path / "b.mgf").write_text("BEGIN IONS\nTITLE=bad\n1 x\nEND IONS\n", encoding="utf-8")
    report = ReadReport()
    got = []
    for f in find_spectrum_files(tmp_path):
        got += load_spectra(f, on_error="skip", report=report)
    assert len(got) == 2 and len(report.files) == 2
    assert report.n_read == 2 and report.n_skipped == 1
    assert "2 file(s), 2 spectra read, 1 skipped" in report.summary()


def test_folder_search_leaves_out_gcms_run_folders(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    save_spectra(SPECTRA, tmp_path / "a.msp")
    run = tmp_path / "sub" / "sample.D"
    run.mkdir(parents=True)
    (run / "tic_front.csv").write_text("1.0,100\n", encoding="utf-8")  # a run's own files are not spectra
    save_spectra(SPECTRA, tmp_path / "sub" / "b.mgf")
    assert find_spectrum_files(tmp_path) == [tmp_path / "a.msp", tmp_path / "sub" / "b.mgf"]
    assert "sample.D: a GC-MS run" in caplog.text
    assert find_spectrum_files(run) == []
