"""mzML through pyteomics: MS level, precursor, ids, centroid/profile, a damaged spectrum skipped."""

from __future__ import annotations

import gzip
import warnings
from pathlib import Path

import numpy as np
import pytest

from nps_id.errors import SpectrumFormatError
from nps_id.spectra.io import ReadReport, load_spectra


def write_mzml(path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # psims warns about an optional hdf5 plugin and unset references
        _write_mzml(path)


def _write_mzml(path: Path) -> None:
    from psims.mzml.writer import MzMLWriter

    with MzMLWriter(str(path)) as out:
        out.controlled_vocabularies()
        with out.run(id="run1"):
            with out.spectrum_list(count=3):
                out.write_spectrum(
                    np.array([100.0, 150.5, 120.25]), np.array([10.0, 20.0, 5.0]), id="scan=1",
                    params=["MS1 spectrum", {"ms level": 1}],
                    scan_start_time=1.5,
                )
                out.write_spectrum(
                    np.array([50.0, 75.25]), np.array([5.0, 7.0]), id="scan=2",
                    params=["MSn spectrum", {"ms level": 2}],
                    precursor_information={"mz": 150.5, "intensity": 20.0, "charge": 2, "scan_id": "scan=1",
                                           "activation": ["beam-type collisional dissociation",
                                                          {"collision energy": 25}]},
                )
                out.write_spectrum(
                    np.linspace(100, 101, 11), np.arange(11, dtype=float), id="scan=3",
                    params=["MS1 spectrum", {"ms level": 1}], polarity="negative scan", centroided=False,
                )


@pytest.fixture()
def mzml_file(tmp_path: Path) -> Path:
    path = tmp_path / "run.mzML"
    write_mzml(path)
    return path


def test_reads_levels_precursor_and_ids(mzml_file: Path) -> None:
    ms1, ms2, prof = load_spectra(mzml_file)
    assert ms1.metadata["spectrum_id"] == "scan=1" and ms1.metadata["ms_level"] == "MS1"
    assert ms1.precursor_mz is None
    np.testing.assert_array_equal(ms1.x, [100.0, 120.25, 150.5])  # sorted, intensities follow
    np.testing.assert_array_equal(ms1.intensity, np.float32([10.0, 5.0, 20.0]))
    assert float(ms1.metadata["retention_time"]) == pytest.approx(90.0)  # 1.5 min in seconds
    assert ms1.metadata["ion_mode"] == "POSITIVE"
    assert ms2.precursor_mz == 150.5 and ms2.metadata["ms_level"] == "MS2"
    assert ms2.metadata["charge"] == "2" and float(ms2.metadata["collision_energy"]) == 25.0
    assert ms2.metadata["activation"] == "beam-type collisional dissociation"
    assert prof.metadata["spectrum_representation"] == "profile" and prof.n_peaks == 11  # kept as is
    assert prof.metadata["ion_mode"] == "NEGATIVE"
    assert all(s.kind == "ms" for s in (ms1, ms2, prof))


def test_gzip(mzml_file: Path, tmp_path: Path) -> None:
    gz = tmp_path / "run.mzML.gz"
    gz.write_bytes(gzip.compress(mzml_file.read_bytes()))
    assert [s.metadata["spectrum_id"] for s in load_spectra(gz)] == ["scan=1", "scan=2", "scan=3"]


def test_damaged_spectrum_skipped(mzml_file: Path, tmp_path: Path) -> None:
    text = mzml_file.read_text(encoding="utf-8")
    # damage the binary data of the second spectrum only
    start = text.index('id="scan=2"')
    b = text.index("<binary>", start) + len("<binary>")
    damaged = text[:b] + "!!!not-base64!!!" + text[b:]
    path = tmp_path / "damaged.mzML"
    path.write_text(damaged, encoding="utf-8")
    with pytest.raises(SpectrumFormatError) as info:
        load_spectra(path)
    assert "damaged.mzML" in str(info.value) and "record 1 ('scan=2')" in str(info.value)
    report = ReadReport()
    got = load_spectra(path, on_error="skip", report=report)
    assert [s.metadata["spectrum_id"] for s in got] == ["scan=1", "scan=3"]
    assert report.n_skipped == 1 and report.skipped[0].record_id == "scan=2"


def test_not_mzml(tmp_path: Path) -> None:
    path = tmp_path / "x.mzml"
    path.write_text("this is not xml", encoding="utf-8")
    with pytest.raises(SpectrumFormatError, match="x.mzml"):
        load_spectra(path)
    report = ReadReport()
    assert load_spectra(path, on_error="skip", report=report) == [] and report.n_skipped == 1
