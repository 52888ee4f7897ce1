"""Odd, damaged and foreign inputs every reader must survive (issue 16, reader items 4, 5, 6, 11 and 12).

Each bad input is either a named :class:`SpectrumFormatError` (``on_error="raise"``) or one counted skip
(``on_error="skip"``), and the good records around it are read. The real exports are read from
``../shared/reader-quirks`` (never copied into the project).
"""

from __future__ import annotations

import gzip
import io
import os
import re
import zlib
from pathlib import Path

import numpy as np
import pytest
from _synthetic import random_spectra
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from io_helpers import spectra
from test_jcamp import IR_AFFN, MS_PEAKS, RAMAN_DIFDUP

from nps_id.errors import SpectrumFormatError
from nps_id.spectra.io import ReadReport, load_spectra
from nps_id.spectra.io.mgf import write_mgf
from nps_id.spectra.io.msp import write_msp
from nps_id.spectra.spectrum import Spectrum
from nps_id.spectra.technique import technique_of

ROOT = Path(__file__).resolve().parents[3]
QUIRKS = Path(os.environ.get("NPS_ID_QUIRKS", ROOT.parent / "shared" / "reader-quirks"))
BOM = b"\xef\xbb\xbf"


def _msp(spectra_: list[Spectrum]) -> str:
    buf = io.StringIO()
    write_msp(spectra_, buf)
    return buf.getvalue()


def _mgf(spectra_: list[Spectrum]) -> str:
    buf = io.StringIO()
    write_mgf(spectra_, buf)
    return buf.getvalue()


def _library(n: int, seed: int = 0) -> list[Spectrum]:
    return random_spectra(n, seed)


def _read(path: Path, **options) -> tuple[list[Spectrum], ReadReport]:
    report = ReadReport()
    return load_spectra(path, on_error="skip", report=report, **options), report


# ---------------------------------------------------------------- item 4: Num Peaks beyond any integer type
@pytest.mark.parametrize("num", ["99999999999999999999", "9" * 400, str(2**63), "1000000000"])
def test_absurd_num_peaks_is_a_named_bad_record(tmp_path: Path, num: str) -> None:
    good = _library(3)
    text = _msp(good).split("\n\n")
    bad = "NAME: absurd\nNum Peaks: " + num + "\n41 10\n57 20"
    path = tmp_path / "absurd.msp"
    path.write_text("\n\n".join([text[0], bad, text[1], text[2]]) + "\n\n", encoding="utf-8")
    with pytest.raises(SpectrumFormatError, match=r"absurd\.msp: record 1 \('absurd'\), line \d+: 'Num Peaks"):
        load_spectra(path)
    got, report = _read(path)
    assert got == good  # the records after it are read, in order (no IndexError, no OverflowError)
    assert report.n_read == 3 and report.n_skipped == 1 and report.skipped[0].record == 1


# ---------------------------------------------------------------- item 5: bounds in every reader
@pytest.mark.parametrize("mz", ["0", "-41", "1e8", "1e10", "1e300", "100000.5"])
def test_mz_bounds_msp_mgf(tmp_path: Path, mz: str) -> None:
    good = _library(2)
    peaks = [f"{mz} 10", "41 20"] if mz.startswith(("0", "-")) else ["41 20", f"{mz} 10"]
    for fmt, text in (
        ("msp", _msp(good[:1]) + "NAME: bad\nNum Peaks: 2\n" + "\n".join(peaks) + "\n\n" + _msp(good[1:])),
        ("mgf", _mgf(good[:1]) + "BEGIN IONS\nTITLE=bad\n" + "\n".join(peaks) + "\nEND IONS\n\n" + _mgf(good[1:])),
    ):
        path = tmp_path / f"b.{fmt}"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(SpectrumFormatError, match=rf"b\.{fmt}: record 1 \('bad'\), line \d+: m/z"):
            load_spectra(path)
        got, report = _read(path)
        assert got == good and report.n_skipped == 1


def test_mz_at_the_bounds_is_read(tmp_path: Path) -> None:
    path = tmp_path / "edge.msp"
    path.write_text("NAME: edge\nNum Peaks: 2\n1e-3 10\n100000 20\n\n", encoding="utf-8")
    (s,) = load_spectra(path)
    assert s.x.tolist() == [1e-3, 1e5]


