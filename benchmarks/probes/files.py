"""Probes of the files nps_id writes and reads back (issue 16 items 2, 3, 9, 10): libraries, stored search
indexes and model folders, damaged byte by byte or edited value by value, and concurrent builds.

A damaged file must be refused with a named error (LibraryError/ModelError) or give exactly the undamaged answer
(a byte in unused space); search results that differ after damage are "silently wrong".
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np

from nps_id.spectra.io.msp import write_msp
from nps_id.spectra.library import SpectralLibrary
from nps_id.spectra.search import SearchIndex

from .common import ROOT, SHARED, Group, cli, cli_outcome, expect
from .readers import real_spectra


def _answer(lib_path: Path, queries) -> tuple:
    """Everything a user gets from a library: names, labels and the search hits of `queries`."""
    lib = SpectralLibrary.open(lib_path)
    cols = tuple(tuple(lib.column(c).tolist()) for c in lib.columns if c in ("name", "chem_class", "control_status"))
    res = SearchIndex.open(lib).search(queries, k=5)
    return cols, res.indices.tolist(), np.round(res.scores, 6).tolist()


def groups(tmp: Path, default_model: Path | None) -> list[Group]:
    """The file probe groups, writing under `tmp`; model probes use a copy of `default_model` when given."""
    spectra = real_spectra(200)
    for i, s in enumerate(spectra):
        s.metadata["smiles"] = "CCN(CC)C(=O)C1CN(C)C2CC3=CNC4=CC=CC(=C34)C2=C1" if i % 3 == 0 else "CCO"
    msp = tmp / "lib200.msp"
    with open(msp, "w", encoding="utf-8") as fh:
        write_msp(spectra, fh)
    good = tmp / "good.h5"
    SpectralLibrary.from_spectra(spectra).save(good)
    from nps_id.chem.labels import label_library

    label_library(SpectralLibrary.open(good), save=True)
    queries = real_spectra(40)[::2]
    SearchIndex.open(SpectralLibrary.open(good)).save()
    original = _answer(good, queries)

    g2 = Group(2, "two `library build` runs to one output at the same time")
    g3 = Group(3, "damaged libraries: flipped bytes, edited values, label columns")
    g9 = Group(9, "damaged library/index/model parts (missing, wrong type, NaN, pickle)")
    g10 = Group(10, "model manifests: edited, wrong type, another training library")

    for t in range(6):
        g2.add(f"concurrent CLI builds, try {t}", _concurrent_build(tmp / f"cc{t}", msp))

    raw = good.read_bytes()
    rng = np.random.default_rng(16)
    where = np.unique(np.concatenate([np.linspace(0, len(raw) - 1, 120).astype(int), rng.integers(0, len(raw), 120)]))
    for w in where:
        g3.add(f"library byte {w} flipped", _damaged_library(tmp, raw, int(w), original, queries))
    with h5py.File(good, "r") as fh:
        names: list[str] = []
        fh.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
    for name in names:
        g3.add(f"library dataset {name}: a value edited", _edited_value(tmp, good, name, original, queries))
    for key, edit in _library_parts().items():
        g9.add(f"library: {key}", _edited_library(tmp, good, edit, original, queries))
    for key, edit in _index_parts().items():
        g9.add(f"search index: {key}", _edited_index(tmp, good, edit, original, queries))
    idx_dir = good.with_name(good.stem + ".search")
    for f in sorted(idx_dir.iterdir()):
        size = f.stat().st_size
        for w in np.unique(np.linspace(0, size - 1, 12).astype(int)):
            g3.add(f"search index {f.name} byte {w} flipped", _flipped_index(tmp, good, f.name, int(w), original, queries))
    if default_model is not None:
        for rel, size in sorted((str(p.relative_to(default_model)), p.stat().st_size)
                                for p in default_model.rglob("*") if p.is_file()):
            for w in np.unique(np.linspace(0, size - 1, 8).astype(int)):
                g9.add(f"model {rel} byte {w} flipped", _flipped_model(tmp, default_model, rel, int(w)))
        for key, change in _manifest_changes().items():
            g10.add(f"manifest: {key}", _changed_manifest(tmp, default_model, change))
        g10.add("model trained on another library", _other_library_model(tmp, default_model, good))
    return [g2, g3, g9, g10]


def _concurrent_build(folder: Path, msp: Path):
    def run() -> tuple[str, str]:
        folder.mkdir(parents=True, exist_ok=True)
        out = folder / "lib.h5"
        cmd = [sys.executable, "-m", "nps_id", "-q", "library", "build", str(msp), "-o", str(out)]
        procs = [subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE) for _ in range(2)]
        errs = [p.communicate()[1].decode() for p in procs]
        expect(not any("Traceback" in e for e in errs), "traceback: " + " | ".join(e[-200:] for e in errs))
        expect(all(p.returncode == 0 for p in procs) or all(e.strip() for e in errs), "failed without a message")
        lib = SpectralLibrary.open(out)
        expect(len(lib) == 200 and lib.verify(), "the library left is not whole")
        left = sorted(p.name for p in folder.iterdir() if p.name not in ("lib.h5", "lib.h5.lock", "lib.search"))
        expect(not left, f"left behind: {left}")
        return "handled", ""
    return run


def _check_same(path: Path, original, queries) -> None:
    got = _answer(path, queries)
    expect(got == original, "opened and searched with different names, labels or hits")


def _damaged_library(tmp: Path, raw: bytes, where: int, original, queries):
    def run() -> None:
        data = bytearray(raw)
        data[where] ^= 0x5A
        path = tmp / "flip.h5"
        shutil.rmtree(tmp / "flip.search", ignore_errors=True)
        path.write_bytes(bytes(data))
        _check_same(path, original, queries)
    return run


def _edited_value(tmp: Path, good: Path, name: str, original, queries):
    def run() -> None:
        path = tmp / "edit.h5"
        shutil.copy(good, path)
        shutil.rmtree(tmp / "edit.search", ignore_errors=True)
        with h5py.File(path, "r+") as fh:
            ds = fh[name]
            if ds.shape == () or ds.size == 0:
                return
            v = ds[0]
            if isinstance(v, (bytes, str)) or ds.dtype.kind in "OSU":
                ds[0] = (v.decode() if isinstance(v, bytes) else str(v)) + "x"
            elif ds.dtype.kind == "b":
                ds[0] = not v
            else:
                ds[0] = v + 1
        _check_same(path, original, queries)
    return run


def _library_parts() -> dict:
    return {
        "peaks/mz missing": lambda fh: fh.__delitem__("peaks/mz"),
        "peaks/offsets missing": lambda fh: fh.__delitem__("peaks/offsets"),
        "precursor_mz missing": lambda fh: fh.__delitem__("spectra/precursor_mz"),
        "n_spectra missing": lambda fh: fh.attrs.__delitem__("n_spectra"),
        "format_version 'one'": lambda fh: fh.attrs.__setitem__("format_version", "one"),
        "format_version 99": lambda fh: fh.attrs.__setitem__("format_version", 99),
        "NaN in stored m/z": lambda fh: fh["peaks/mz"].__setitem__(3, np.nan),
        "inf in stored intensity": lambda fh: fh["peaks/intensity"].__setitem__(3, np.inf),
        "m/z 1e300 stored": lambda fh: fh["peaks/mz"].__setitem__(3, 1e300),
        "n_spectra wrong": lambda fh: fh.attrs.__setitem__("n_spectra", 7),
        "column checksums not JSON": lambda fh: fh.attrs.__setitem__("column_sha256", "{"),
        "label column chem_class missing": lambda fh: fh.__delitem__("columns/chem_class")
        if "columns/chem_class" in fh else None,
    }


def _edited_library(tmp: Path, good: Path, edit, original, queries):
    def run() -> None:
        path = tmp / "part.h5"
        shutil.copy(good, path)
        shutil.rmtree(tmp / "part.search", ignore_errors=True)
        with h5py.File(path, "r+") as fh:
            edit(fh)
        _check_same(path, original, queries)
    return run


def _index_parts() -> dict:
    def meta(change):
        def edit(d: Path) -> None:
            m = d / "meta.json"
            m.write_text(change(m.read_text()))
        return edit

    def npy(change):
        def edit(d: Path) -> None:
            for f in d.glob("*.npy"):
                change(f)
        return edit

    return {
        "meta.json not JSON": meta(lambda t: t[: len(t) // 2]),
        "meta.json empty": meta(lambda t: ""),
        "meta.json a list": meta(lambda t: "[]"),
        "meta.json another checksum": meta(lambda t: t.replace('"checksum": "', '"checksum": "0')),
        "matrix file empty": npy(lambda f: f.write_bytes(b"")),
        "matrix file cut": npy(lambda f: f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])),
        "matrix of another shape": npy(lambda f: np.save(f, np.zeros((3, 3), np.uint16))),
        "matrix a pickle": npy(lambda f: np.save(f, np.array([{"a": 1}], dtype=object), allow_pickle=True)),
        "matrix removed": npy(lambda f: f.unlink()),
    }


def _index_copy(tmp: Path, good: Path, tag: str) -> tuple[Path, Path]:
    path = tmp / f"{tag}.h5"
    shutil.copy(good, path)
    d = tmp / f"{tag}.search"
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(good.with_name(good.stem + ".search"), d)
    return path, d


def _edited_index(tmp: Path, good: Path, edit, original, queries):
    def run() -> None:
        path, d = _index_copy(tmp, good, "idx")
        edit(d)
        _check_same(path, original, queries)
    return run


def _flipped_index(tmp: Path, good: Path, name: str, where: int, original, queries):
    def run() -> None:
        path, d = _index_copy(tmp, good, "idxflip")
        f = d / name
        data = bytearray(f.read_bytes())
        data[where] ^= 0x5A
        f.write_bytes(bytes(data))
        _check_same(path, original, queries)
    return run


def _model_answer(model: Path) -> list:
    from nps_id.classify import classify

    q = real_spectra(12)
    t = classify(q, model=model, progress=False)
    return [(r["verdict"], r["class"], r["identity"], r["probability"]) for r in t.to_records()]


_MODEL_ANSWERS: dict[str, list] = {}


def _model_copy(tmp: Path, model: Path) -> Path:
    dst = tmp / "model"
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(model, dst)
    return dst


def _flipped_model(tmp: Path, model: Path, rel: str, where: int):
    def run() -> None:
        if "orig" not in _MODEL_ANSWERS:
            _MODEL_ANSWERS["orig"] = _model_answer(model)
        dst = _model_copy(tmp, model)
        f = dst / rel
        data = bytearray(f.read_bytes())
        data[where] ^= 0x5A
        f.write_bytes(bytes(data))
        got = _model_answer(dst)
        expect(got == _MODEL_ANSWERS["orig"], f"a flipped byte in {rel} changed the answers silently")
    return run


def _manifest_changes() -> dict:
    def models(v):
        return lambda m: m.__setitem__("models", v)

    def ei_field(key, v):
        return lambda m: m["models"]["ei"]["classifier"].__setitem__(key, v)

    return {
        "models {'ei': 'x'}": models({"ei": "x"}),
        "models []": models([]),
        "models {}": models({}),
        "no models": lambda m: m.pop("models"),
        "classifier without file": lambda m: m["models"]["ei"]["classifier"].pop("file"),
        "file outside the folder": ei_field("file", "../../etc/passwd"),
        "file absolute": ei_field("file", "/etc/passwd"),
        "classes edited": ei_field("classes", ["tramadol"]),
        "priority_fpr edited": lambda m: m["models"]["ei"]["classifier"]["params"].__setitem__("priority_fpr", 0.5),
        "max_mz edited": lambda m: m["models"]["ei"]["classifier"]["params"].__setitem__("max_mz", 50),
        "identity file missing": lambda m: m["models"]["ei"]["identity"].__setitem__("file", "ei/nothing.json"),
        "checksum of a file edited": lambda m: m["files"].__setitem__(next(iter(m["files"])), "0" * 64),
        "format other": lambda m: m.__setitem__("format", "other"),
        "format_version 'x'": lambda m: m.__setitem__("format_version", "x"),
        "nps_id_version 9.0": lambda m: m.__setitem__("nps_id_version", "9.0.0"),
        "manifest a list": None,
    }


def _changed_manifest(tmp: Path, model: Path, change):
    def run() -> None:
        if "orig" not in _MODEL_ANSWERS:
            _MODEL_ANSWERS["orig"] = _model_answer(model)
        dst = _model_copy(tmp, model)
        m = json.loads((dst / "manifest.json").read_text())
        if change is None:
            m = []
        else:
            change(m)
        (dst / "manifest.json").write_text(json.dumps(m))
        got = _model_answer(dst)
        expect(got == _MODEL_ANSWERS["orig"], "an edited manifest changed the answers silently")
    return run


def _other_library_model(tmp: Path, model: Path, lib: Path):
    def run() -> tuple[str, str]:
        r = cli("classify", str(SHARED / "reader-quirks" / "golm.msp"), "-l", lib, "-m", model,
                "-o", tmp / "other.csv")
        out = cli_outcome(r)
        expect("another library" in r.stderr or "trained on" in r.stderr, "no word about the other library")
        return out
    return run
