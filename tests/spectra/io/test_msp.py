"""MSP: real data read completely, round trips, bad input named by file/record/line, property tests."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from io_helpers import assert_same, junk_line, spectra
from nps_id.errors import SpectrumFormatError, UnknownFormatError
from nps_id.spectra.io import ReadReport, load_spectra, save_spectra
from nps_id.spectra.io.msp import write_msp
from nps_id.spectra.spectrum import Spectrum


def record(name: str, peaks: list[str], extra: tuple[str, ...] = (), num: int | str | None = None) -> str:
    n = len(peaks) if num is None else num
    return "\n".join([f"NAME: {name}", *extra, f"Num Peaks: {n}", *peaks]) + "\n"


def msp_text(*records: str) -> str:
    return "\n".join(records)


GOOD0 = record("good zero", ["41\t120", "57\t999"], ("PRECURSORMZ: 200.5",))
GOOD2 = record("good two", ["43 10", "91 20", "105 30"])


# ---------------------------------------------------------------- real data
@pytest.mark.realdata
def test_swgdrug_reads_completely(swgdrug_path: Path) -> None:
    report = ReadReport()
    spectra_ = load_spectra(swgdrug_path, on_error="raise", report=report)
    assert len(spectra_) == 2702
    assert report.n_read == 2702 and report.n_skipped == 0
    first = spectra_[0]
    assert first.name == "Epiandrosterone"
    assert first.precursor_mz is None  # GC-EI
    assert first.n_peaks == 211
    assert first.metadata["spectrum_id"] == "SWGDRUG3.4:314"
    assert first.metadata["ionization"] == "EI"
    assert (first.x[0], float(first.intensity[0])) == (40.0, float(np.float32(42.04)))
    fent = [s for s in spectra_ if s.metadata.get("spectrum_id") == "SWGDRUG3.4:1396"]
    assert len(fent) == 1 and fent[0].name == "3-Methylfentanyl" and fent[0].n_peaks == 140
    assert fent[0].metadata["smiles"] == "CCC(=O)N(c1ccccc1)C1CCN(CCc2ccccc2)CC1C"
    assert spectra_[-1].x[-1] == 379.0
    assert all(s.kind == "ms" for s in spectra_)


@pytest.mark.realdata
@pytest.mark.slow
def test_massbank_reads_completely(massbank_path: Path) -> None:
    report = ReadReport()
    spectra_ = load_spectra(massbank_path, on_error="raise", report=report)
    assert len(spectra_) == 80353
    assert report.n_read == 80353 and report.n_skipped == 0
    first, last = spectra_[0], spectra_[-1]
    assert first.name == "Mellein" and first.precursor_mz == 179.0697 and first.n_peaks == 5
    assert first.metadata["spectrum_id"] == "MSBNK-AAFC-AC000001"
    np.testing.assert_array_equal(first.x, [133.0648, 151.0754, 155.9743, 161.0597, 179.0703])
    np.testing.assert_array_equal(first.intensity, np.float32([227, 95.74, 113.8, 1000, 751.9]))
    assert last.name == "HuperzineA" and last.precursor_mz is None and last.n_peaks == 1
    assert last.metadata["spectrum_id"] == "MSBNK-Washington_State_Univ-BML82492"
    # 'PRECURSORMZ: NA' is kept as written, not dropped
    na = [s for s in spectra_ if s.metadata.get("precursor_mz_text") == "NA"]
    assert len(na) == 66 and all(s.precursor_mz is None for s in na)


@pytest.mark.realdata
def test_swgdrug_msp_round_trip(swgdrug_spectra: list[Spectrum], tmp_path: Path) -> None:
    out = tmp_path / "swg.msp"
    assert save_spectra(swgdrug_spectra, out) == 2702
    assert_same(swgdrug_spectra, load_spectra(out))


@pytest.mark.realdata
@pytest.mark.slow
def test_massbank_msp_round_trip(massbank_spectra: list[Spectrum], tmp_path: Path) -> None:
    sample = massbank_spectra[::20]  # ~4,000 spectra across all contributors
    out = tmp_path / "mb.msp.gz"
    save_spectra(sample, out)
    assert_same(sample, load_spectra(out))


# ---------------------------------------------------------------- edge cases
def test_edge_cases_round_trip(tmp_path: Path) -> None:
    spectra_ = [
        Spectrum([41.0, 57.0], [1.0, 2.0], metadata={"name": "no precursor"}),
        Spectrum([41.0], [1.0], metadata={"name": "Fentanyl – β-Hydroxy 3‑méthyl 芬太尼"}, precursor_mz=337.2274),
        Spectrum([50.5], [3.0], metadata={"name": "a\nb", "comment": "first\nsecond\nthird"}),  # repeated keys
        Spectrum([60.0], [4.0], metadata={"name": "x", "comment": "ratio 1:2: done", "source": "github:a/b@c"}),
        Spectrum([70.125], [np.float32(0.1)], metadata={}),  # no name at all
        Spectrum([1e-3, 12345.678901234567], [0.0, 3.4e38], metadata={"empty": ""}),
    ]
    out = tmp_path / "edge.msp"
    save_spectra(spectra_, out)
    assert_same(spectra_, load_spectra(out))


def test_repeated_keys_are_joined_not_dropped(tmp_path: Path) -> None:
    path = tmp_path / "syn.msp"
    path.write_text(record("Fentanyl", ["1 2"], ("Synon: one", "Synon: two")), encoding="utf-8")
    (s,) = load_spectra(path)
    assert s.metadata["synon"] == "one\ntwo"


def test_crlf_and_gzip(tmp_path: Path) -> None:
    import gzip

    text = msp_text(GOOD0, GOOD2).replace("\n", "\r\n")
    path = tmp_path / "crlf.msp.gz"
    path.write_bytes(gzip.compress(text.encode()))
    a = load_spectra(path)
    assert [s.name for s in a] == ["good zero", "good two"]
    assert a[0].precursor_mz == 200.5


# ---------------------------------------------------------------- bad input
BAD_CASES = {
    "missing_num_peaks": ("NAME: bad one\n41 10\n57 20\n", "Num Peaks"),
    "non_numeric_peak": (record("bad one", ["41 10", "57 abc"]), "not a number"),
    "nan_peak": (record("bad one", ["41 10", "57 nan"]), "NaN"),
    "empty_spectrum": (record("bad one", [], num=0), "empty"),
    "comma_decimal": (record("bad one", ["41,5 10", "57 20"]), "comma"),
    "count_mismatch": (record("bad one", ["41 10", "57 20"], num=3), "Num Peaks: 3"),
    "num_peaks_not_int": (record("bad one", ["41 10"], num="x"), "whole number"),
    "negative_intensity": (record("bad one", ["41 -10"]), "negative"),
    "bad_precursor": (record("bad one", ["41 10"], ("PRECURSORMZ: abc",)), "precursor"),
    # issue 16 item 4: a Num Peaks beyond int64 is a named bad record, not an OverflowError
    "huge_num_peaks": (record("bad one", ["41 10"], num="99999999999999999999"), "Num Peaks"),
    "large_num_peaks": (record("bad one", ["41 10"], num=10**9), "Num Peaks"),
    # issue 16 item 5: m/z and intensity bounds (0 < m/z <= 1e5; finite, non-negative, float32 intensities)
    "zero_mz": (record("bad one", ["0 10", "57 20"]), "not positive"),
    "negative_mz": (record("bad one", ["-41 10", "57 20"]), "not positive"),
    "mz_1e8": (record("bad one", ["41 10", "1e8 20"]), "beyond"),
    "mz_1e10": (record("bad one", ["41 10", "1e10 20"]), "beyond"),
    "mz_1e300": (record("bad one", ["41 10", "1e300 20"]), "beyond"),
    "intensity_beyond_float32": (record("bad one", ["41 1e300"]), "float32"),
    "inf_intensity": (record("bad one", ["41 inf"]), "infinite"),
    "huge_precursor": (record("bad one", ["41 10"], ("PRECURSORMZ: 1e300",)), "precursor"),
    "negative_precursor": (record("bad one", ["41 10"], ("PRECURSORMZ: -5",)), "precursor"),
    # issue 16 item 11: a NUL in a metadata value is a counted skip (named), not a failed library build
    "nul_in_metadata": (record("bad one", ["41 10"], ("COMMENT: a\x00b",)), "NUL"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_record_raises_with_location(case: str, tmp_path: Path) -> None:
    bad, words = BAD_CASES[case]
    path = tmp_path / f"{case}.msp"
    path.write_text(msp_text(GOOD0, bad, GOOD2), encoding="utf-8")
    with pytest.raises(SpectrumFormatError) as info:
        load_spectra(path)
    msg = str(info.value)
    assert path.name in msg and "record 1" in msg and "'bad one'" in msg and "line " in msg
    assert words in msg
    assert info.value.record == 1 and info.value.path == str(path)
    assert info.value.line is not None and info.value.line >= GOOD0.count("\n") + 2  # inside record 1


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_record_skipped_and_counted(case: str, tmp_path: Path) -> None:
    bad, words = BAD_CASES[case]
    path = tmp_path / f"{case}.msp"
    path.write_text(msp_text(GOOD0, bad, GOOD2), encoding="utf-8")
    report = ReadReport()
    got = load_spectra(path, on_error="skip", report=report)
    assert [s.name for s in got] == ["good zero", "good two"]
    assert report.n_read == 2 and report.n_skipped == 1
    (skip,) = report.skipped
    assert skip.record == 1 and skip.record_id == "bad one" and words in skip.reason
    assert words in report.summary()


def test_bad_peak_line_number(tmp_path: Path) -> None:
    path = tmp_path / "line.msp"
    # GOOD0 is lines 1-5, a blank line 6; record 1 starts on line 7, its 2nd peak is on line 7 + 3 = 10
    path.write_text(msp_text(GOOD0, record("bad one", ["41 10", "57 abc"])), encoding="utf-8")
    with pytest.raises(SpectrumFormatError, match=r"line 10\b"):
        load_spectra(path)


def test_truncated_file(tmp_path: Path) -> None:
    text = msp_text(GOOD0, GOOD2, GOOD0)
    path = tmp_path / "cut.msp"
    path.write_text(text[: text.rfind("57\t999") - 1], encoding="utf-8")  # cut inside the last peak list
    with pytest.raises(SpectrumFormatError, match=r"cut\.msp: record 2"):
        load_spectra(path)
    report = ReadReport()
    assert len(load_spectra(path, on_error="skip", report=report)) == 2
    assert report.n_skipped == 1


def test_warn_logs_and_counts(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "w.msp"
    path.write_text(msp_text(GOOD0, BAD_CASES["nan_peak"][0]), encoding="utf-8")
    report = ReadReport()
    assert len(load_spectra(path, on_error="warn", report=report)) == 1
    assert report.n_skipped == 1
    assert any("w.msp" in r.getMessage() and "record 1" in r.getMessage() for r in caplog.records)


def test_wrong_extension(tmp_path: Path) -> None:
    path = tmp_path / "library.msx"
    path.write_text(GOOD0, encoding="utf-8")
    with pytest.raises(UnknownFormatError, match="msx"):
        load_spectra(path)
    assert len(load_spectra(path, format="msp")) == 1


# ---------------------------------------------------------------- property-based
def _write(spectra_: list[Spectrum]) -> str:
    buf = io.StringIO()
    write_msp(spectra_, buf)
    return buf.getvalue()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(spectra(), min_size=1, max_size=6))
def test_generated_records_read_back_exactly(tmp_path: Path, spectra_: list[Spectrum]) -> None:
    path = tmp_path / "gen.msp"
    path.write_text(_write(spectra_), encoding="utf-8")
    assert_same(spectra_, load_spectra(path))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(spectra(), min_size=2, max_size=5), st.data())
def test_corrupted_records_are_counted(tmp_path: Path, spectra_: list[Spectrum], data: st.DataObject) -> None:
    records = [_write([s]) for s in spectra_]
    victim = data.draw(st.integers(0, len(records) - 1))
    lines = records[victim].rstrip("\n").split("\n")
    k = data.draw(st.integers(0, len(lines) - 1))
    how = data.draw(st.sampled_from(["replace", "insert", "delete"]))
    junk = data.draw(junk_line)
    if how == "replace":
        lines[k] = junk
    elif how == "insert":
        lines.insert(k, junk)
    elif len(lines) > 1:
        del lines[k]
    records[victim] = "\n".join(lines) + "\n\n"
    path = tmp_path / "bad.msp"
    path.write_text("".join(records), encoding="utf-8", errors="surrogatepass")
    report = ReadReport()
    got = load_spectra(path, on_error="skip", report=report)  # nothing but SpectrumFormatError may escape
    assert report.n_read + report.n_skipped == len(spectra_)
    assert report.n_read == len(got)
    others = [s for i, s in enumerate(spectra_) if i != victim]
    # every untouched record read back, in order; the corrupted one is skipped or read (as whatever it now says)
    if len(got) == len(spectra_):
        assert got[:victim] + got[victim + 1 :] == others
    else:
        assert got == others
    try:
        load_spectra(path, on_error="raise")
    except SpectrumFormatError as exc:
        assert "bad.msp" in str(exc)