@pytest.mark.parametrize(
    ("text", "kind", "words"),
    [
        ("m/z,intensity\n41,10\n1e8,20\n", None, "m/z 100000000.0 is beyond"),
        ("41,10\n0,20\n", None, "not positive"),
        ("41,10\n57,1e300\n", None, "float32"),
        ("wavenumber,absorbance\n1000,0.1\n1e300,0.2\n", None, "cm-1"),
        ("1000\t-0.5\n1001\t0.2\n", "raman", None),  # negative vibrational intensities stay allowed
    ],
)
def test_bounds_csv(tmp_path: Path, text: str, kind: str | None, words: str | None) -> None:
    path = tmp_path / "c.csv"
    path.write_text(text, encoding="utf-8")
    if words is None:
        assert len(load_spectra(path, kind=kind)) == 1
        return
    with pytest.raises(SpectrumFormatError, match=rf"c\.csv: record 0 \('c'\): .*{re.escape(words)}"):
        load_spectra(path, kind=kind)
    got, report = _read(path, kind=kind)
    assert got == [] and report.n_skipped == 1


def test_bounds_jcamp(tmp_path: Path) -> None:
    bad_ms = MS_PEAKS.replace("##TITLE=ethanol", "##TITLE=bad").replace("46,210", "1E10,210")
    path = tmp_path / "j.jdx"
    path.write_text(IR_AFFN + bad_ms + RAMAN_DIFDUP, encoding="utf-8")
    with pytest.raises(SpectrumFormatError, match=r"j\.jdx: record 1 \('bad'\), line \d+: m/z .* beyond"):
        load_spectra(path)
    got, report = _read(path)
    assert [s.name for s in got] == ["Fentanyl HCl (ATR)", "Cocaine Raman"] and report.n_skipped == 1


def test_bounds_mzml(tmp_path: Path) -> None:
    import warnings

    from psims.mzml.writer import MzMLWriter

    path = tmp_path / "r.mzML"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with MzMLWriter(str(path)) as out:
            out.controlled_vocabularies()
            with out.run(id="run1"), out.spectrum_list(count=3):
                for i, mz in enumerate(([100.0, 150.0], [100.0, 1e10], [50.0, 75.0])):
                    out.write_spectrum(np.array(mz), np.array([5.0, 7.0]), id=f"scan={i + 1}",
                                       params=["MS1 spectrum", {"ms level": 1}])
    with pytest.raises(SpectrumFormatError, match=r"record 1 \('scan=2'\).*beyond"):
        load_spectra(path)
    got, report = _read(path)
    assert [s.metadata["spectrum_id"] for s in got] == ["scan=1", "scan=3"] and report.n_skipped == 1


def test_spectrum_bounds_are_one_definition() -> None:
    from nps_id.spectra.spectrum import MZ_MAX, bad_peaks, peak_problem

    x = np.array([-1.0, 0.0, 1e-6, MZ_MAX, np.nextafter(MZ_MAX, np.inf), np.nan, 50.0])
    y = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, -1.0])
    assert bad_peaks(x, y, "ms").tolist() == [True, True, False, False, True, True, True]
    assert not bad_peaks(x[2:4], np.array([-5.0, 3.0e38]), "ir").any()
    assert peak_problem(x[2:4], y[2:4], "ms") is None
    assert peak_problem(x, y, "ms") == ("m/z -1.0 is not positive (a mass spectrum's m/z must be > 0)", 0)


# ---------------------------------------------------------------- item 6: gzip cut in the middle
def _cut_gz(text: str, fraction: float) -> bytes:
    data = gzip.compress(text.encode("utf-8"), mtime=0)
    return data[: int(len(data) * fraction)]


@pytest.mark.parametrize("fraction", [0.5, 0.9, 0.999])
@pytest.mark.parametrize("fmt", ["msp", "mgf"])
def test_cut_gzip_keeps_records_before_the_cut(tmp_path: Path, fmt: str, fraction: float) -> None:
    good = _library(300)
    path = tmp_path / f"cut.{fmt}.gz"
    path.write_bytes(_cut_gz(_msp(good) if fmt == "msp" else _mgf(good), fraction))
    with pytest.raises(SpectrumFormatError, match=rf"cut\.{fmt}\.gz: record \d+.*cut off"):
        load_spectra(path)
    got, report = _read(path)
    assert 0 < len(got) < len(good) and got == good[: len(got)]
    assert report.n_read == len(got) and report.n_skipped == 1
    (skip,) = report.skipped
    assert skip.record == len(got) and "cut off" in skip.reason and "gzip" in skip.reason


@pytest.mark.parametrize("fmt", ["msp", "mgf"])
def test_gzip_without_its_trailer(tmp_path: Path, fmt: str) -> None:
    good = _library(5)
    data = gzip.compress((_msp(good) if fmt == "msp" else _mgf(good)).encode(), mtime=0)
    path = tmp_path / f"t.{fmt}.gz"
    path.write_bytes(data[:-8])  # every byte of data, no CRC/length trailer: still reported, nothing lost
    got, report = _read(path)
    assert got[: len(got)] == good[: len(got)] and report.n_skipped == 1


