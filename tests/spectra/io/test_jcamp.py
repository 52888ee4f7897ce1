"""JCAMP-DX through the jcamp package: IR/Raman/MS, AFFN and compressed data, units, and its quirks guarded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nps_id.errors import SpectrumFormatError
from nps_id.spectra.io import ReadReport, load_spectra

IR_AFFN = """##TITLE=Fentanyl HCl (ATR)
##JCAMP-DX=4.24
##DATA TYPE=INFRARED SPECTRUM
##ORIGIN=test lab
##OWNER=public domain
##MOLFORM=C22 H28 N2 O
##CAS REGISTRY NO=437-38-7
##XUNITS=1/CM
##YUNITS=TRANSMITTANCE
##XFACTOR=1.0
##YFACTOR=0.001
##FIRSTX=4000
##LASTX=3995
##NPOINTS=6
##XYDATA=(X++(Y..Y))
4000 900 910 920
3997 930 940 950
##END=
"""

RAMAN_DIFDUP = """##TITLE=Cocaine Raman
##JCAMP-DX=5.01
##DATA TYPE=RAMAN SPECTRUM
##XUNITS=1/CM
##YUNITS=ARBITRARY UNITS
##XFACTOR=1
##YFACTOR=1
##FIRSTX=100
##LASTX=105
##NPOINTS=6
##XYDATA=(X++(Y..Y))
100A0KL
102A5%Tm
##END=
"""

MS_PEAKS = """##TITLE=ethanol
##JCAMP-DX=4.24
##DATA TYPE=MASS SPECTRUM
##XUNITS=M/Z
##YUNITS=RELATIVE ABUNDANCE
##NPOINTS=3
##PEAK TABLE=(XY..XY)
31,999 45,520 46,210
##END=
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_ir_affn_descending_sorted_with_metadata(tmp_path: Path) -> None:
    (s,) = load_spectra(write(tmp_path, "fent.jdx", IR_AFFN))
    assert s.kind == "ir" and s.precursor_mz is None
    np.testing.assert_array_equal(s.x, [3995, 3996, 3997, 3998, 3999, 4000])  # ascending
    np.testing.assert_allclose(s.intensity, [0.95, 0.94, 0.93, 0.92, 0.91, 0.90], rtol=1e-6)  # YFACTOR applied
    m = s.metadata
    assert m["name"] == "Fentanyl HCl (ATR)" and m["formula"] == "C22 H28 N2 O" and m["cas"] == "437-38-7"
    assert m["ordinate"] == "transmittance" and m["y_units"] == "TRANSMITTANCE" and m["x_units"] == "1/CM"
    assert "npoints" not in m and "xfactor" not in m


def test_raman_compressed_asdf(tmp_path: Path) -> None:
    (s,) = load_spectra(write(tmp_path, "coc.dx", RAMAN_DIFDUP))
    assert s.kind == "raman"
    np.testing.assert_array_equal(s.x, np.arange(100, 106))
    np.testing.assert_array_equal(s.intensity, [10, 12, 15, 15, 15, 11])
    assert s.metadata["ordinate"] == "intensity"


def test_mass_spectrum_peak_table(tmp_path: Path) -> None:
    (s,) = load_spectra(write(tmp_path, "etoh.jdx", MS_PEAKS))
    assert s.kind == "ms"
    np.testing.assert_array_equal(s.x, [31, 45, 46])
    np.testing.assert_array_equal(s.intensity, [999, 520, 210])


def test_micrometres_converted_to_wavenumbers(tmp_path: Path) -> None:
    text = IR_AFFN.replace("##XUNITS=1/CM", "##XUNITS=MICROMETERS").replace("##FIRSTX=4000", "##FIRSTX=2.5")
    text = text.replace("##LASTX=3995", "##LASTX=5.0").replace("4000 900", "2.5 900").replace("3997 930", "4.0 930")
    (s,) = load_spectra(write(tmp_path, "um.jdx", text))
    np.testing.assert_allclose(s.x, np.sort(1e4 / np.linspace(2.5, 5.0, 6)))
    assert s.metadata["x_units_original"] == "MICROMETERS" and s.metadata["x_units"] == "1/CM"
    # long wavelength = low wavenumber, so the last transmittance value comes first
    assert s.intensity[0] == pytest.approx(0.95)


