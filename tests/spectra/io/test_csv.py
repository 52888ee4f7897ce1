"""Two-column text files: separators, headers, kind guessing, decimal commas."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nps_id.errors import SpectrumFormatError
from nps_id.spectra.io import ReadReport, load_spectra


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("sep", [",", "\t", ";", " ", "   "])
def test_separators(tmp_path: Path, sep: str) -> None:
    path = write(tmp_path, "spec.csv", f"41.5{sep}10\n57{sep}999.25\n43{sep}0\n")
    (s,) = load_spectra(path)
    assert s.kind == "ms" and s.name == "spec"
    np.testing.assert_array_equal(s.x, [41.5, 43, 57])
    np.testing.assert_array_equal(s.intensity, np.float32([10, 0, 999.25]))


def test_header_guesses_kind_and_descending_ir(tmp_path: Path) -> None:
    path = write(tmp_path, "cocaine_ir.csv", "Wavenumber (cm-1),Absorbance\n4000,0.1\n3998,-0.01\n3996,0.3\n")
    (s,) = load_spectra(path)
    assert s.kind == "ir" and s.metadata["x_label"] == "Wavenumber (cm-1)" and s.metadata["y_label"] == "Absorbance"
    np.testing.assert_array_equal(s.x, [3996, 3998, 4000])
    np.testing.assert_allclose(s.intensity, [0.3, -0.01, 0.1], rtol=1e-6)
    raman = write(tmp_path, "r.tsv", "Raman shift\tIntensity\n200\t5\n")
    assert load_spectra(raman)[0].kind == "raman"
    assert load_spectra(raman, kind="ir")[0].kind == "ir"  # the option wins


def test_comments_kept_and_gzip(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "a.txt.gz"
    path.write_bytes(gzip.compress(b"# measured 2024\nm/z intensity\n91 100\n"))
    (s,) = load_spectra(path)
    assert s.name == "a" and s.metadata["comment"] == "measured 2024" and s.kind == "ms"


def test_comma_decimal_is_a_clear_error(tmp_path: Path) -> None:
    path = write(tmp_path, "de.csv", "x;y\n12,5;100\n13,5;50\n")
    with pytest.raises(SpectrumFormatError, match=r"de\.csv: record 0 \('de'\), line 2: .*comma as decimal.*decimal=','"):
        load_spectra(path)
    (s,) = load_spectra(path, decimal=",")  # unambiguous with ';' between the columns
    np.testing.assert_array_equal(s.x, [12.5, 13.5])
    amb = write(tmp_path, "amb.csv", "12,5,100\n")
    with pytest.raises(SpectrumFormatError, match="more than two values.*decimal=','"):
        load_spectra(amb)
    with pytest.raises(SpectrumFormatError, match="ambiguous"):
        load_spectra(amb, decimal=",")


@pytest.mark.parametrize(
    "text, words, line",
    [
        ("1 2\n3 x\n", "not a number", 2),
        ("1 2\n3\n", "two numbers", 2),
        ("1 2\n3 nan\n", "NaN", 2),
        ("", "no data", None),
        ("mz,int\n", "no data lines", 1),
        ("1 -5\n", "negative", None),
    ],
)
def test_bad_files(tmp_path: Path, text: str, words: str, line: int | None) -> None:
    path = write(tmp_path, "bad.csv", text)
    with pytest.raises(SpectrumFormatError, match=words) as info:
        load_spectra(path)
    assert "bad.csv" in str(info.value) and info.value.record == 0 and info.value.line == line
    report = ReadReport()
    assert load_spectra(path, on_error="skip", report=report) == [] and report.n_skipped == 1


def test_negative_allowed_for_vibrational(tmp_path: Path) -> None:
    assert load_spectra(write(tmp_path, "b.csv", "1 -5\n"), kind="raman")[0].intensity[0] == -5