def test_cut_gzip_csv(tmp_path: Path) -> None:
    text = "m/z,intensity\n" + "".join(f"{40 + i},{i + 1}\n" for i in range(3000))
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(_cut_gz(text, 0.6))
    with pytest.raises(SpectrumFormatError, match=r"cut\.csv\.gz: record 0 \('cut'\): .*cut off"):
        load_spectra(path)
    got, report = _read(path)
    assert got == [] and report.n_skipped == 1  # one spectrum per file: the cut one is not silently shortened


@pytest.mark.parametrize("cut_in", ["second", "between"])
def test_cut_gzip_jcamp(tmp_path: Path, cut_in: str) -> None:
    text = IR_AFFN + MS_PEAKS + RAMAN_DIFDUP
    raw = text.encode()
    stop = raw.index(b"##END=", raw.index(b"##TITLE=ethanol")) if cut_in == "second" else raw.index(b"##TITLE=ethanol")
    # a gzip stream cut exactly there: the prefix compressed and flushed, the stream never finished
    z = zlib.compressobj(wbits=31)
    comp = z.compress(raw[:stop]) + z.flush(zlib.Z_SYNC_FLUSH)
    path = tmp_path / "cut.jdx.gz"
    path.write_bytes(comp)
    got, report = _read(path)
    assert [s.name for s in got] == ["Fentanyl HCl (ATR)"]
    assert report.n_skipped == 1 and "cut off" in report.skipped[0].reason
    with pytest.raises(SpectrumFormatError, match=r"cut\.jdx\.gz: record 1.*cut off"):
        load_spectra(path)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(spectra(), min_size=1, max_size=6), st.sampled_from(["msp", "mgf"]), st.floats(0.0, 0.9999))
def test_any_gzip_cut_reads_a_prefix_and_counts_the_cut(tmp_path: Path, spectra_, fmt: str, fraction: float) -> None:
    text = _msp(spectra_) if fmt == "msp" else _mgf(spectra_)
    data = gzip.compress(text.encode("utf-8", "surrogatepass"), mtime=0)
    path = tmp_path / f"p.{fmt}.gz"
    path.write_bytes(data[: max(2, int(len(data) * fraction))])  # the gzip magic kept
    got, report = _read(path)  # nothing but counted skips
    assert got == spectra_[: len(got)]
    assert report.n_read == len(got) and report.n_skipped >= 1
    try:
        load_spectra(path)
    except SpectrumFormatError as exc:
        assert f"p.{fmt}.gz" in str(exc)
    else:
        raise AssertionError("a cut file read without an error")


# ---------------------------------------------------------------- item 11: BOM and NUL
def test_bom_msp_first_name_kept(tmp_path: Path) -> None:
    good = _library(3)
    for name, data in (("b.msp", BOM + _msp(good).encode()), ("b.msp.gz", gzip.compress(BOM + _msp(good).encode()))):
        path = tmp_path / name
        path.write_bytes(data)
        assert load_spectra(path) == good  # 'name' of the first record, not '\ufeffname'


def test_bom_mgf_first_record_read(tmp_path: Path) -> None:
    good = _library(3)
    path = tmp_path / "b.mgf"
    path.write_bytes(BOM + _mgf(good).encode())
    assert load_spectra(path) == good


def test_bom_headerless_csv_keeps_first_point(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_bytes(BOM + b"41,10\n57,20\n91,30\n")
    (s,) = load_spectra(path)
    assert s.x.tolist() == [41.0, 57.0, 91.0] and "x_label" not in s.metadata


def test_bom_jcamp(tmp_path: Path) -> None:
    path = tmp_path / "b.jdx"
    path.write_bytes(BOM + IR_AFFN.encode())
    (s,) = load_spectra(path)
    assert s.name == "Fentanyl HCl (ATR)" and s.n_peaks == 6


def test_nul_in_a_name_is_one_counted_skip_and_library_builds(tmp_path: Path) -> None:
    from nps_id.spectra.library import SpectralLibrary

    good = _library(3)
    text = _msp(good).split("\n\n")
    text[1] = text[1].replace("compound 1", "comp\x00ound 1")
    path = tmp_path / "nul.msp"
    path.write_text("\n\n".join(text), encoding="utf-8")
    with pytest.raises(SpectrumFormatError, match=r"nul\.msp: record 1 .*'name' holds a NUL"):
        load_spectra(path)
    got, report = _read(path)
    assert got == [good[0], good[2]] and report.n_skipped == 1
    lib = SpectralLibrary.build([path], tmp_path / "lib.h5", on_error="skip", progress=False)
    assert len(lib) == 2 and lib.build_report.n_skipped == 1


@pytest.mark.parametrize("fmt", ["mgf", "csv", "jdx"])
def test_nul_in_other_formats(tmp_path: Path, fmt: str) -> None:
    text = {
        "mgf": "BEGIN IONS\nTITLE=a\x00b\n41 10\nEND IONS\n",
        "csv": "# made by\x00 hand\n41,10\n",
        "jdx": IR_AFFN.replace("test lab", "test\x00lab"),
    }[fmt]
    path = tmp_path / f"n.{fmt}"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpectrumFormatError, match="NUL"):
        load_spectra(path)
    got, report = _read(path)
    assert got == [] and report.n_skipped == 1


