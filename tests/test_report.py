"""The HTML report: self-contained, escaped, and rendered by a real headless browser (Chromium)."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import nps_id
from nps_id.spectra import Spectrum

pytestmark = pytest.mark.realdata

EVIL = '<script>alert("x")</script> & <b>bold</b>'


def _chromium() -> str:
    """The Chromium binary; the test fails (it is part of CI) when there is none."""
    for name in (os.environ.get("NPS_ID_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    pytest.fail(
        "Chromium is needed for the report's browser test and was not found: install it "
        "(Debian/Ubuntu: `apt-get install -y chromium`; .ci/run does this) or set NPS_ID_CHROMIUM to its path"
    )


def _dump_dom(path: Path, profile: Path) -> str:
    cmd = [
        _chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--dump-dom", path.resolve().as_uri(),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"chromium failed ({out.returncode}): {out.stderr[-2000:]}"
    return out.stdout


@pytest.fixture(scope="module")
def report_table(swgdrug_spectra, tmp_path_factory, identity_only):
    from nps_id.chem.labels import label_library
    from nps_id.spectra import SpectralLibrary
    from nps_id.spectra.io import save_spectra

    keep = [s for i, s in enumerate(swgdrug_spectra) if i % 10 == 0 or s.name in ("Fentanyl", "Ketamine")]
    lib = SpectralLibrary.from_spectra(keep)
    label_library(lib, save=False)
    folder = tmp_path_factory.mktemp("report")
    lib.save(folder / "lib.h5")
    fent = next(s for s in swgdrug_spectra if s.name == "Fentanyl")
    ket = next(s for s in swgdrug_spectra if s.name == "Ketamine")
    evil = Spectrum(ket.x, ket.intensity, metadata={"name": EVIL})
    save_spectra([fent, evil], folder / "case <1>.msp")
    (folder / "broken.msp").write_text("NAME: broken & bad\nNum Peaks: 0\n\n")
    table = nps_id.classify([folder / "case <1>.msp", folder / "broken.msp"], library=folder / "lib.h5",
                            model=identity_only, progress=False)
    return table, folder


def test_report_in_headless_chromium(report_table, tmp_path):
    table, folder = report_table
    out = tmp_path / "report.html"
    table.to_html(out)
    dom = _dump_dom(out, tmp_path / "profile")

    rows = re.findall(r'<tr class="result-row[^"]*" id="row-(\d+)" data-status="(\w+)"', dom)
    assert [int(i) for i, _ in rows] == list(range(len(table)))
    assert [s for _, s in rows] == [r["status"] for r in table] == ["ok", "ok", "skipped"]
    # each expected row is in the rendered DOM, with its hit and verdict
    for i, row in enumerate(table):
        m = re.search(rf'<tr class="result-row[^"]*" id="row-{i}".*?</tr>', dom, re.S)
        assert m, f"row {i} missing from the DOM"
        text = m.group(0)
        if row["status"] == "ok":
            assert html.escape(row["top_hit_name"]) in text and "identified" in text
        else:
            assert "empty spectrum" in text
    assert 'id="count-queries">2<' in dom and 'id="count-skipped">1<' in dom
    # names from files are text, never markup: no injected script or bold element
    assert "&lt;script&gt;alert" in dom and "<script" not in dom and "<b>bold</b>" not in dom
    assert "case &lt;1&gt;.msp" in dom
    # per query: an embedded mirror plot and the structure of the hit (RDKit SVG)
    assert dom.count('src="data:image/png;base64,') == 2
    assert dom.count('src="data:image/svg+xml;base64,') == 2
    assert 'id="q-0"' in dom and 'id="q-1"' in dom and 'id="q-2"' not in dom


def test_report_is_self_contained(report_table, tmp_path):
    table, _ = report_table
    out = tmp_path / "r.html"
    table.to_html(out, title="Case <2024/117>")
    text = out.read_text(encoding="utf-8")
    assert "<title>Case &lt;2024/117&gt;</title>" in text
    # nothing fetched from elsewhere: every src/href is a data: URI or an in-page anchor
    for ref in re.findall(r'(?:src|href)="([^"]*)"', text):
        assert ref.startswith(("data:", "#")), ref
    assert "<script" not in text.lower()


def test_mirror_plot_and_structure_helpers():
    import numpy as np

    from nps_id.report import mirror_plot, structure_svg

    ax = mirror_plot((np.array([41.0, 57.0]), np.array([10.0, 100.0])), (np.array([57.0]), np.array([5.0])))
    assert ax.get_ylim()[0] < 0
    assert structure_svg("c1ccccc1CCN").startswith("<?xml")
    assert structure_svg("not a smiles") is None and structure_svg("") is None
