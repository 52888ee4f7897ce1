"""ANDI/netCDF MS runs: read back what was written, and truncated or foreign files refused by name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from run_helpers import write_andi
from nps_id.errors import RunFormatError
from nps_id.runs import is_run, read_run


def test_read_back(tmp_path: Path) -> None:
    path = tmp_path / "run.cdf"
    w = write_andi(path)
    assert is_run(path)
    run = read_run(path)
    assert run.n_scans == w["counts"].size
    np.testing.assert_allclose(run.rt, w["times"] / 60.0)
    assert run.mz.min() >= 40 and run.mz.max() <= 120 and np.all(run.mz == np.round(run.mz))
    # every point lands in its nominal-mass bin: the TIC is the sum of each scan's points
    starts = np.concatenate([[0], np.cumsum(w["counts"])[:-1]])
    np.testing.assert_allclose(run.tic, np.add.reduceat(w["intensity"].astype(np.float64), starts), rtol=1e-5)
    assert run.metadata["title"] == "synthetic test run" and run.metadata["instrument"] == "test GC-MS"


def test_minutes_and_bin_width(tmp_path: Path) -> None:
    path = tmp_path / "run.cdf"
    w = write_andi(path, minutes=True)
    np.testing.assert_allclose(read_run(path).rt, w["times"] / 60.0)
    fine = read_run(path, bin_width=0.1)
    assert np.allclose(fine.mz * 10, np.round(fine.mz * 10))
    assert fine.n_mz > read_run(path).n_mz


@pytest.mark.parametrize("cut", [1, 10, 1000, 0.5])
def test_truncated(tmp_path: Path, cut) -> None:
    path = tmp_path / "run.cdf"
    write_andi(path)
    data = path.read_bytes()
    keep = int(len(data) * cut) if isinstance(cut, float) else len(data) - cut
    path.write_bytes(data[:keep])
    with pytest.raises(RunFormatError, match="truncated") as err:
        read_run(path)
    assert str(path) in str(err.value)


def test_not_netcdf_or_not_andi(tmp_path: Path) -> None:
    import netCDF4

    junk = tmp_path / "junk.cdf"
    junk.write_bytes(b"this is not netCDF" * 50)
    with pytest.raises(RunFormatError, match="not a readable netCDF file"):
        read_run(junk)
    other = tmp_path / "other.cdf"
    with netCDF4.Dataset(other, "w", format="NETCDF3_CLASSIC") as ds:
        ds.createDimension("n", 3)
        ds.createVariable("ordinate_values", "f4", ("n",))[:] = [1, 2, 3]
    with pytest.raises(RunFormatError, match="'scan_acquisition_time' is missing"):
        read_run(other)


def test_inconsistent_scan_table(tmp_path: Path) -> None:
    import netCDF4

    path = tmp_path / "run.cdf"
    write_andi(path)
    with netCDF4.Dataset(path, "a") as ds:
        ds.variables["point_count"][5] = 10_000
    with pytest.raises(RunFormatError, match="scan 6 of 120 needs points"):
        read_run(path)