def test_raman_nanometres_need_laser_wavelength(tmp_path: Path) -> None:
    text = RAMAN_DIFDUP.replace("##XUNITS=1/CM", "##XUNITS=NANOMETERS")
    with pytest.raises(SpectrumFormatError, match="LASER WAVELENGTH"):
        load_spectra(write(tmp_path, "nm.jdx", text))
    text = text.replace("##YFACTOR=1\n", "##YFACTOR=1\n##$LASER WAVELENGTH=785\n")
    (s,) = load_spectra(write(tmp_path, "nm2.jdx", text))
    np.testing.assert_allclose(s.x, 1e7 / 785 - 1e7 / np.arange(100, 106.0))


def test_link_file_gives_each_block(tmp_path: Path) -> None:
    text = "##TITLE=two spectra\n##JCAMP-DX=5.01\n##DATA TYPE=LINK\n##BLOCKS=2\n" + IR_AFFN + RAMAN_DIFDUP + "##END=\n"
    got = load_spectra(write(tmp_path, "link.jdx", text))
    assert [s.kind for s in got] == ["ir", "raman"]


def test_question_marks_named_with_line(tmp_path: Path) -> None:
    path = write(tmp_path, "q.jdx", IR_AFFN.replace("3997 930 940 950", "3997 930 ? 950"))
    with pytest.raises(SpectrumFormatError, match=r"q\.jdx: record 0 \('Fentanyl HCl \(ATR\)'\), line 17: .*'\?'"):
        load_spectra(path)


def test_garbage_and_truncated(tmp_path: Path) -> None:
    with pytest.raises(SpectrumFormatError, match="no '##TITLE=' block"):
        load_spectra(write(tmp_path, "junk.jdx", "just some text\n1 2 3\n"))
    with pytest.raises(SpectrumFormatError, match="no data"):
        load_spectra(write(tmp_path, "nodata.jdx", "##TITLE=x\n##DATA TYPE=INFRARED SPECTRUM\n##END=\n"))
    with pytest.raises(SpectrumFormatError, match="no '##END='"):
        load_spectra(write(tmp_path, "cut.jdx", IR_AFFN[: IR_AFFN.index("3997")]))
    with pytest.raises(SpectrumFormatError, match="jcamp parser failed"):
        load_spectra(write(tmp_path, "char.jdx", IR_AFFN.replace("930 940", "930 9x0")))


def test_inconsistent_data_not_silently_accepted(tmp_path: Path) -> None:
    # NPOINTS says 6, only 5 values follow
    path = write(tmp_path, "short.jdx", IR_AFFN.replace("3997 930 940 950", "3997 930 940"))
    with pytest.raises(SpectrumFormatError, match="short.jdx: record 0"):
        load_spectra(path)
    # a broken DIF y-check
    path = write(tmp_path, "ycheck.jdx", RAMAN_DIFDUP.replace("102A5%Tm", "102A7%Tm"))
    with pytest.raises(SpectrumFormatError, match="Y-Check"):
        load_spectra(path)


def test_unsupported_type_and_kind_option(tmp_path: Path) -> None:
    uv = IR_AFFN.replace("INFRARED SPECTRUM", "UV/VIS SPECTRUM")
    with pytest.raises(SpectrumFormatError, match="not supported"):
        load_spectra(write(tmp_path, "uv.jdx", uv))
    untyped = IR_AFFN.replace("##DATA TYPE=INFRARED SPECTRUM\n", "")
    with pytest.raises(SpectrumFormatError, match="pass kind="):
        load_spectra(write(tmp_path, "untyped.jdx", untyped))
    (s,) = load_spectra(tmp_path / "untyped.jdx", kind="raman")
    assert s.kind == "raman"


def test_skip_keeps_good_blocks(tmp_path: Path) -> None:
    bad = IR_AFFN.replace("3997 930 940 950", "3997 930 ? 950").replace("Fentanyl HCl (ATR)", "bad")
    text = "##TITLE=set\n##DATA TYPE=LINK\n" + IR_AFFN + bad + RAMAN_DIFDUP + "##END=\n"
    report = ReadReport()
    got = load_spectra(write(tmp_path, "set.jdx", text), on_error="skip", report=report)
    assert [s.name for s in got] == ["Fentanyl HCl (ATR)", "Cocaine Raman"]
    assert report.n_skipped == 1 and report.skipped[0].record == 1 and report.skipped[0].record_id == "bad"
