import hashlib
import json

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


def test_damage_to_an_old_library_is_detected_by_verify(tmp_path):
    lib = SpectralLibrary.from_spectra(_spectra())
    lib.save(tmp_path / "lib.h5", fletcher32=False)
    with h5py.File(tmp_path / "lib.h5", "r+") as fh:
        fh.attrs["format_version"] = 1  # no stored sha256 of the peaks: only verify() can tell
        del fh.attrs["column_sha256"]
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


# ---------------------------------------------------------------------------------------------- integrity (issue 16)
def _labelled(tmp_path, name="lib.h5"):
    lib = SpectralLibrary.from_spectra(_spectra())
    lib.set_column("chem_class", np.array(["fentanyl", "other", "other"], dtype=object), save=False)
    lib.set_column("control_status", np.array(["controlled", "", ""], dtype=object), save=False)
    lib.save(tmp_path / name)
    return tmp_path / name


def _read_everything(path):
    lib = SpectralLibrary.open(path)
    spectra = lib.to_spectra()
    columns = {c: lib.column(c).tolist() for c in lib.columns}
    return spectra, columns, lib.verify()


def test_every_dataset_has_per_chunk_checksums(tmp_path):
    path = _labelled(tmp_path)
    with h5py.File(path, "r") as fh:
        names = []
        fh.visititems(lambda n, obj: names.append(n) if isinstance(obj, h5py.Dataset) else None)
        assert {"peaks/mz", "columns/chem_class", "columns/name", "spectra/kind"} <= set(names)
        assert all(fh[n].fletcher32 for n in names)
        assert int(fh.attrs["format_version"]) == FORMAT_VERSION == 2


@pytest.mark.parametrize("dataset", ["peaks/mz", "peaks/intensity", "columns/name", "columns/chem_class"])
def test_a_flipped_byte_is_found_when_read(tmp_path, dataset):
    path = _labelled(tmp_path)
    with h5py.File(path, "r") as fh:
        where = fh[dataset].id.get_chunk_info(0).byte_offset
    data = bytearray(path.read_bytes())
    data[where] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(LibraryError, match="damaged.*rebuild"):
        _read_everything(path)


def test_edited_label_columns_are_found_when_read(tmp_path):
    path = _labelled(tmp_path)
    with h5py.File(path, "r+") as fh:  # a valid HDF5 edit: the chunk checksums are recomputed by HDF5
        del fh["columns/chem_class"]
        fh["columns"].create_dataset("chem_class", data=np.frombuffer(b"other\x00other\x00other", dtype=np.uint8))
        fh["columns/chem_class"].attrs["kind"] = "text"
    lib = SpectralLibrary.open(path)
    assert lib[0].name == "a"  # peaks and the other columns are still read
    with pytest.raises(LibraryError, match="chem_class.*changed"):
        lib.column("chem_class")
    assert not lib.verify()
    with h5py.File(path, "r+") as fh:  # a label column deleted
        del fh["columns/chem_class"]
    with pytest.raises(LibraryError, match="missing: chem_class"):
        SpectralLibrary.open(path)


def test_set_column_keeps_the_stored_checksums_current(tmp_path):
    path = _labelled(tmp_path)
    lib = SpectralLibrary.open(path)
    checksum = lib.checksum
    lib.set_column("chem_class", np.array(["other", "other", "tramadol"], dtype=object))
    back = SpectralLibrary.open(path)
    assert back.column("chem_class").tolist() == ["other", "other", "tramadol"]
    assert back.verify() and back.checksum == checksum  # the identity (models, indexes) stays


@pytest.mark.parametrize(
    "name, value",
    [("peaks/mz", 42.0), ("peaks/intensity", 11.0), ("peaks/offsets", 1), ("spectra/precursor_mz", 99.0)],
)
def test_values_edited_with_an_hdf5_tool_are_refused_when_opened(tmp_path, name, value):
    path = _labelled(tmp_path)
    with h5py.File(path, "r+") as fh:  # h5py rewrites the chunk's fletcher32: only the stored sha256 can tell
        fh[name][0] = value
    with pytest.raises(LibraryError, match=f"{name} was changed after it was written"):
        SpectralLibrary.open(path)


