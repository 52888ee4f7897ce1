import h5py
import numpy as np
import pytest

from nps_id.errors import LibraryError
from nps_id.spectra import Spectrum
from nps_id.spectra.library import FORMAT_VERSION, SpectralLibrary


def _spectra():
    return [
        Spectrum([41.0, 57.0], [10, 999], metadata={"name": "a", "ionization": "EI", "smiles": "CCO"}),
        Spectrum([50.0], [5], precursor_mz=120.5, metadata={"name": "b", "ionization": "ESI", "comment": ""}),
        Spectrum([400.0, 401.0, 402.0], [-1, 0, 2], kind="raman", metadata={"name": "c"}),
    ]


def test_round_trip_through_hdf5(tmp_path):
    spectra = _spectra()
    lib = SpectralLibrary.from_spectra(spectra)
    lib.save(tmp_path / "lib.h5")
    back = SpectralLibrary.open(tmp_path / "lib.h5")
    assert len(back) == 3 and back.checksum == lib.checksum and back.verify()
    assert back.to_spectra() == spectra
    # a present-but-empty value and a missing one stay different
    assert back[1].metadata["comment"] == "" and "comment" not in back[0].metadata
    assert back[-1].kind == "raman" and back[1].precursor_mz == 120.5 and back[0].precursor_mz is None


def test_select_subsets_keep_order_and_peaks():
    lib = SpectralLibrary.from_spectra(_spectra())
    sub = lib.select(np.array([2, 0]))
    assert [s.name for s in sub] == ["c", "a"]
    assert sub[0] == _spectra()[2]
    ei = lib.select(lib.column("ionization") == "EI")
    assert len(ei) == 1 and ei[0].name == "a"
    assert [s.name for s in lib[1:]] == ["b", "c"]
    assert ei.checksum != lib.checksum


def test_label_columns_are_stored_but_not_metadata(tmp_path):
    lib = SpectralLibrary.from_spectra(_spectra())
    lib.save(tmp_path / "lib.h5")
    checksum = lib.checksum
    lib.set_column("class", np.array(["other", "tramadol", "other"], dtype=object))
    lib.set_column("probability", np.array([0.1, 0.9, 0.5]))
    back = SpectralLibrary.open(tmp_path / "lib.h5")
    assert back.column("class").tolist() == ["other", "tramadol", "other"]
    assert back.column("probability").dtype == np.float64
    assert "class" not in back[0].metadata
    assert back.checksum == checksum and back.verify()


def test_errors_are_clear(tmp_path):
    lib = SpectralLibrary.from_spectra(_spectra())
    with pytest.raises(KeyError, match="columns: name"):
        lib.column("nope")
    with pytest.raises(LibraryError, match="one value per spectrum"):
        lib.set_column("x", [1, 2])
    with pytest.raises(IndexError):
        lib[3]
    with pytest.raises(FileNotFoundError, match="library build"):
        SpectralLibrary.open(tmp_path / "missing.h5")
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(LibraryError, match="not an HDF5"):
        SpectralLibrary.open(tmp_path / "text.h5")
    lib.save(tmp_path / "old.h5")
    with h5py.File(tmp_path / "old.h5", "r+") as fh:
        fh.attrs["format_version"] = FORMAT_VERSION + 1
    with pytest.raises(LibraryError, match="rebuild"):
        SpectralLibrary.open(tmp_path / "old.h5")
    with pytest.raises(LibraryError, match="non-text"):
        SpectralLibrary.from_spectra([Spectrum([1.0], [1.0], metadata={"rt": 5.0})])


def test_damage_is_detected_by_verify(tmp_path):
    lib = SpectralLibrary.from_spectra(_spectra())
    lib.save(tmp_path / "lib.h5")
    with h5py.File(tmp_path / "lib.h5", "r+") as fh:
        fh["peaks/intensity"][0] = 11
    assert not SpectralLibrary.open(tmp_path / "lib.h5").verify()


@pytest.mark.realdata
def test_real_library_round_trip(tmp_path, swgdrug_path, swgdrug_spectra):
    lib = SpectralLibrary.build([swgdrug_path], tmp_path / "sw.h5")
    assert lib.build_report.n_read == 2702 and lib.build_report.n_skipped == 0
    back = SpectralLibrary.open(tmp_path / "sw.h5")
    assert len(back) == 2702
    assert back.to_spectra() == swgdrug_spectra
    assert back.info()["ionization"] == {"EI": 2702}
    rng = np.random.default_rng(0)
    for i in rng.integers(0, len(back), 50):
        assert back[int(i)] == swgdrug_spectra[int(i)]
