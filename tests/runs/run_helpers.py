"""Helpers for the run tests: small ANDI/netCDF and mzML runs written into a test's tmp_path."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np


def write_andi(path: Path, n_scans: int = 120, seed: int = 0, minutes: bool = False) -> dict:
    """A small ANDI/netCDF-3 MS run with known points; returns what was written."""
    import netCDF4

    rng = np.random.default_rng(seed)
    counts = rng.integers(3, 12, n_scans)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    total = int(counts.sum())
    mz = np.concatenate([np.sort(rng.choice(np.arange(40, 120), c, replace=False)) for c in counts]).astype(np.float32)
    mz = mz + rng.uniform(-0.2, 0.2, total).astype(np.float32)
    inten = rng.uniform(10, 1000, total).astype(np.float32)
    times = 90.0 + np.arange(n_scans) * 0.5
    with netCDF4.Dataset(path, "w", format="NETCDF3_CLASSIC") as ds:
        ds.createDimension("scan_number", n_scans)
        ds.createDimension("point_number", total)
        ds.experiment_title = "synthetic test run"
        ds.instrument_name = "test GC-MS"
        t = ds.createVariable("scan_acquisition_time", "f8", ("scan_number",))
        t[:] = times / 60.0 if minutes else times
        t.units = "minutes" if minutes else "seconds"
        ds.createVariable("scan_index", "i4", ("scan_number",))[:] = start
        ds.createVariable("point_count", "i4", ("scan_number",))[:] = counts
        ds.createVariable("total_intensity", "f8", ("scan_number",))[:] = np.add.reduceat(inten, start)
        ds.createVariable("mass_values", "f4", ("point_number",))[:] = mz
        ds.createVariable("intensity_values", "f4", ("point_number",))[:] = inten
    return {"times": times, "counts": counts, "mz": mz, "intensity": inten}


def write_mzml_run(path: Path, n_scans: int = 40, msn_every: int = 0) -> None:
    """An mzML file of `n_scans` MS1 scans (and an MS2 spectrum after every `msn_every` scans)."""
    total = n_scans + (n_scans // msn_every if msn_every else 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # psims warns about an optional hdf5 plugin and unset references
        from psims.mzml.writer import MzMLWriter

        with MzMLWriter(str(path)) as out:
            out.controlled_vocabularies()
            with out.run(id="run1"):
                with out.spectrum_list(count=total):
                    k = 0
                    for i in range(n_scans):
                        k += 1
                        mz = np.array([41.02, 57.07, 91.05 + 0.01 * i])
                        out.write_spectrum(mz, np.array([100.0, 200.0 + i, 50.0]), id=f"scan={k}",
                                           params=["MS1 spectrum", {"ms level": 1}], scan_start_time=1.0 + 0.01 * i)
                        if msn_every and (i + 1) % msn_every == 0:
                            k += 1
                            out.write_spectrum(np.array([50.0, 60.0]), np.array([1.0, 2.0]), id=f"scan={k}",
                                               params=["MSn spectrum", {"ms level": 2}],
                                               precursor_information={"mz": 91.05, "scan_id": f"scan={k - 1}"})