@pytest.mark.parametrize("mz", [1e300, 1e10, -3.0, 0.0])
def test_stored_peaks_beyond_the_readers_bounds_are_refused(tmp_path, mz):
    lib = SpectralLibrary.from_spectra(_spectra())
    lib.save(tmp_path / "lib.h5")
    with h5py.File(tmp_path / "lib.h5", "r+") as fh:
        fh["peaks/mz"][0] = mz
        digests = json.loads(fh.attrs["column_sha256"])
        digests["peaks/mz"] = hashlib.sha256(fh["peaks/mz"][()].tobytes()).hexdigest()  # a consistent forgery
        fh.attrs["column_sha256"] = json.dumps(digests)
    with pytest.raises(LibraryError, match="values no reader accepts"):
        SpectralLibrary.open(tmp_path / "lib.h5")


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda fh: fh.__delitem__("peaks/mz"), "peaks/mz.*missing"),
        (lambda fh: fh.__delitem__("peaks/offsets"), "offsets.*missing"),
        (lambda fh: fh.__delitem__("spectra/precursor_mz"), "precursor_mz.*missing"),
        (lambda fh: fh.attrs.__delitem__("n_spectra"), "n_spectra.*missing"),
        (lambda fh: fh.attrs.__setitem__("format_version", "one"), "invalid library format version"),
        (lambda fh: fh["peaks/mz"].__setitem__(1, np.nan), "peaks/mz was changed"),
        (lambda fh: fh["peaks/intensity"].__setitem__(0, np.inf), "peaks/intensity was changed"),
        (lambda fh: fh.attrs.__setitem__("n_spectra", 7), "offsets for 7 spectra"),
        (lambda fh: fh.attrs.__setitem__("column_sha256", "not json"), "damaged"),
    ],
)
def test_damaged_parts_are_named_errors(tmp_path, damage, message):
    path = _labelled(tmp_path)
    with h5py.File(path, "r+") as fh:
        damage(fh)
    with pytest.raises(LibraryError, match=message) as info:
        SpectralLibrary.open(path)
    assert "rebuild" in str(info.value)


def test_random_byte_damage_is_never_a_traceback_nor_silently_wrong(tmp_path):
    good = _labelled(tmp_path, "good.h5")
    original = _read_everything(good)
    raw = good.read_bytes()
    rng = np.random.default_rng(16)
    outcomes = {"named error": 0, "unchanged": 0}
    path = tmp_path / "damaged.h5"
    for where in np.unique(np.concatenate([np.arange(0, len(raw), max(1, len(raw) // 150)),
                                           rng.integers(0, len(raw), 150)])):
        data = bytearray(raw)
        data[int(where)] ^= int(rng.integers(1, 256))
        path.write_bytes(bytes(data))
        try:
            got = _read_everything(path)
        except LibraryError:
            outcomes["named error"] += 1
            continue
        # a byte in unused space (or in an unchecked note such as the creation time): the same library
        assert got[0] == original[0] and got[1] == original[1], f"byte {where} changed the library silently"
        outcomes["unchanged"] += 1
    assert outcomes["named error"] > 0


def test_old_format_is_read_with_a_warning(tmp_path, caplog):
    lib = SpectralLibrary.from_spectra(_spectra())
    lib.save(tmp_path / "v1.h5", fletcher32=False)
    with h5py.File(tmp_path / "v1.h5", "r+") as fh:
        fh.attrs["format_version"] = 1
        del fh.attrs["column_sha256"]
    with caplog.at_level("WARNING"):
        back = SpectralLibrary.open(tmp_path / "v1.h5")
    assert back.to_spectra() == _spectra() and back.verify()
    assert "rebuild" in caplog.text and back.info()["format_version"] == 1


def _save_many(args):
    path, tag, times = args
    spectra = [Spectrum([41.0, 57.0 + i], [10, 999], metadata={"name": f"{tag}{i}"}) for i in range(2000)]
    lib = SpectralLibrary.from_spectra(spectra)
    for _ in range(times):
        lib.save(path)
    return lib.checksum


def test_concurrent_saves_to_one_path_leave_a_whole_library(tmp_path):
    import multiprocessing

    path = tmp_path / "lib.h5"
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(2) as pool:
        checksums = pool.map(_save_many, [(path, "a", 5), (path, "b", 5)])
    back = SpectralLibrary.open(path)
    assert back.checksum in checksums and back.verify()
    assert len(back) == 2000 and back[0].name in ("a0", "b0")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lib.h5", "lib.h5.lock"]


def test_a_killed_build_leaves_nothing_that_breaks_the_next(tmp_path):
    path = tmp_path / "lib.h5"
    (tmp_path / "lib.h5.partial").write_bytes(b"\x89HDF\r\n half a file")  # the old fixed name
    (tmp_path / "lib.h5.999999-0a0b0c0d.partial").write_bytes(b"half a file")
    (tmp_path / "other.h5.1-00000000.partial").write_bytes(b"another library's")
    SpectralLibrary.from_spectra(_spectra()).save(path)
    assert SpectralLibrary.open(path).verify()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lib.h5", "lib.h5.lock", "other.h5.1-00000000.partial"]


def test_an_interrupted_save_removes_its_temporary_file(tmp_path, monkeypatch):
    import nps_id.spectra.library as library_module

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(library_module.os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        SpectralLibrary.from_spectra(_spectra()).save(tmp_path / "lib.h5")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lib.h5.lock"]
