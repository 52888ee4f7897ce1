"""A case folder of 1,000 real spectra with 5 % damaged records (issue 16): every good record has its row, every
bad one a row with its reason, and the totals add up."""

from __future__ import annotations

import gzip
import io
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from nps_id.spectra.io.mgf import write_mgf
from nps_id.spectra.io.msp import write_msp

pytestmark = pytest.mark.realdata

#: ways to damage one record (the text of one bad record, for MSP and for MGF)
DAMAGE = {
    "m/z 1e300": ("Num Peaks: 2\n41 10\n1e300 20", "41 10\n1e300 20"),
    "negative m/z": ("Num Peaks: 2\n-41 10\n57 20", "-41 10\n57 20"),
    "NaN intensity": ("Num Peaks: 2\n41 nan\n57 20", "41 nan\n57 20"),
    "text for a peak": ("Num Peaks: 2\n41 ten\n57 20", "41 ten\n57 20"),
    "absurd Num Peaks": ("Num Peaks: 99999999999999999999\n41 10\n57 20", None),
    "NUL in the name": ("Num Peaks: 2\n41 10\n57 20", "41 10\n57 20"),
    "no peaks": ("Num Peaks: 0", ""),
}


def _bad(fmt: str, kind: str, i: int) -> str:
    msp, mgf = DAMAGE[kind]
    name = f"bad {i}" + ("\x00" if kind == "NUL in the name" else "")
    if fmt == "msp":
        return f"Name: {name}\n{msp}\n\n"
    return f"BEGIN IONS\nTITLE={name}\n{mgf}\nEND IONS\n\n"


def _text(fmt: str, spectra) -> str:
    buf = io.StringIO()
    (write_msp if fmt == "msp" else write_mgf)(spectra, buf)
    return buf.getvalue()


def test_a_folder_with_five_percent_damaged_records(tmp_path: Path, swgdrug_spectra):
    from nps_id.classify import classify
    from nps_id.spectra import Spectrum
    from nps_id.spectra.library import SpectralLibrary

    lib_path = tmp_path / "lib.h5"
    SpectralLibrary.from_spectra(swgdrug_spectra[950:]).save(lib_path)  # the other records of the real file

    rng = np.random.default_rng(16)
    good = [Spectrum(s.mz, s.intensity, metadata={"name": f"good {i}"})
            for i, s in enumerate(swgdrug_spectra[:950])]
    case = tmp_path / "case"
    case.mkdir()
    expected_bad: Counter = Counter()
    kinds = list(DAMAGE)
    n_bad = 0
    for f in range(10):  # 10 files of 95 good + 5 bad records, MSP and MGF, some gzipped, in sub-folders
        fmt = "msp" if f % 2 else "mgf"
        chunk = good[f * 95:(f + 1) * 95]
        parts = [_text(fmt, [s]) for s in chunk]
        for _ in range(5):
            kind = kinds[n_bad % len(kinds)]
            if fmt == "mgf" and DAMAGE[kind][1] is None:
                kind = "m/z 1e300"
            parts.insert(int(rng.integers(0, len(parts) + 1)), _bad(fmt, kind, n_bad))
            expected_bad[kind] += 1
            n_bad += 1
        text = "".join(parts)
        folder = case / f"batch{f // 4}"
        folder.mkdir(exist_ok=True)
        if f % 3 == 0:
            (folder / f"file{f}.{fmt}.gz").write_bytes(gzip.compress(text.encode("utf-8")))
        else:
            (folder / f"file{f}.{fmt}").write_text(text, encoding="utf-8")
    table = classify(case, library=lib_path, model=False, progress=False)
    rows = table.to_records()
    ok = [r for r in rows if r["status"] == "ok"]
    skipped = [r for r in rows if r["status"] == "skipped"]
    assert len(rows) == 1000 and len(ok) == 950 and len(skipped) == 50
    assert sorted(r["query_id"] for r in ok) == sorted(s.name for s in good)  # every good record, once
    assert all(r["error"] and r["source_file"] for r in skipped)  # every bad one: where and why
    assert all(r["top_hit_name"] for r in ok)
    summary = table.summary()
    assert summary["rows"] == 1000 and summary["queries"] == 950 and summary["skipped"] == 50, summary
    assert sum(summary["skip_reasons"].values()) == 50 and len(summary["skip_reasons"]) >= 5, summary  # own reasons
