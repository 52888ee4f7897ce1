"""The technique router: one decision for library build, search, classify, training and evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from nps_id.spectra import Spectrum
from nps_id.spectra.technique import MODEL_KIND, TECHNIQUES, route, route_columns, technique_counts, technique_of


@pytest.mark.parametrize(
    ("kind", "precursor", "ionization", "level", "itype", "expected", "inferred"),
    [
        ("ms", None, "EI", "MS1", "", "gc_ei", False),
        ("ms", None, "EI", "", "GC-EI-TOF", "gc_ei", False),
        ("ms", 0.0, "EI", "", "", "gc_ei", False),  # MoNA writes PrecursorMZ: 0 on EI records
        ("ms", 150.0, "EI", "MS", "", "gc_ei", False),  # an EI full scan with its molecular ion noted
        ("ms", 303.2, "ESI", "MS2", "LC-ESI-QTOF", "msms", False),
        ("ms", None, "ESI", "MS2", "", "msms", False),  # MS2 without its precursor is still MS/MS
        ("ms", 303.2, "EI", "MS2", "", "msms", False),  # GC-EI-MS/MS product ions
        ("ms", None, "ESI", "MS", "", "full_scan", False),
        ("ms", None, "", "MS1", "LC-APCI-Q", "full_scan", False),  # ionisation from the instrument type
        ("ms", None, "APCI", "", "", "full_scan", False),
        ("ms", 250.1, "APPI", "", "", "msms", False),
        ("ms", None, "", "", "", "gc_ei", True),  # a bare export without precursor
        ("ms", 250.1, "", "", "", "msms", True),
        ("ms", None, "", "MS1", "", "gc_ei", True),
        ("ms", float("nan"), "", "", "", "gc_ei", True),
        ("ir", None, "", "", "", "ir", False),
        ("raman", None, "", "", "", "raman", False),
    ],
)
def test_route(kind, precursor, ionization, level, itype, expected, inferred):
    t = route(kind, precursor, ionization, level, itype)
    assert (t.name, t.inferred) == (expected, inferred)
    assert t.name in TECHNIQUES and t.reason


def test_ms_levels_and_spellings():
    assert route("ms", None, "electron ionization").name == "gc_ei"
    assert route("ms", None, "ESI", "MSn").name == "msms"
    assert route("ms", None, "ESI", "2").name == "msms"
    assert route("ms", None, "other:SIMS", "MS").name == "full_scan"
    assert str(route("ms", None)) == "gc_ei (inferred)"


def test_technique_of_a_spectrum_reads_its_metadata():
    s = Spectrum([91.0, 119.0], [100.0, 999.0], metadata={"ionization": "ESI", "ms_level": "MS"})
    assert technique_of(s).name == "full_scan"
    assert technique_of(Spectrum([91.1, 119.2], [1.0, 2.0])).name == "gc_ei"


def test_library_columns_agree_with_one_spectrum_routing():
    from nps_id.spectra import SpectralLibrary

    spectra = [
        Spectrum([41.0, 57.0], [1.0, 2.0], metadata={"ionization": "EI", "ms_level": "MS1"}),
        Spectrum([91.05, 188.1], [1.0, 2.0], precursor_mz=281.2, metadata={"ionization": "ESI", "ms_level": "MS2"}),
        Spectrum([281.2, 303.2], [1.0, 2.0], metadata={"ionization": "ESI", "ms_level": "MS"}),
        Spectrum([41.0, 57.0], [1.0, 2.0]),
    ]
    lib = SpectralLibrary.from_spectra(spectra)
    names, inferred = route_columns(lib)
    assert names.tolist() == [technique_of(s).name for s in spectra] == ["gc_ei", "msms", "full_scan", "gc_ei"]
    assert inferred.tolist() == [False, False, False, True]
    counts = technique_counts(lib)
    assert counts == {"gc_ei": 2, "gc_ei (inferred)": 1, "msms": 1, "full_scan": 1}
    assert lib.info()["techniques"] == counts
    assert set(MODEL_KIND) == {"gc_ei", "msms"}


@pytest.mark.realdata
def test_real_libraries_route_as_their_metadata_says(swgdrug_path, massbank_path):
    """SWGDRUG is GC-EI; MassBank's ESI/APCI full scans are neither GC-EI nor MS/MS."""
    from nps_id.spectra import SpectralLibrary

    lib = SpectralLibrary.build([swgdrug_path, massbank_path], None, on_error="skip", progress=False)
    names, _ = route_columns(lib)
    src = np.asarray(lib.column("source")).astype(str)
    ion = np.asarray(lib.column("ionization")).astype(str)
    level = np.asarray(lib.column("ms_level")).astype(str)
    swg = np.char.find(src, "EIMS-mass-predictions") >= 0
    assert (names[swg] == "gc_ei").all()
    soft_ms1 = np.isin(ion, ["ESI", "APCI", "APPI"]) & (level == "MS")
    assert soft_ms1.sum() > 2000 and (names[soft_ms1] == "full_scan").all()
    assert (names[(ion == "EI") & (level != "MS2")] == "gc_ei").all()
    assert (names[level == "MS2"] == "msms").all()
