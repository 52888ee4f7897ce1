"""Stored search indexes that are damaged (issue 16): never a traceback, never different hits.

A stored index (``LIB.search/``: ``meta.json`` and one ``.npy`` stage-1 matrix per setting) is a cache of what the
library gives; any damage to it (a flipped byte, a cut or emptied file, a file of another shape or a pickle) is
found when it is opened (its JSON read defensively, each matrix checked against the sha256 stored in
``meta.json``), logged, and the matrix rebuilt from the library.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from _synthetic import random_spectra
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nps_id.spectra import Spectrum
from nps_id.spectra.library import SpectralLibrary
from nps_id.spectra.search import SearchIndex


def _spectra(n: int, seed: int) -> list[Spectrum]:
    return random_spectra(n, seed, max_mz=400, max_peaks=30, prefix="c")


@pytest.fixture(scope="module")
def stored(tmp_path_factory) -> tuple[Path, list[Spectrum], tuple]:
    root = tmp_path_factory.mktemp("store")
    lib = SpectralLibrary.from_spectra(_spectra(300, 0))
    lib.save(root / "lib.h5")
    lib = SpectralLibrary.open(root / "lib.h5")
    SearchIndex.build(lib).save()
    queries = _spectra(30, 1)
    r = SearchIndex.open(lib, build=False).search(queries, k=5)
    return root, queries, (r.indices.tolist(), r.scores.tolist())


def _copy(root: Path, tmp: Path) -> Path:
    shutil.copy(root / "lib.h5", tmp / "lib.h5")
    shutil.rmtree(tmp / "lib.search", ignore_errors=True)
    shutil.copytree(root / "lib.search", tmp / "lib.search")
    return tmp / "lib.h5"


def _hits(path: Path, queries) -> tuple:
    r = SearchIndex.open(SpectralLibrary.open(path)).search(queries, k=5)
    return r.indices.tolist(), r.scores.tolist()


def test_a_stored_index_holds_the_sha256_of_its_matrices(stored):
    root, _, _ = stored
    meta = json.loads((root / "lib.search" / "meta.json").read_text())
    assert sorted(meta["sha256"]) == sorted(meta["matrices"]) and meta["matrices"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.sampled_from(["meta.json", "npy"]), where=st.floats(0, 1), xor=st.integers(1, 255))
def test_any_flipped_byte_in_a_stored_index_gives_the_same_hits(stored, tmp_path, which, where, xor):
    root, queries, original = stored
    path = _copy(root, tmp_path)
    f = next((tmp_path / "lib.search").glob("*.npy")) if which == "npy" else tmp_path / "lib.search" / "meta.json"
    data = bytearray(f.read_bytes())
    data[min(int(where * len(data)), len(data) - 1)] ^= xor
    f.write_bytes(bytes(data))
    assert _hits(path, queries) == original


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: (d / "meta.json").write_text("[]"),
        lambda d: (d / "meta.json").write_text(""),
        lambda d: (d / "meta.json").write_bytes(b"\xff\xfe{"),
        lambda d: [f.write_bytes(b"") for f in d.glob("*.npy")],
        lambda d: [np.save(f, np.zeros((3, 3), np.uint16)) for f in d.glob("*.npy")],
        lambda d: [np.save(f, np.array([{"a": 1}], dtype=object), allow_pickle=True) for f in d.glob("*.npy")],
        lambda d: [f.unlink() for f in d.glob("*.npy")],
    ],
    ids=["meta a list", "meta empty", "meta not UTF-8", "matrix empty", "matrix of another shape", "matrix a pickle",
         "matrix removed"],
)
def test_damaged_index_parts_are_rebuilt_with_a_warning(stored, tmp_path, caplog, damage):
    root, queries, original = stored
    path = _copy(root, tmp_path)
    damage(tmp_path / "lib.search")
    with caplog.at_level("INFO", logger="nps_id.spectra.search.index"):
        assert _hits(path, queries) == original
    assert "damaged" in caplog.text or "rebuil" in caplog.text or "stale" in caplog.text


@pytest.mark.parametrize("mz", [1e300, 1e10, -5.0, 0.0])
def test_spectra_made_in_python_are_held_to_the_readers_bounds(stored, mz):
    from nps_id.errors import InvalidSpectrumError

    root, queries, _ = stored
    lib = SpectralLibrary.open(root / "lib.h5")
    bad = Spectrum(np.sort([41.0, mz]), [10.0, 20.0])
    with pytest.raises(InvalidSpectrumError, match="query 1 holds a peak no reader accepts"):
        SearchIndex.open(lib).search([queries[0], bad])


def test_classify_gives_a_spectrum_made_in_python_with_absurd_mz_a_skipped_row(stored):
    from nps_id.classify import classify

    root, queries, _ = stored
    rows = classify([queries[0], Spectrum([41.0, 1e10], [10.0, 20.0])], library=root / "lib.h5", model=False,
                    progress=False).to_records()
    assert rows[0]["status"] == "ok" and rows[1]["status"] == "skipped" and "beyond 100000" in rows[1]["error"]
