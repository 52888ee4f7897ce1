"""mzML runs: MS1 scans read as a run, MSn counted, a few spectra are not a run, damaged files named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from run_helpers import write_mzml_run
from nps_id.errors import RunFormatError
from nps_id.runs import find_runs, is_run, read_run


def test_read_ms1_scans(tmp_path: Path) -> None:
    path = tmp_path / "run.mzML"
    write_mzml_run(path, n_scans=40, msn_every=10)
    assert is_run(path)
    run = read_run(path)
    assert run.n_scans == 40 and run.metadata["n_msn_spectra"] == 4
    np.testing.assert_allclose(run.rt, 1.0 + 0.01 * np.arange(40))
    np.testing.assert_array_equal(run.mz, [41, 57, 91])
    np.testing.assert_allclose(run.intensity[:, 1], 200.0 + np.arange(40))
    assert find_runs(tmp_path) == [path]


def test_few_spectra_are_not_a_run(tmp_path: Path) -> None:
    path = tmp_path / "few.mzML"
    write_mzml_run(path, n_scans=5)
    assert not is_run(path)
    assert read_run(path).n_scans == 5  # read_run still reads it when asked


def test_damaged(tmp_path: Path) -> None:
    path = tmp_path / "run.mzML"
    write_mzml_run(path, n_scans=30)
    text = path.read_text()
    first = text.index("<binary>") + len("<binary>")
    path.write_text(text[:first] + "!!notbase64!!" + text[first + 10 :])
    with pytest.raises(RunFormatError) as err:
        read_run(path)
    assert str(path) in str(err.value)
    run = read_run(path, on_error="skip")
    assert run.n_scans == 29 and run.metadata["n_skipped_scans"] == 1

    cut = tmp_path / "cut.mzML"
    cut.write_text(text[: len(text) // 3])
    with pytest.raises(RunFormatError, match="truncated") as err:
        read_run(cut)
    assert str(cut) in str(err.value)
    partial = read_run(cut, on_error="warn")
    assert 0 < partial.n_scans < 30 and partial.metadata["truncated"]
    assert not is_run(tmp_path / "absent.mzML")
