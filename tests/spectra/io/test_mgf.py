"""MGF: round trips from MSP, agreement with pyteomics, bad input, property tests."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from io_helpers import assert_same, junk_line, spectra
from nps_id.errors import SpectrumFormatError
from nps_id.spectra.io import ReadReport, load_spectra, save_spectra
from nps_id.spectra.io.mgf import write_mgf
from nps_id.spectra.spectrum import Spectrum


def ions(title: str | None, peaks: list[str], extra: tuple[str, ...] = ()) -> str:
    head = [f"TITLE={title}"] if title is not None else []
    return "\n".join(["BEGIN IONS", *head, *extra, *peaks, "END IONS"]) + "\n"


GOOD0 = ions("good zero", ["41\t120", "57\t999"], ("PEPMASS=200.5",))
GOOD2 = ions("good two", ["43 10", "91 20", "105 30"])


def _write(spectra_: list[Spectrum]) -> str:
    buf = io.StringIO()
    write_mgf(spectra_, buf)
    return buf.getvalue()


# ---------------------------------------------------------------- round trips on real data
@pytest.mark.realdata
def test_swgdrug_msp_to_mgf_round_trip(swgdrug_spectra: list[Spectrum], tmp_path: Path) -> None:
    out = tmp_path / "swg.mgf"
    assert save_spectra(swgdrug_spectra, out) == 2702
    text = out.read_text(encoding="utf-8")
    assert "PEPMASS" not in text  # GC-EI: no precursor, none invented
    assert_same(swgdrug_spectra, load_spectra(out, on_error="raise"))


@pytest.mark.realdata
@pytest.mark.slow
def test_massbank_msp_to_mgf_round_trip(massbank_spectra: list[Spectrum], tmp_path: Path) -> None:
    sample = massbank_spectra[::16]  # ~5,000 spectra, with and without precursors, 'PRECURSORMZ: NA' among them
    sample += [s for s in massbank_spectra if s.metadata.get("precursor_mz_text")]
    out = tmp_path / "mb.mgf.gz"
    save_spectra(sample, out)
    assert_same(sample, load_spectra(out, on_error="raise"))


# ---------------------------------------------------------------- reading
def test_agrees_with_pyteomics(tmp_path: Path) -> None:
    from pyteomics import mgf

    rng = np.random.default_rng(0)
    spectra_ = [
        Spectrum(np.sort(rng.uniform(50, 500, 20)), rng.uniform(0, 1000, 20), precursor_mz=float(rng.uniform(200, 600)),
                 metadata={"name": f"s{i}", "charge": "2+"})
        for i in range(30)
    ]
    path = tmp_path / "x.mgf"
    save_spectra(spectra_, path)
    ours = load_spectra(path)
    theirs = list(mgf.read(str(path), convert_arrays=1, read_charges=False))
    assert len(ours) == len(theirs) == 30
    for s, t in zip(ours, theirs):
        np.testing.assert_array_equal(s.x, t["m/z array"])
        np.testing.assert_array_equal(s.intensity, t["intensity array"].astype(np.float32))
        assert s.precursor_mz == t["params"]["pepmass"][0]
        assert s.name == t["params"]["title"]


def test_pepmass_intensity_charge_and_header(tmp_path: Path) -> None:
    text = (
        "# a comment\nCOM=demo library\nCHARGE=1+\n\n"
        + ions("with intensity", ["100.5 3 2+", "101.5 4"], ("PEPMASS=445.12 12000 2+", "RTINSECONDS=12.50"))
        + ions(None, ["41 1"], ("CHARGE=2+", "PEPMASS=300"))
    )
    path = tmp_path / "h.mgf"
    path.write_text(text, encoding="utf-8")
    a, b = load_spectra(path)
    assert a.precursor_mz == 445.12
    assert a.metadata["precursor_mz_text"] == "445.12 12000 2+"  # intensity and charge kept as written
    assert a.metadata["retention_time"] == "12.50"  # not rewritten
    assert a.metadata["com"] == "demo library" and a.metadata["charge"] == "1+"  # file-wide parameters
    assert a.metadata["peak_annotations"] == "100.5\t2+"  # a third column is kept, not dropped
    assert b.name is None and b.precursor_mz == 300.0 and "precursor_mz_text" not in b.metadata
    assert b.metadata["charge"] == "2+"  # the record's own value wins


def test_duplicate_and_missing_titles_all_read(tmp_path: Path) -> None:
    path = tmp_path / "dup.mgf"
    path.write_text(ions("same", ["1 1"]) + ions("same", ["2 2"]) + ions(None, ["3 3"]), encoding="utf-8")
    got = load_spectra(path)
    assert [s.x[0] for s in got] == [1.0, 2.0, 3.0]


def test_edge_cases_round_trip(tmp_path: Path) -> None:
    spectra_ = [
        Spectrum([41.0, 57.0], [1.0, 2.0], metadata={"name": "no precursor, EI"}),
        Spectrum([41.0], [1.0], metadata={"name": "Carfentanil – 芬太尼 ü"}, precursor_mz=395.2335),
        Spectrum([50.5], [3.0], metadata={"name": "a\nb", "comment": "one\ntwo"}),
        Spectrum([60.0], [4.0], metadata={"comment": "a=b: c; d", "source_record": "x/y=z.txt"}),
        Spectrum([60.0], [4.0], precursor_mz=None, metadata={"precursor_mz_text": "NA"}),
    ]
    path = tmp_path / "edge.mgf"
    save_spectra(spectra_, path)
    assert_same(spectra_, load_spectra(path))


def test_writer_refuses_unreadable_keys() -> None:
    with pytest.raises(ValueError, match="cannot be written to MGF"):
        write_mgf([Spectrum([1.0], [1.0], metadata={"a=b": "x"})], io.StringIO())
    with pytest.raises(ValueError, match="mass spectra only"):
        write_mgf([Spectrum([1.0], [1.0], kind="ir")], io.StringIO())


# ---------------------------------------------------------------- bad input
BAD_CASES = {
    "non_numeric_peak": (ions("bad one", ["41 10", "57 abc"]), "not a number", 4),
    "nan_peak": (ions("bad one", ["41 10", "57 nan"]), "NaN", 4),
    "empty_spectrum": (ions("bad one", []), "empty", 1),
    "comma_decimal": (ions("bad one", ["41,5 10", "57 20"]), "comma", 3),
    "one_value": (ions("bad one", ["41 10", "57"]), "two numbers", 4),
    "negative_intensity": (ions("bad one", ["41 -10"]), "negative", 3),
    "bad_pepmass": (ions("bad one", ["41 10"], ("PEPMASS=abc",)), "PEPMASS", 1),
    "negative_pepmass": (ions("bad one", ["41 10"], ("PEPMASS=-5",)), "PEPMASS", 1),
    "huge_pepmass": (ions("bad one", ["41 10"], ("PEPMASS=1e300",)), "beyond", 1),
    # issue 16 item 5: m/z and intensity bounds, named with the line of the bad peak
    "zero_mz": (ions("bad one", ["0 10", "57 20"]), "not positive", 3),
    "negative_mz": (ions("bad one", ["41 10", "-57 20"]), "not positive", 4),
    "mz_1e8": (ions("bad one", ["41 10", "1e8 20"]), "beyond", 4),
    "mz_1e10": (ions("bad one", ["1e10 20", "41 10"]), "beyond", 3),
    "mz_1e300": (ions("bad one", ["41 10", "1e300 20"]), "beyond", 4),
    "intensity_beyond_float32": (ions("bad one", ["41 10", "57 1e300"]), "float32", 4),
    # issue 16 item 11: a NUL in a value is a named bad record
    "nul_in_metadata": (ions("bad one", ["41 10"], ("COMMENT=a\x00b",)), "NUL", 1),
    "no_end_ions": ("BEGIN IONS\nTITLE=bad one\n41 10\n", "END IONS", 1),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_record_raises_with_location(case: str, tmp_path: Path) -> None:
    bad, words, line_in_record = BAD_CASES[case]
    path = tmp_path / f"{case}.mgf"
    path.write_text(GOOD0 + bad + GOOD2, encoding="utf-8")
    with pytest.raises(SpectrumFormatError) as info:
        load_spectra(path)
    msg = str(info.value)
    assert path.name in msg and "record 1 ('bad one')" in msg and words in msg
    start = GOOD0.count("\n") + 1  # BEGIN IONS of record 1
    assert info.value.line == start + line_in_record - 1, msg
    assert f"line {info.value.line}" in msg


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_record_skipped_and_counted(case: str, tmp_path: Path) -> None:
    bad, words, _ = BAD_CASES[case]
    path = tmp_path / f"{case}.mgf"
    path.write_text(GOOD0 + bad + GOOD2, encoding="utf-8")
    report = ReadReport()
    got = load_spectra(path, on_error="skip", report=report)
    assert [s.name for s in got] == ["good zero", "good two"]
    assert report.n_read == 2 and report.n_skipped == 1
    assert report.skipped[0].record == 1 and words in report.skipped[0].reason


def test_truncated_file(tmp_path: Path) -> None:
    text = GOOD0 + GOOD2 + GOOD0
    path = tmp_path / "cut.mgf"
    path.write_text(text[: text.rfind("57\t999")], encoding="utf-8")
    with pytest.raises(SpectrumFormatError, match=r"cut\.mgf: record 2 \('good zero'\), line 13: BEGIN IONS without"):
        load_spectra(path)
    report = ReadReport()
    assert [s.name for s in load_spectra(path, on_error="skip", report=report)] == ["good zero", "good two"]
    assert report.n_skipped == 1


def test_stray_lines_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "stray.mgf"
    path.write_text(GOOD0 + "41 10\nEND IONS\n" + GOOD2, encoding="utf-8")
    with pytest.raises(SpectrumFormatError, match=r"stray\.mgf: line 7: line '41 10' is outside"):
        load_spectra(path)
    report = ReadReport()
    assert len(load_spectra(path, on_error="skip", report=report)) == 2
    assert [s.line for s in report.skipped] == [7, 8]


def test_not_an_mgf_file(tmp_path: Path) -> None:
    path = tmp_path / "x.mgf"
    path.write_text("hello world\n", encoding="utf-8")
    with pytest.raises(SpectrumFormatError, match="x.mgf: line 1"):
        load_spectra(path)


# ---------------------------------------------------------------- property-based
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(spectra(), min_size=1, max_size=6))
def test_generated_records_read_back_exactly(tmp_path: Path, spectra_: list[Spectrum]) -> None:
    path = tmp_path / "gen.mgf"
    path.write_text(_write(spectra_), encoding="utf-8")
    assert_same(spectra_, load_spectra(path))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(spectra(), min_size=2, max_size=5), st.data())
def test_corrupted_records_are_counted(tmp_path: Path, spectra_: list[Spectrum], data: st.DataObject) -> None:
    records = [_write([s]) for s in spectra_]
    victim = data.draw(st.integers(0, len(records) - 1))
    lines = records[victim].rstrip("\n").split("\n")
    k = data.draw(st.integers(1, len(lines) - 2))  # inside BEGIN IONS .. END IONS
    how = data.draw(st.sampled_from(["replace", "insert", "delete"]))
    junk = data.draw(junk_line)
    if how == "replace":
        lines[k] = junk
    elif how == "insert":
        lines.insert(k, junk)
    else:
        del lines[k]
    records[victim] = "\n".join(lines) + "\n\n"
    path = tmp_path / "bad.mgf"
    path.write_text("".join(records), encoding="utf-8", errors="surrogatepass")
    report = ReadReport()
    got = load_spectra(path, on_error="skip", report=report)
    assert report.n_read + report.n_skipped == len(spectra_)
    assert report.n_read == len(got)
    others = [s for i, s in enumerate(spectra_) if i != victim]
    # the untouched records are all read, in order; the corrupted one is skipped or read (as whatever it now says)
    if len(got) == len(spectra_):
        assert got[:victim] + got[victim + 1 :] == others
    else:
        assert got == others


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_format_errors(tmp_path: Path, blob: bytes) -> None:
    path = tmp_path / "junk.mgf"
    path.write_bytes(b"BEGIN IONS\n" + blob + b"\nEND IONS\n" + blob)
    try:
        load_spectra(path, on_error="raise")
    except SpectrumFormatError as exc:
        assert "junk.mgf" in str(exc)
    report = ReadReport()
    load_spectra(path, on_error="skip", report=report)
