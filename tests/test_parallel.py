"""Scale-out: local worker processes and a local Dask cluster give the serial results, library loaded once per worker."""

from __future__ import annotations

from pathlib import Path

import pytest

import nps_id

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

COMPARED = ("source_file", "index", "query_id", "status", "error", "top_hit_name", "top_hit_match_factor",
            "verdict", "class")


@pytest.fixture(scope="module")
def case(swgdrug_spectra, tmp_path_factory) -> tuple[Path, Path]:
    """A library of ~270 real spectra and a case folder of 6 files (48 queries, one bad file)."""
    from nps_id.spectra import SpectralLibrary
    from nps_id.spectra.io import save_spectra

    folder = tmp_path_factory.mktemp("parallel")
    SpectralLibrary.from_spectra(swgdrug_spectra[::10]).save(folder / "lib.h5")
    cases = folder / "case"
    cases.mkdir()
    queries = swgdrug_spectra[5::50][:40] + swgdrug_spectra[::10][:8]
    for j in range(6):
        save_spectra(queries[j * 8:(j + 1) * 8], cases / f"file_{j}.msp")
    (cases / "file_9_bad.msp").write_text("NAME: bad\nNum Peaks: 0\n\n")
    return folder / "lib.h5", cases


def _rows(table) -> list[tuple]:
    return [tuple(r[k] for k in COMPARED) for r in table]


def test_process_pool_matches_serial(case):
    lib, cases = case
    serial = nps_id.classify(cases, library=lib, model=False, batch_size=8)
    pooled = nps_id.classify(cases, library=lib, model=False, batch_size=8, n_jobs=2)
    assert len(serial) == 49 and _rows(pooled) == _rows(serial)
    assert serial.summary()["skipped"] == 1


def test_local_dask_cluster_matches_serial_library_loaded_once_per_worker(case):
    distributed = pytest.importorskip("distributed", reason="pip install 'nps_id[dask]'")
    from nps_id.parallel import worker_load_counts

    lib, cases = case
    serial = nps_id.classify(cases, library=lib, model=False, batch_size=4)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        table = nps_id.classify(cases, library=lib, model=False, batch_size=4, dask=cluster.scheduler_address)
        counts = worker_load_counts(client)
        assert _rows(table) == _rows(serial)
        # 12 batches over 2 workers: each worker opened the library once, not once per batch
        assert len(counts) == 2 and max(counts.values()) == 1 and sum(counts.values()) >= 1
        # an in-memory library cannot be sent to workers: a clear error, not a silent copy
        from nps_id.spectra import SpectralLibrary

        mem = SpectralLibrary.open(lib).select(slice(0, 50))
        with pytest.raises(ValueError, match="save it first"):
            nps_id.classify(cases, library=mem, model=False, dask=client)
