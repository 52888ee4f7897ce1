"""count_records: the record count a progress bar shows, from the file's own markers."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from nps_id.spectra.io import load_spectra
from nps_id.spectra.io.count import count_records


@pytest.mark.realdata
def test_counts_equal_what_the_readers_read_on_real_files(swgdrug_path: Path):
    n = count_records(swgdrug_path)
    assert n == len(load_spectra(swgdrug_path, on_error="skip")) == 2702


def test_counts_across_block_boundaries_and_crlf(tmp_path, monkeypatch):
    import nps_id.spectra.io.count as count

    monkeypatch.setattr(count, "_CHUNK", 7)  # every marker split across blocks
    text = "".join(f"BEGIN IONS\r\nTITLE=s{i}\r\n41 1\r\nEND IONS\r\n" for i in range(25))
    (tmp_path / "a.mgf").write_text(text, newline="")
    (tmp_path / "a.mgf.gz").write_bytes(gzip.compress(text.encode()))
    assert count_records(tmp_path / "a.mgf") == count_records(tmp_path / "a.mgf.gz") == 25


def test_unknown_or_unreadable_files_have_no_count(tmp_path):
    (tmp_path / "x.xyz").write_text("?")
    (tmp_path / "cut.msp.gz").write_bytes(gzip.compress(b"Num Peaks: 1\n" * 1000)[:40])
    assert count_records(tmp_path / "x.xyz") is None and count_records(tmp_path / "missing.msp") is None
    assert count_records(tmp_path / "cut.msp.gz") is None
    (tmp_path / "one.csv").write_text("41,1\n")
    assert count_records(tmp_path / "one.csv") == 1