# ---------------------------------------------------------------- item 12: real exports of other tools
def _count_records(path: Path) -> int:
    """The number of records the exporting tool wrote, counted from the file's own markers."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".msp":
        return len(re.findall(r"(?im)^[ \t]*num[ \t]*peaks[ \t]*:", text))
    if path.suffix == ".mgf":
        return len(re.findall(r"(?im)^[ \t]*BEGIN IONS[ \t]*$", text))
    if path.suffix == ".mzml":
        return len(re.findall(r"<spectrum\s", text))
    raise AssertionError(f"no record count for {path.name}")


# counted by hand from the files (Num Peaks lines, BEGIN IONS lines, <spectrum> elements)
QUIRK_COUNTS = {
    "Hydrogen_chloride.msp": 1,
    "MoNA-export-GC-MS-first10.msp": 10,
    "comments_with_quotes.msp": 1,
    "edge_golm.msp": 1,
    "golm.msp": 3,
    "massbank_five_spectra.msp": 5,
    "multiline_semicolon.msp": 2,
    "pesticides.mgf": 76,
    "rcx_gc-ei_ms_20201028_perylene.msp": 1,
    "riken_style_five_spectra.msp": 5,
    "save_as_msp_from_mgf.mgf": 1,
    "save_as_msp_from_mgf.msp": 1,
    "test_remove_fingerprint.mgf": 5,
    "test_spectra_collection.msp": 3,
    "testdata.mgf": 30,
    "testdata.mzml": 12,  # a cut-down file: its spectrumList still says count="8761"
}


@pytest.fixture(scope="module")
def quirks() -> Path:
    if not QUIRKS.is_dir():
        pytest.fail(f"reader quirk files not found at {QUIRKS}; set NPS_ID_QUIRKS or put shared/ beside the project")
    return QUIRKS


def test_every_quirk_file_is_listed(quirks: Path) -> None:
    assert sorted(p.name for p in quirks.iterdir() if p.suffix != ".md") == sorted(QUIRK_COUNTS)


@pytest.mark.parametrize("name", sorted(QUIRK_COUNTS))
def test_quirk_file_reads_every_record(quirks: Path, name: str) -> None:
    path = quirks / name
    assert _count_records(path) == QUIRK_COUNTS[name]
    got, report = _read(path)
    assert report.n_skipped == 0, report.summary()
    assert len(got) == QUIRK_COUNTS[name]
    assert len(load_spectra(path, on_error="raise")) == QUIRK_COUNTS[name]
    if path.suffix == ".msp":  # every peak the record declares is read
        declared = [int(n) for n in re.findall(r"(?im)^[ \t]*num[ \t]*peaks[ \t]*:[ \t]*(\d+)", path.read_text())]
        assert [s.n_peaks for s in got] == declared


def test_mona_gc_ms_zero_precursor_means_none(quirks: Path) -> None:
    got = load_spectra(quirks / "MoNA-export-GC-MS-first10.msp")
    assert len(got) == 10
    assert all(s.precursor_mz is None and s.metadata["precursor_mz_text"] == "0" for s in got)
    assert {technique_of(s).name for s in got} == {"gc_ei"}


@pytest.mark.parametrize("fmt", ["msp", "mgf"])
def test_zero_precursor_is_none_and_round_trips(tmp_path: Path, fmt: str) -> None:
    text = (
        "NAME: ei\nPRECURSORMZ: 0\nNum Peaks: 2\n41 10\n57 20\n\n" if fmt == "msp"
        else "BEGIN IONS\nTITLE=ei\nPEPMASS=0\n41 10\n57 20\nEND IONS\n"
    )
    path = tmp_path / f"z.{fmt}"
    path.write_text(text, encoding="utf-8")
    (s,) = load_spectra(path)
    assert s.precursor_mz is None and s.metadata["precursor_mz_text"] == "0"
    out = tmp_path / f"back.{fmt}"  # the writer keeps the text as written
    out.write_text(_msp([s]) if fmt == "msp" else _mgf([s]), encoding="utf-8")
    assert load_spectra(out) == [s]
