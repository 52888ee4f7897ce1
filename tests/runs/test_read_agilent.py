"""The real Agilent run read end to end, and damaged copies of it refused with an error naming the file."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from nps_id.errors import NpsIdError, RunFormatError
from nps_id.runs import find_runs, is_run, read_run


def test_real_run(yellow_run, yellow_path: Path) -> None:
    run = yellow_run
    assert run.n_scans == 1307
    assert run.mz.min() >= 100 and run.mz.max() <= 300
    assert run.n_mz >= 190
    assert np.all(np.diff(run.rt) > 0) and 0 < run.rt[0] < 0.2 and 8.0 < run.rt[-1] < 8.6
    assert run.scan_interval == pytest.approx(0.00643, abs=2e-4)
    assert run.tic.max() > 5e5
    assert run.source == str(yellow_path)
    assert run.metadata["vendor"] == "Agilent" and run.metadata["data_file"] == "data.ms"
    assert run.metadata["ionization"] == "EI"
    assert "dataSim.ms" in run.metadata["other_detectors"]


def test_is_run_and_find_runs(yellow_path: Path, tmp_path: Path) -> None:
    assert is_run(yellow_path)
    assert not is_run(yellow_path / "data.ms")
    assert not is_run(yellow_path.parent)  # a folder of runs is not a run
    assert find_runs(yellow_path) == [yellow_path]
    assert find_runs(yellow_path.parent) == [yellow_path]
    (tmp_path / "spectra.msp").write_text("NAME: x\nNum Peaks: 1\n41 100\n")
    assert not is_run(tmp_path / "spectra.msp")
    assert find_runs(tmp_path) == []
    with pytest.raises(FileNotFoundError):
        find_runs(tmp_path / "missing")


def _truncate(n: int):
    def damage(path: Path) -> None:
        path.write_bytes(path.read_bytes()[:n])

    return damage


def _overwrite(offset: int, data: bytes):
    def damage(path: Path) -> None:
        b = bytearray(path.read_bytes())
        b[offset : offset + len(data)] = data
        path.write_bytes(bytes(b))

    return damage


@pytest.mark.parametrize(
    "damage, match",
    [
        (_truncate(0), "truncated"),
        (_truncate(200), "truncated"),
        (_truncate(10_000), r"truncated: scan 7 of 1307 is cut"),
        (_truncate(400_000), r"truncated: scan \d+ of 1307 is cut"),
        (_truncate(846_000), "scan index after the 1307 scans is cut"),
        (_overwrite(5768, b"\xff\xff\x00\x00"), r"damaged scan 1 of 1307"),  # a record's length word
        (_overwrite(0, b"\x00" * 300), "rainbow-api cannot read"),  # the header
        (lambda p: p.unlink(), "no full-scan MS data"),
    ],
    ids=["empty", "header-cut", "scan-7-cut", "half", "index-cut", "bad-record", "zeroed-header", "missing"],
)
def test_damaged_run_named_error(damaged_copy, damage, match) -> None:
    run_dir = damaged_copy(damage)
    with pytest.raises(RunFormatError, match=match) as err:
        read_run(run_dir)
    assert str(run_dir) in str(err.value)  # names the run (or its data.ms)
    assert isinstance(err.value, NpsIdError) and isinstance(err.value, ValueError)


def test_record_walk_matches_rainbow(yellow_path: Path) -> None:
    from nps_id.runs.io.agilent import check_ms_file

    assert check_ms_file(yellow_path / "data.ms") == 1307
    data = (yellow_path / "data.ms").read_bytes()
    assert struct.unpack_from(">I", data, 0)[0] == 0x01320000


def test_missing_and_unknown(tmp_path: Path) -> None:
    from nps_id.errors import UnknownFormatError

    with pytest.raises(FileNotFoundError):
        read_run(tmp_path / "absent.D")
    (tmp_path / "x.txt").write_text("1,2\n")
    with pytest.raises(UnknownFormatError, match="cannot tell the run format"):
        read_run(tmp_path / "x.txt")
    with pytest.raises(UnknownFormatError, match="unknown run format"):
        read_run(tmp_path / "x.txt", format="thermo")
    (tmp_path / "file.D").write_text("not a folder")
    with pytest.raises(RunFormatError, match="not a file"):
        read_run(tmp_path / "file.D", format="agilent")
