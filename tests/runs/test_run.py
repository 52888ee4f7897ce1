"""The Run type: validation, read-only arrays, TIC, XIC, slicing, one scan as a Spectrum."""

from __future__ import annotations

import numpy as np
import pytest

from nps_id.errors import InvalidRunError, NpsIdError
from nps_id.runs import Run


def _run() -> Run:
    return Run([0.5, 0.6, 0.7, 0.8], [41.0, 43.0, 57.0], [[0, 1, 0], [5, 9, 2], [1, 2, 0], [0, 0, 3]],
               source="x.D", metadata={"ionization": "EI"})


def test_arrays_are_typed_and_read_only() -> None:
    run = _run()
    assert run.rt.dtype == np.float64 and run.mz.dtype == np.float64 and run.intensity.dtype == np.float32
    assert (run.n_scans, run.n_mz, len(run)) == (4, 3, 4)
    for a in (run.rt, run.mz, run.intensity, run.tic):
        with pytest.raises(ValueError):
            a[0] = 1
    np.testing.assert_allclose(run.tic, [1, 16, 3, 3])
    assert run.scan_interval == pytest.approx(0.1)


def test_xic_slice_scan() -> None:
    run = _run()
    np.testing.assert_allclose(run.xic(43), [1, 9, 2, 0])
    np.testing.assert_allclose(run.xic(42, tolerance=1.0), [1, 14, 3, 0])
    part = run.slice(0.55, 0.75)
    assert part.n_scans == 2 and part.rt[0] == pytest.approx(0.6) and part.source == "x.D"
    assert run.scan_index(0.64) == 1 and run.scan_index(0.0) == 0 and run.scan_index(9.0) == 3
    s = run.scan(1)
    assert s.kind == "ms" and s.precursor_mz is None
    np.testing.assert_allclose(s.mz, [41, 43, 57])
    assert s.metadata["retention_time"] == pytest.approx(36.0)
    assert run.scan(0).n_peaks == 1  # zeros are not peaks
    assert "n_scans=4" in repr(run)


@pytest.mark.parametrize(
    "rt, mz, data, match",
    [
        ([0.1, 0.1], [40.0], [[1], [2]], "strictly increasing"),
        ([0.1, 0.2], [41.0, 40.0], [[1, 1], [2, 2]], "m/z axis"),
        ([0.1, 0.2], [40.0], [[1, 2]], "shape"),
        ([0.1, 0.2], [40.0], [[1], [-2]], ">= 0"),
        ([0.1, np.nan], [40.0], [[1], [2]], "NaN"),
        ([0.1, 0.2], [40.0], [[1], [np.inf]], "NaN or infinite"),
        ([0.1, 0.2], [40.0], [["a"], [1]], "not numeric"),
    ],
)
def test_invalid(rt, mz, data, match) -> None:
    with pytest.raises(InvalidRunError, match=match) as err:
        Run(rt, mz, data)
    assert isinstance(err.value, NpsIdError) and isinstance(err.value, ValueError)
